"""CRM drivers for scenario tests: act as a user in the embedded CRM or in vtiger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from calsync.model import Event, Task
from calsync.sides.base import Remote, Side
from calsync.sides.crm import LocalBackend, VtigerBackend
from calsync.sides.local.crm import LocalCrm
from calsync.sides.vtiger.side import VtigerEventsSide, VtigerTasksSide


class LocalDriver:
    """The embedded CRM calendar, driven directly as its own UI would."""

    def __init__(self, data_dir: Path) -> None:
        self.crm = LocalCrm(f"sqlite:///{data_dir / 'crm.db'}")
        self.backend = LocalBackend(self.crm)

    def add_user(self, name: str, time_zone: str) -> None:
        self.crm.create_user(name, password=name, time_zone=time_zone, email=f"{name}@example.com")

    def add_event(self, user: str, event: Event) -> str:
        return self.crm.add_event(user, event).id

    def edit_event(self, user: str, id: str, **changes: Any) -> None:
        self.crm.edit_event(user, id, **changes)

    def delete_event(self, user: str, id: str) -> None:
        self.crm.delete_event(user, id)

    def events(self, user: str) -> list[Remote[Event]]:
        return self.crm.list_events(user)

    def add_task(self, user: str, task: Task) -> str:
        return self.crm.add_task(user, task).id

    def tasks(self, user: str) -> list[Remote[Task]]:
        return self.crm.list_tasks(user)


class VtigerDriver:
    """A vtiger emulator, driven through its webservice with an admin access key.

    With `admin=False` calsync is configured with the first user's own (non-admin) key
    instead, as an installation that was given no admin key is.
    """

    def __init__(self, url: str, admin: bool = True, db_url: str | None = None) -> None:
        self.url = url
        self.ids: dict[str, str] = {}
        self._admin = admin
        if admin:
            made = self._control("users", {"user_name": "admin", "is_admin": True})
            self.backend = VtigerBackend(url, "admin", made["access_key"], db_url)

    def _control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/_emulator/{path}", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def _events(self, user: str) -> Side[Event]:
        # Without the backend's shared feed: the driver must see vtiger as it is right now.
        info = self.backend.user(user)
        assert info is not None
        return VtigerEventsSide(self.backend.client, info.crm_id, info.time_zone)

    def add_user(self, name: str, time_zone: str) -> None:
        made = self._control("users", {"user_name": name, "time_zone": time_zone})
        self.ids[name] = made["id"]
        if not self._admin and not hasattr(self, "backend"):
            self.backend = VtigerBackend(self.url, name, made["access_key"])

    # -- vtiger's own UI (outside calsync's mapping) ------------------------------------

    def plant(self, user: str, fields: dict[str, Any], module: str = "Events") -> str:
        """Store a record as vtiger's UI saves it (reminder_time in minutes); return its id."""
        body = {"module": module, "owner": user, "fields": fields}
        return str(self._control("records", body)["id"])

    def series(self, user: str, fields: dict[str, Any], rule_type: str, count: int) -> list[str]:
        """Save a series as vtiger's UI does; return its occurrences' ids in date order."""
        body = {"owner": user, "fields": fields, "rule": {"type": rule_type, "count": count}}
        return [str(i) for i in self._control("series", body)["ids"]]

    def record(self, id: str) -> dict[str, Any]:
        """Return the record `id` as the webservice shows it."""
        return self.backend.client.retrieve(id)

    def ui_edit(self, id: str, **fields: Any) -> None:
        """Change fields as vtiger's edit form does: the record keeps its reminder."""
        minutes = int(self.record(id).get("reminder_time") or 0)
        self.backend.client.revise({"id": id, "reminder_time": minutes * 60, **fields})

    def move(self, id: str, module: str) -> str:
        """Turn an event into a to-do or back (an inline edit in vtiger's UI); return the new id."""
        return str(self._control(f"records/{id}/module", {"module": module})["id"])

    def add_event(self, user: str, event: Event) -> str:
        return self._events(user).create(event, "").id

    def edit_event(self, user: str, id: str, **changes: Any) -> None:
        side = self._events(user)
        current = side.get(id)
        assert current is not None
        side.update(id, current.item.with_(**changes), current.etag)

    def delete_event(self, user: str, id: str) -> None:
        self._events(user).delete(id, None)

    def events(self, user: str) -> list[Remote[Event]]:
        return self._events(user).changes(None).items

    def add_task(self, user: str, task: Task) -> str:
        info = self.backend.user(user)
        assert info is not None
        return VtigerTasksSide(self.backend.client, info.crm_id, info.time_zone).create(task, "").id

    def tasks(self, user: str) -> list[Remote[Task]]:
        info = self.backend.user(user)
        assert info is not None
        return VtigerTasksSide(self.backend.client, info.crm_id, info.time_zone).changes(None).items
