"""Rows of the embedded CRM's tables <-> domain items (Event, Task).

Public API: `Codec`, `EVENTS`, `TASKS`, `override_values`, `override_from_row`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from calsync.model import (
    Attendee,
    Event,
    EventStatus,
    Item,
    Override,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Transparency,
    Visibility,
    When,
)
from calsync.sides.local import tables as t

T = TypeVar("T", bound=Item)


def event_values(event: Event) -> dict[str, Any]:
    """Return the column values holding `event`'s content."""
    when = event.when
    timed = isinstance(when.start, datetime)
    return {
        "title": event.title,
        "description": event.description,
        "location": event.location,
        "all_day": not timed,
        "start_at": when.start if timed else None,
        "end_at": when.end if timed else None,
        "start_date": None if timed else when.start,
        "end_date": None if timed else when.end,
        "tz": when.tz,
        "visibility": event.visibility.value,
        "status": event.status.value,
        "transparency": event.transparency.value,
        "reminders": [{"minutes": r.minutes, "method": r.method} for r in event.reminders],
        "attendees": [
            {"email": a.email, "name": a.name, "response": a.response} for a in event.attendees
        ],
        "recurrence": list(event.recurrence.lines) if event.recurrence else None,
    }


def event_from_row(row: Any) -> Event:
    """Return the event stored in `row` (its overrides are added by the side)."""
    return _content_from_row(row).with_(
        recurrence=Recurrence(tuple(row.recurrence)) if row.recurrence else None,
        updated=row.updated_at,
    )


def override_values(override: Override) -> dict[str, Any]:
    """Return the column values of an override row (without its master)."""
    if override.event is None:
        return {"original": override.ident(), "cancelled": True}
    values = event_values(override.event)
    values.pop("recurrence")
    return {"original": override.ident(), "cancelled": False, **values}


def override_from_row(row: Any) -> Override:
    """Return the override stored in `row`."""
    text = str(row.original)
    original: datetime | date = (
        date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    )
    return Override(original, None if row.cancelled else _content_from_row(row))


def _content_from_row(row: Any) -> Event:
    if row.all_day:
        assert isinstance(row.start_date, date) and isinstance(row.end_date, date)
        when = When.dates(row.start_date, row.end_date, row.tz)
    else:
        when = When(row.start_at, row.end_at, row.tz)
    return Event(
        title=row.title,
        when=when,
        description=row.description,
        location=row.location,
        visibility=Visibility(row.visibility),
        status=EventStatus(row.status),
        transparency=Transparency(row.transparency),
        reminders=tuple(Reminder(int(r["minutes"]), r["method"]) for r in row.reminders),
        attendees=tuple(Attendee(a["email"], a["name"], a["response"]) for a in row.attendees),
    )


def task_values(task: Task) -> dict[str, Any]:
    """Return the column values holding `task`'s content."""
    return {"title": task.title, "notes": task.notes, "due": task.due, "status": task.status.value}


def task_from_row(row: Any) -> Task:
    """Return the to-do stored in `row`."""
    return Task(
        title=row.title,
        notes=row.notes,
        due=row.due,
        status=TaskStatus(row.status),
        updated=row.updated_at,
    )


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How one kind of item is kept: its table and its conversions."""

    kind: str
    """`event` or `to-do`, for messages."""
    table: sa.Table
    item_type: type[T]

    def values(self, item: T) -> dict[str, Any]:
        if not isinstance(item, self.item_type):
            raise TypeError(f"expected a {self.item_type.__name__}, got {type(item).__name__}")
        if isinstance(item, Event):
            return event_values(item)
        assert isinstance(item, Task)
        return task_values(item)

    def item(self, row: Any) -> T:
        made = event_from_row(row) if self.item_type is Event else task_from_row(row)
        assert isinstance(made, self.item_type)
        return made


EVENTS: Codec[Event] = Codec("event", t.events, Event)
TASKS: Codec[Task] = Codec("to-do", t.todos, Task)
