"""A whole calsync installation for scenario tests: the Google emulator over real HTTP, a CRM,
the state store and the sync service, with helpers to act as the user on either side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from calsync.engine.pairs import Kind
from calsync.model import Event, Task, utcnow
from calsync.prefs import Prefs
from calsync.quota import Backoff
from calsync.service import SyncService, UserReport
from calsync.sides.base import Remote
from calsync.sides.crm import CrmBackend, CrmUserInfo
from calsync.sides.google.factory import GoogleSettings
from calsync.state.store import Store

CLIENT_ID = "scenario-client"
CLIENT_SECRET = "scenario-secret"


class CrmDriver(Protocol):
    """Acts as a CRM user in the CRM's own UI (outside calsync)."""

    @property
    def backend(self) -> CrmBackend:
        """The CRM backend calsync uses for this CRM."""
        ...

    def add_user(self, name: str, time_zone: str) -> None: ...
    def add_event(self, user: str, event: Event) -> str: ...
    def edit_event(self, user: str, id: str, **changes: Any) -> None: ...
    def delete_event(self, user: str, id: str) -> None: ...
    def events(self, user: str) -> list[Remote[Event]]: ...
    def add_task(self, user: str, task: Task) -> str: ...
    def tasks(self, user: str) -> list[Remote[Task]]: ...


@dataclass
class GoogleUser:
    """Acts as the user in Google Calendar's UI, through the emulator's API."""

    base: str
    email: str
    access_token: str
    refresh_token: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def _events(self, cal: str) -> str:
        return f"{self.base}/calendar/v3/calendars/{cal}/events"

    def insert(self, body: dict[str, Any], cal: str = "primary") -> dict[str, Any]:
        r = self.http.post(self._events(cal), json=body, headers=self._h())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def patch(self, id: str, body: dict[str, Any], cal: str = "primary") -> dict[str, Any]:
        r = self.http.patch(f"{self._events(cal)}/{id}", json=body, headers=self._h())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def delete(self, id: str, cal: str = "primary") -> None:
        r = self.http.delete(f"{self._events(cal)}/{id}", headers=self._h())
        assert r.status_code == 204, r.text

    def get(self, id: str, cal: str = "primary") -> dict[str, Any]:
        r = self.http.get(f"{self._events(cal)}/{id}", headers=self._h())
        assert r.status_code == 200, r.text
        return dict(r.json())

    def events(self, cal: str = "primary") -> list[dict[str, Any]]:
        """Return the live events of `cal` (all pages)."""
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"maxResults": "2500"}
        while True:
            r = self.http.get(self._events(cal), params=params, headers=self._h())
            assert r.status_code == 200, r.text
            doc = r.json()
            items += doc.get("items", [])
            if not doc.get("nextPageToken"):
                return [e for e in items if e.get("status") != "cancelled"]
            params["pageToken"] = doc["nextPageToken"]

    def tasks(self, tasklist: str = "@default") -> list[dict[str, Any]]:
        r = self.http.get(
            f"{self.base}/tasks/v1/lists/{tasklist}/tasks",
            params={"maxResults": "100"},
            headers=self._h(),
        )
        assert r.status_code == 200, r.text
        return list(r.json().get("items", []))


@dataclass
class World:
    """One CRM user `alice` linked to the Google account alice@example.com."""

    google_url: str
    crm: CrmDriver
    store: Store
    service: SyncService
    g: GoogleUser
    user: str = "alice"
    now: datetime | None = None

    # -- the emulator's control API -----------------------------------------------------

    def control(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.google_url}/_emulator/{path}", timeout=30, **kw)
        assert r.status_code < 300, r.text
        return r.json()

    def fault(self, **spec: Any) -> None:
        self.control("POST", "faults", json=spec)

    def clear_log(self) -> None:
        self.control("DELETE", "requests")
        self.control("DELETE", "stats")

    def requests(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "requests")["requests"])

    def google_writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    # -- calsync ------------------------------------------------------------------------

    def sync(self, **kw: Any) -> UserReport:
        return self.service.sync_user(self.user, **kw)

    def prefs(self, **changes: Any) -> Prefs:
        prefs = self.store.get_prefs(self.user).with_(**changes)
        self.store.set_prefs(self.user, prefs)
        return prefs

    def pairs(self, kind: Kind = Kind.EVENT) -> list[Any]:
        return self.store.pairs(self.user, kind)

    def crm_events(self) -> dict[str, Event]:
        """Return the user's CRM events by title."""
        return {r.item.title: r.item for r in self.crm.events(self.user)}

    def google_events(self) -> dict[str, dict[str, Any]]:
        """Return the user's live Google events by summary."""
        return {e.get("summary", ""): e for e in self.g.events()}


def make_world(
    google_url: str,
    crm: CrmDriver,
    data_dir: Path,
    time_zone: str = "Europe/Rome",
    now: datetime | None = None,
    store_url: str | None = None,
    batch_size: int = 50,
) -> World:
    """Return a world with alice in `time_zone`, linked to a fresh Google account.

    The state store is a SQLite file in `data_dir` unless `store_url` names another database.
    """
    acc = httpx.post(f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    crm.add_user("alice", time_zone)
    store = Store.open(store_url or f"sqlite:///{data_dir / 'state.db'}", data_dir)
    store.migrate()
    google = GoogleSettings(
        CLIENT_ID,
        CLIENT_SECRET,
        api_url=google_url,
        token_url=f"{google_url}/token",
        batch_size=batch_size,
    )
    # Short backoff windows keep fault scenarios quick; the policy itself is the real one.
    service = SyncService(
        store,
        crm.backend,
        google,
        backoff=Backoff(base=0.05, cap=0.2),
        now=lambda: world.now or utcnow(),
    )
    info: CrmUserInfo | None = crm.backend.user("alice")
    assert info is not None
    service.known_user("alice")
    store.set_link("alice", acc["email"], acc["refresh_token"])
    g = GoogleUser(google_url, acc["email"], acc["access_token"], acc["refresh_token"])
    world = World(google_url, crm, store, service, g, now=now)
    return world


def titles(items: Iterator[Any] | list[Any]) -> set[str]:
    return {getattr(i, "title", None) or i.get("summary", "") for i in items}
