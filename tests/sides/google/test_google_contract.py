"""The Google sides against the shared Side contract, over the emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from calsync.model import Event, Item, Task, TaskStatus, When
from calsync.sides.base import Remote, Side
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.tasks import GoogleTasksSide
from tests.sides.contract import SideContract
from tests.sides.google.emulated import Google

WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


class _GoogleContract(SideContract):
    google: Google


class TestGoogleCalendarContract(_GoogleContract):
    stores_key = True
    deterministic_ids = True
    batch_reads = True
    window_listing = True
    holds_series = True

    @pytest.fixture
    def side(self, google: Google) -> GoogleCalendarSide:
        self.google = google
        return google.calendar(time_min=WINDOW[0], time_max=WINDOW[1])

    def make(self, n: int) -> Event:
        if n % 2:
            start = datetime(2026, 4, n, 9, 30)
            return Event(f"Event {n}", When.timed(start, start + timedelta(hours=1), "Europe/Rome"))
        return Event(f"Day {n}", When.dates(date(2026, 4, n), date(2026, 4, n + 1)))

    def outside_window(self) -> Item:
        start = datetime(2025, 1, 10, 9, 30)
        return Event("Old", When.timed(start, start + timedelta(hours=1), "Europe/Rome"))

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str:
        fields = {"reminders": {"useDefault": False, "overrides": [{"minutes": "soon"}]}}
        self.google.control(
            "POST",
            "raw",
            {
                "calendar_id": self.google.account["primary_calendar"],
                "id": made.id,
                "fields": fields,
            },
        )
        return made.id

    def expire(self, side: Side[Any], cursor: str) -> str:
        self.google.control("POST", "synctokens/expire", {})
        return cursor


class TestGoogleTasksContract(_GoogleContract):
    # Tasks ignore If-Match on Google (undocumented), as the emulator does by default.
    checks_etags = False
    batch_reads = True

    @pytest.fixture
    def side(self, google: Google) -> GoogleTasksSide:
        self.google = google
        return google.tasks()

    def make(self, n: int) -> Task:
        status = TaskStatus.DONE if n == 3 else TaskStatus.OPEN
        return Task(f"Task {n}", notes=f"n{n}", due=date(2026, 5, n), status=status)

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str:
        self.google.control(
            "POST",
            "raw",
            {
                "tasklist_id": self.google.account["default_tasklist"],
                "id": made.id,
                "fields": {"due": "someday"},
            },
        )
        return made.id
