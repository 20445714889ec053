"""Factories of calsync items for the vtiger side tests (vtiger elements: `event_element`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from calsync.model import Event, Reminder, Task, Visibility, When


def make_event(tz: str = "Europe/Rome", **overrides: Any) -> Event:
    """Return a timed Event, 10:00-11:30 local on 2026-03-10 in `tz`, with a reminder."""
    base = Event(
        title="Budget review",
        when=When.timed(datetime(2026, 3, 10, 10, 0), datetime(2026, 3, 10, 11, 30), tz),
        description="<p>Agenda: <b>numbers</b> &amp; plans</p>",
        location="Room 4",
        visibility=Visibility.PUBLIC,
        reminders=(Reminder(15),),
    )
    return base.with_(**overrides)


def make_task(**overrides: Any) -> Task:
    """Return an open Task due 2026-03-12."""
    return Task(title="Send offer", notes="<p>v2</p>", due=date(2026, 3, 12)).with_(**overrides)
