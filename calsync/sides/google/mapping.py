"""Event <-> Google Calendar event JSON and Task <-> Google Tasks task JSON.

Public API: `event_id_for`, `made_by_calsync`, `key_property`, `event_to_google`,
`event_from_google`, `task_to_google`, `task_from_google`, `parse_time`, `format_time`,
`MAX_REMINDERS`.

Choices:
- Timed items go out as `dateTime` in the item's own zone (with its offset) plus `timeZone`;
  all-day items as `date` with Google's exclusive end. On PATCH the other form is sent as null,
  so a timed/all-day switch clears it (nested objects merge on PATCH).
- Visibility: CRM public is written as Google `default` (the calendar's own sharing; Google
  `public` would show the details to anyone who can see free/busy); `private` and
  `confidential` read as private, `public` and `default` as public.
- Reminders are written explicitly (`useDefault: false`), at most 5, the ones kept chosen by
  (minutes, method) whatever their order. `useDefault: true` reads as the calendar's default
  reminders when known.
- Our link key lives in `extendedProperties.private` under a name namespaced per CRM instance;
  PATCH merges that map, so other apps' properties survive.
- Tasks: `due` is a date (`YYYY-MM-DDT00:00:00.000Z`); reopening sends `completed: null`.
  Tasks cannot hold our key without polluting the notes: they re-link through the state table
  (and a title + due match on a wiped state), never through a stored key.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from calsync.model import (
    Attendee,
    Event,
    EventStatus,
    ModelError,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Transparency,
    Visibility,
    When,
    check_day,
    zone,
)
from calsync.sides.google.wire import (
    EventAttendee,
    EventDateTime,
    ExtendedProperties,
    GoogleEvent,
    GoogleTask,
    ReminderOverride,
    Reminders,
)

_LOGGER = logging.getLogger(__name__)

MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320
MAX_TASK_TITLE = 1024
MAX_TASK_NOTES = 8192
_KEY_BASE = "calsyncKey"


def key_property(namespace: str) -> str:
    """Return the `extendedProperties.private` name holding our key for CRM instance `namespace`.

    A short hash keeps the name within Google's 44-character limit for property keys and free
    of characters Google might refuse.
    """
    if not namespace:
        return _KEY_BASE
    return f"{_KEY_BASE}_{hashlib.sha1(namespace.encode()).hexdigest()[:10]}"


def series_property(namespace: str) -> str:
    """Return the `extendedProperties.private` name marking a recurring event calsync made
    for a CRM series (instances inherit it; it is no link key, so instances carry none)."""
    return "calsyncSeries" + key_property(namespace).removeprefix(_KEY_BASE)


def event_id_for(key: str, namespace: str = "") -> str:
    """Return the deterministic Google event id of the CRM item `key`.

    Hex digits lie inside base32hex (`[a-v0-9]`), so `cs` + a SHA-1 hex digest is a valid
    client id (42 characters); a retried insert hits 409 instead of duplicating.
    """
    digest = hashlib.sha1(f"{namespace}\x00{key}".encode()).hexdigest()
    return f"cs{digest}"


_OUR_ID = re.compile(r"cs[0-9a-f]{40}")


def made_by_calsync(event_id: str) -> bool:
    """True for an id `event_id_for` derives (Google's own ids are 26 base32hex characters)."""
    return _OUR_ID.fullmatch(event_id) is not None


def format_time(value: datetime, tz: str) -> str:
    """Return RFC 3339 wall time of the instant `value` in zone `tz`, with its offset."""
    local = value.astimezone(zone(tz))
    offset = local.utcoffset()
    if offset is None or offset.total_seconds() % 60:
        # Historic zones (LMT) have second offsets, which RFC 3339 cannot carry: send UTC.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """Return the UTC instant of an RFC 3339 date-time (`Z` or an offset; naive reads as UTC)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    check_day(value.date())  # year 1 or 9999: converting it could overflow (ModelError instead)
    return value.astimezone(UTC)


def _known_zone(name: str | None, fallback: str) -> str:
    if not name:
        return fallback
    try:
        zone(name)
    except ModelError:
        _LOGGER.warning("unknown time zone %r from Google, using %s", name, fallback)
        return fallback
    return name


def _when_to_google(when: When, patch: bool) -> tuple[EventDateTime, EventDateTime]:
    if when.all_day:
        assert isinstance(when.start, date) and isinstance(when.end, date)
        start = EventDateTime(date=when.start.isoformat(), time_zone=when.tz)
        end = EventDateTime(date=when.end.isoformat(), time_zone=when.tz)
        if patch:
            start.date_time = end.date_time = None
    else:
        assert isinstance(when.start, datetime) and isinstance(when.end, datetime)
        start = EventDateTime(date_time=format_time(when.start, when.tz), time_zone=when.tz)
        end = EventDateTime(date_time=format_time(when.end, when.tz), time_zone=when.tz)
        if patch:
            start.date = end.date = None
    return start, end


def _when_from_google(
    start: EventDateTime | None, end: EventDateTime | None, default_tz: str
) -> When:
    start = start or EventDateTime()
    end = end or EventDateTime()
    tz = _known_zone(start.time_zone or end.time_zone, default_tz)
    if start.date_time:
        first = parse_time(start.date_time)
        last = parse_time(end.date_time) if end.date_time else first
        return When(first, max(first, last), tz)
    if start.date:
        day = check_day(date.fromisoformat(start.date[:10]))
        stop = date.fromisoformat(end.date[:10]) if end.date else day + timedelta(days=1)
        return When(day, max(stop, day + timedelta(days=1)), tz)
    raise ModelError("Google event without start")


def choose_reminders(reminders: Sequence[Reminder]) -> list[Reminder]:
    """Return at most MAX_REMINDERS distinct valid reminders, in their given order.

    Which ones stay does not depend on their order: the earliest (fewest minutes, then method)
    win, so two runs over the same item always send the same list.
    """
    distinct: list[Reminder] = []
    for r in reminders:
        r = Reminder(max(0, min(MAX_REMINDER_MINUTES, r.minutes)), r.method)
        if r.method not in ("popup", "email"):
            r = Reminder(r.minutes, "popup")
        if r not in distinct:
            distinct.append(r)
    if len(distinct) <= MAX_REMINDERS:
        return distinct
    keep = set(sorted(distinct, key=lambda r: (r.minutes, r.method))[:MAX_REMINDERS])
    dropped = [r for r in distinct if r not in keep]
    _LOGGER.warning("Google keeps at most %d reminders; dropping %s", MAX_REMINDERS, dropped)
    return [r for r in distinct if r in keep]


def event_to_google(
    event: Event,
    *,
    key: str | None = None,
    namespace: str = "",
    event_id: str | None = None,
    patch: bool = False,
    attendees: bool = True,
) -> dict[str, Any]:
    """Return the JSON body writing the owned fields of `event`.

    `patch=True` makes a PATCH body (the unused time form nulled, recurrence cleared when
    absent); `key` adds our link key; `attendees=False` leaves attendees untouched.
    """
    start, end = _when_to_google(event.when, patch)
    doc = GoogleEvent(
        summary=event.title,
        description=event.description,
        location=event.location,
        start=start,
        end=end,
        status=event.status.value,
        visibility="private" if event.visibility is Visibility.PRIVATE else "default",
        transparency="transparent" if event.transparency is Transparency.FREE else "opaque",
        reminders=Reminders(
            use_default=False,
            overrides=[
                ReminderOverride(method=r.method, minutes=r.minutes)
                for r in choose_reminders(event.reminders)
            ],
        ),
    )
    if event_id is not None:
        doc.id = event_id
    if event.recurrence is not None:
        doc.recurrence = list(event.recurrence.lines)
    elif patch:
        doc.recurrence = None
    if attendees:
        doc.attendees = [
            EventAttendee(email=a.email, display_name=a.name or None, response_status=a.response)
            for a in event.attendees
        ]
    if key is not None:
        doc.extended_properties = ExtendedProperties(private={key_property(namespace): key})
    return doc.dump()


def _recurrence(lines: Sequence[str] | None) -> Recurrence | None:
    if not lines:
        return None
    good = []
    for line in lines:
        try:
            Recurrence((line,))
        except ModelError:
            _LOGGER.warning("ignoring unsupported recurrence line %r", line)
            continue
        good.append(line)
    return Recurrence(tuple(good)) if good else None


def event_from_google(
    doc: GoogleEvent | dict[str, Any],
    *,
    namespace: str = "",
    default_tz: str = "UTC",
    default_reminders: Sequence[Reminder] = (),
) -> tuple[Event, str | None]:
    """Return the Event held by a Google event and our link key found on it (or None).

    `default_tz` is the calendar's zone, used when Google gives no `timeZone`;
    `default_reminders` are the calendar's defaults, used for `useDefault: true`.
    """
    g = doc if isinstance(doc, GoogleEvent) else GoogleEvent.model_validate(doc)
    if g.reminders is None or g.reminders.use_default:
        reminders = tuple(default_reminders)
    else:
        reminders = tuple(Reminder(o.minutes, o.method) for o in g.reminders.overrides or ())
    event = Event(
        title=g.summary or "",
        when=_when_from_google(g.start, g.end, _known_zone(default_tz, "UTC")),
        description=g.description or "",
        location=g.location or "",
        visibility=(
            Visibility.PRIVATE if g.visibility in ("private", "confidential") else Visibility.PUBLIC
        ),
        status=EventStatus.TENTATIVE if g.status == "tentative" else EventStatus.CONFIRMED,
        transparency=Transparency.FREE if g.transparency == "transparent" else Transparency.BUSY,
        reminders=reminders,
        attendees=tuple(
            Attendee(a.email, a.display_name or "", a.response_status or "needsAction")
            for a in g.attendees or ()
            if a.email
        ),
        recurrence=_recurrence(g.recurrence),
        updated=parse_time(g.updated) if g.updated else None,
    )
    private = (g.extended_properties.private if g.extended_properties else None) or {}
    return event, private.get(key_property(namespace))


def _truncate(text: str, limit: int, what: str) -> str:
    if len(text) <= limit:
        return text
    _LOGGER.warning("Google Tasks keeps %d characters of a task's %s; cutting", limit, what)
    return text[:limit]


def format_due(day: date) -> str:
    """Return a Tasks `due` value: the date at midnight UTC, as Google returns it."""
    return f"{day.isoformat()}T00:00:00.000Z"


def task_to_google(task: Task, *, patch: bool = False) -> dict[str, Any]:
    """Return the JSON body writing `task` (PATCH: cleared fields go out as null)."""
    doc = GoogleTask(
        title=_truncate(task.title, MAX_TASK_TITLE, "title"),
        notes=_truncate(task.notes, MAX_TASK_NOTES, "notes"),
        status="completed" if task.status is TaskStatus.DONE else "needsAction",
    )
    if task.due is not None:
        doc.due = format_due(task.due)
    elif patch:
        doc.due = None
    if task.status is TaskStatus.OPEN and patch:
        # Reopening needs the completion time cleared too, or Google keeps the task done.
        doc.completed = None
    return doc.dump()


def task_from_google(doc: GoogleTask | dict[str, Any]) -> Task:
    """Return the Task held by a Google task (the due date read as the UTC date)."""
    g = doc if isinstance(doc, GoogleTask) else GoogleTask.model_validate(doc)
    return Task(
        title=g.title or "",
        notes=g.notes or "",
        due=parse_time(g.due).date() if g.due else None,
        status=TaskStatus.DONE if g.status == "completed" else TaskStatus.OPEN,
        updated=parse_time(g.updated) if g.updated else None,
    )
