"""A running vtiger emulator for tests and demos, with helpers for its control API.

with VtigerEmulator() as vt:
    alice = vt.add_user("alice", time_zone="Europe/Rome")
    client = vt.client(alice)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.app import create_app


def event_element(owner: str, **overrides: Any) -> dict[str, Any]:
    """Return a valid Events `element` (UTC times, 2026-03-10 09:00-10:00) owned by `owner`."""
    fields = {
        "subject": "Planning",
        "assigned_user_id": owner,
        "date_start": "2026-03-10",
        "time_start": "09:00:00",
        "due_date": "2026-03-10",
        "time_end": "10:00:00",
        "duration_hours": "1",
        "eventstatus": "Planned",
        "activitytype": "Meeting",
        "visibility": "Public",
    }
    fields.update(overrides)
    return fields


@dataclass(frozen=True, slots=True)
class EmulatedUser:
    user_name: str
    id: str
    """Users ws id, e.g. `19x3`."""
    access_key: str
    time_zone: str


class VtigerEmulator:
    """The emulator served on a loopback port (`url`), started and stopped as a context."""

    def __init__(self, db: str | None = None, *, php7: bool = False, utf8mb4: bool = False) -> None:
        self.app = create_app(db, php7=php7, utf8mb4=utf8mb4)
        self.server = ServerThread(self.app)
        self.http = httpx.Client(timeout=30.0)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def endpoint(self) -> str:
        return self.server.url + "/webservice.php"

    def start(self) -> VtigerEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.stop()

    def __enter__(self) -> VtigerEmulator:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST `body` to `/_emulator/<path>` and return the JSON answer."""
        resp = self.http.post(f"{self.url}/_emulator/{path}", json=body or {})
        resp.raise_for_status()
        return resp.json()

    def add_user(
        self, user_name: str, *, is_admin: bool = False, time_zone: str = "UTC", **extra: Any
    ) -> EmulatedUser:
        """Create a vtiger user and return its ws id and access key."""
        body = {"user_name": user_name, "is_admin": is_admin, "time_zone": time_zone, **extra}
        got = self.control("users", body)
        return EmulatedUser(got["user_name"], got["id"], got["access_key"], time_zone)

    def advance(self, seconds: float) -> int:
        """Move the emulator's clock forward; return its new epoch."""
        return int(self.control("clock", {"advance": seconds})["now"])

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        operation: str | None = None,
        mode: str = "fail",
    ) -> None:
        """Make the next `count` webservice calls (of `operation`) answer HTTP `status`
        (after running them, with `mode="apply_then_fail"`)."""
        body = {"status": status, "count": count, "operation": operation, "mode": mode}
        self.control("faults", body)

    def set_mandatory(self, module: str, field: str, mandatory: bool = True) -> None:
        self.control("mandatory", {"module": module, "field": field, "mandatory": mandatory})

    def set_php8(self, on: bool) -> None:
        self.control("config", {"php8": on})

    def set_utf8mb4(self, on: bool) -> None:
        self.control("config", {"utf8mb4": on})

    def move_record(
        self, ws_id: str, module: str, fields: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Move a record to another module, as an inline edit in vtiger's UI can."""
        body = {"module": module, "fields": fields or {}}
        return dict(self.control(f"records/{ws_id}/module", body))

    def raw_record(self, module: str, owner: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a record as is, bypassing every check (to plant bad data)."""
        body = {"module": module, "owner": owner, "fields": fields}
        return dict(self.control("records", body))

    def series(
        self, owner: str, fields: dict[str, Any], rule_type: str, count: int, interval: int = 1
    ) -> list[str]:
        """Store a series as vtiger's UI saves one; return the occurrences' ids in date order."""
        body = {
            "owner": owner,
            "fields": fields,
            "rule": {"type": rule_type, "interval": interval, "count": count},
        }
        return [str(i) for i in self.control("series", body)["ids"]]

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.url}/_emulator/stats").json())

    def client(self, user: EmulatedUser, **kwargs: Any) -> Any:
        """Return a VtigerClient logged in as `user` (imported lazily: sides depend on us)."""
        from calsync.sides.vtiger.client import VtigerClient

        kwargs.setdefault("sleep", lambda _s: None)
        return VtigerClient(self.url, user.user_name, user.access_key, **kwargs)
