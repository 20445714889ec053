"""CRM drivers for scenario tests: act as a user in the embedded CRM or in vtiger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from calsync.crm import LocalBackend
from calsync.model import Event, Task
from calsync.sides.base import Remote
from calsync.sides.local.crm import LocalCrm


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
