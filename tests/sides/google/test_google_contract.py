"""The Google sides against the shared Side contract, over the emulator."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from calsync.model import Event, Task, TaskStatus, When
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.tasks import GoogleTasksSide
from tests.sides.contract import SideContract
from tests.sides.google.emulated import Google


class TestGoogleCalendarContract(SideContract):
    stores_key = True
    deterministic_ids = True

    @pytest.fixture
    def side(self, google: Google) -> GoogleCalendarSide:
        return google.calendar()

    def make(self, n: int) -> Event:
        if n % 2:
            start = datetime(2026, 4, n, 9, 30)
            return Event(f"Event {n}", When.timed(start, start + timedelta(hours=1), "Europe/Rome"))
        return Event(f"Day {n}", When.dates(date(2026, 4, n), date(2026, 4, n + 1)))


class TestGoogleTasksContract(SideContract):
    # Tasks ignore If-Match on Google (undocumented), as the emulator does by default.
    checks_etags = False

    @pytest.fixture
    def side(self, google: Google) -> GoogleTasksSide:
        return google.tasks()

    def make(self, n: int) -> Task:
        status = TaskStatus.DONE if n == 3 else TaskStatus.OPEN
        return Task(f"Task {n}", notes=f"n{n}", due=date(2026, 5, n), status=status)
