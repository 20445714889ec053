"""Translate vtiger Events / Calendar (to-do) records to calsync's Event / Task and back.

Public API: `event_from_record`, `event_fields`, `task_from_record`, `task_fields`,
`vtiger_projection`, `stored_item`, `description_from_vtiger`, `reminder_seconds`,
`reminder_read_back`, `record_minutes`, `VTIGER_IGNORED_FIELDS`, `MappingError`.

Rules (docs/emulator-vtiger.md, "Mapping"):
- Dates and times travel in UTC (vtiger converts nothing); the user's zone is the display zone.
- All-day has no flag over the webservice: it is written as 00:00 to 23:59 in the user's zone
  (first day to last day) and read back as all-day, as is upstream's midnight-to-midnight form.
- A description vtiger stored HTML-escaped (it had a `<script>`) is unescaped on the way in,
  so writing it back yields the same stored text instead of growing by one escape per trip.
- `reminder_time` is written in seconds and read back in minutes (rounded up, plus a minute
  per whole day); every write carries it, because a revise without it deletes the reminder.
- Visibility "" (an event created without one) reads as public: vtiger hides only "Private"
  events from other users, whatever describe's default says.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from calsync.model import (
    Event,
    Item,
    ModelError,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Visibility,
    When,
    check_day,
    zone,
)

VTIGER_IGNORED_FIELDS = frozenset({"attendees", "recurrence", "transparency", "status"})
"""Event fields vtiger cannot hold: leave them out of content_hash for the CRM side."""

DEFAULT_EVENT_TYPES = ("Call", "Meeting", "Mobile Call")
NO_TITLE = "(no title)"
"""vtiger's subject is mandatory: an untitled item is written with this placeholder."""
TASK_LOCAL_HOUR = 9
"""A to-do's start is written at 09:00 in the user's zone (Google Tasks keeps no time)."""

_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_FREQ_LABEL = {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly", "YEARLY": "Yearly"}


class MappingError(ValueError):
    """A record that cannot be read as an Event/Task (missing field, bad date, wrong type)."""


def _text(rec: dict[str, Any], name: str, required: bool = False) -> str:
    value = rec.get(name)
    if value is None or (required and str(value).strip() == ""):
        if required:
            raise MappingError(f"record {rec.get('id')} has no {name}")
        return ""
    return str(value)


def parse_date(value: str) -> date:
    """Return a vtiger date (`Y-m-d`), raising MappingError for anything else.

    vtiger stores any year; one at the ends of the calendar (0001, 9999) is refused here,
    before any zone arithmetic could overflow on it.
    """
    try:
        return check_day(date.fromisoformat(value.strip()))
    except ModelError as err:
        raise MappingError(f"unusable date {value!r}: {err}") from err
    except ValueError as err:
        raise MappingError(f"malformed date {value!r}") from err


def parse_time(value: str) -> time:
    """Return a vtiger time: `H:i:s`, or `H:i` as vtiger keeps unpadded times."""
    m = _TIME.fullmatch(value.strip())
    if not m:
        raise MappingError(f"malformed time {value!r}")
    try:
        return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    except ValueError as err:
        raise MappingError(f"malformed time {value!r}") from err


def _instant(d: str, t: str) -> datetime:
    return datetime.combine(parse_date(d), parse_time(t), UTC)


def _split(instant: datetime) -> tuple[str, str]:
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%d"), utc.strftime("%H:%M:%S")


def modified_at(rec: dict[str, Any]) -> datetime | None:
    """Return the record's modifiedtime as a UTC instant (None when absent or malformed)."""
    try:
        return datetime.strptime(str(rec.get("modifiedtime")), "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


# reminders ----------------------------------------------------------------------------------


def reminder_read_back(seconds: int) -> int:
    """Return the minutes vtiger reads back for a `reminder_time` written as `seconds`.

    Observed on vtiger 8.4: 30 -> 1, 1800 -> 30, 5400 -> 90, 86400 -> 1441, 0 -> 0.
    """
    if seconds <= 0:
        return 0
    return -(-seconds // 60) + seconds // 86400


def reminder_seconds(minutes: int) -> int:
    """Return the `reminder_time` (seconds) to write so that vtiger reads back `minutes`.

    `minutes * 60`, except where vtiger's extra minute per day would make a value read back
    one higher each time it is written again (1441 read, 1441 * 60 written, 1442 read): then
    the smallest whole-minute write that reads back `minutes`, when there is one.
    """
    if minutes <= 0:
        return 0
    for whole in range(max(1, minutes - minutes // 1440 - 1), minutes + 1):
        if reminder_read_back(whole * 60) == minutes:
            return whole * 60
    return minutes * 60


def record_minutes(rec: dict[str, Any]) -> int:
    """Return a record's reminder in minutes (0 when none: "0", "", null or garbage)."""
    try:
        return max(0, int(str(rec.get("reminder_time") or "0")))
    except ValueError:
        return 0


# descriptions -------------------------------------------------------------------------------


def description_from_vtiger(text: str) -> str:
    """Return the description as written, undoing vtiger's escape of texts with `<script>`.

    vtiger escapes the whole text (htmlspecialchars) when it holds a `<script>` element, so
    the stored form has `&lt;script` and no raw `<` at all; ordinary HTML is kept as is.
    """
    if "<" not in text and re.search(r"&lt;\s*script", text, re.I):
        return html.unescape(text)
    return text


# events -------------------------------------------------------------------------------------


def _day_start(day: date, tz: str) -> datetime:
    """Return the first instant of `day` in `tz` (01:00 where DST skips midnight), in UTC."""
    return datetime.combine(day, time(0, 0), zone(tz)).astimezone(UTC)


def _when_from(start: datetime, end: datetime, tz: str) -> When:
    z = zone(tz)
    ls, le = start.astimezone(z), end.astimezone(z)
    if start == _day_start(ls.date(), tz) and ls.date() <= le.date():
        if (le.hour, le.minute) == (23, 59):
            return When.dates(ls.date(), le.date() + timedelta(days=1), tz)
        if end == _day_start(le.date(), tz) and le.date() > ls.date():
            return When.dates(ls.date(), le.date(), tz)  # upstream's midnight-to-midnight form
    return When(start, end, tz)


def event_from_record(
    rec: dict[str, Any], user_tz: str, activity_types: tuple[str, ...] | None = None
) -> Event:
    """Return the Event for an Events record; MappingError when the record is unusable."""
    kind = _text(rec, "activitytype")
    allowed = activity_types or DEFAULT_EVENT_TYPES
    if kind not in allowed:
        raise MappingError(f"record {rec.get('id')} has activity type {kind!r}")
    start = _instant(_text(rec, "date_start", True), _text(rec, "time_start", True))
    end = _instant(_text(rec, "due_date", True), _text(rec, "time_end", True))
    try:
        when = _when_from(start, end, user_tz)
    except ModelError as err:
        raise MappingError(f"record {rec.get('id')}: {err}") from err
    minutes = record_minutes(rec)
    return Event(
        title=_text(rec, "subject"),
        when=when,
        description=description_from_vtiger(_text(rec, "description")),
        location=_text(rec, "location"),
        visibility=Visibility.PRIVATE if rec.get("visibility") == "Private" else Visibility.PUBLIC,
        reminders=(Reminder(minutes),) if minutes > 0 else (),
        updated=modified_at(rec),
    )


def _span(when: When, tz: str) -> tuple[datetime, datetime]:
    if isinstance(when.start, datetime) and isinstance(when.end, datetime):
        return when.start, when.end
    assert not isinstance(when.end, datetime)
    last = datetime.combine(when.end - timedelta(days=1), time(23, 59), zone(tz))
    return _day_start(when.start, tz), last.astimezone(UTC)


def _reminder_minutes(event: Event) -> int:
    return min((r.minutes for r in event.reminders), default=0)


def event_fields(
    event: Event, user_tz: str, *, create: bool, owner: str | None = None
) -> dict[str, Any]:
    """Return the Events fields for `event`: everything on create, the owned fields otherwise.

    On update `activitytype`, `eventstatus`, the owner and `recurringtype` are left alone
    (CRM values kept), which is why writes go through `revise`.
    """
    start, end = _span(event.when, user_tz)
    minutes = max(0, int((end - start).total_seconds() // 60))
    date_start, time_start = _split(start)
    due_date, time_end = _split(end)
    fields: dict[str, Any] = {
        "subject": event.title or NO_TITLE,
        "date_start": date_start,
        "time_start": time_start,
        "due_date": due_date,
        "time_end": time_end,
        "duration_hours": str(minutes // 60),
        "duration_minutes": str(minutes % 60),
        "location": event.location,
        "description": event.description,
        "visibility": "Private" if event.visibility == Visibility.PRIVATE else "Public",
        # Always sent: a revise that leaves it out deletes vtiger's reminder.
        "reminder_time": str(reminder_seconds(_reminder_minutes(event))),
    }
    if create:
        fields.update(activitytype="Meeting", eventstatus="Planned")
        fields["recurringtype"] = _recurring_label(event.recurrence)
        if owner:
            fields["assigned_user_id"] = owner
    return fields


def _recurring_label(rec: Recurrence | None) -> str:
    for line in rec.lines if rec else ():
        m = re.search(r"FREQ=([A-Z]+)", line.upper())
        if line.upper().startswith("RRULE") and m:
            return _FREQ_LABEL.get(m.group(1), "")
    return ""


def vtiger_projection(event: Event, user_tz: str = "UTC") -> Event:
    """Return `event` as it reads back after a trip through vtiger (what vtiger can hold).

    Compare `content_hash(vtiger_projection(e), VTIGER_IGNORED_FIELDS)` with the CRM side's
    hash so fields vtiger drops (extra reminders, a reminder's method) are not seen as edits.
    """
    minutes = reminder_read_back(reminder_seconds(_reminder_minutes(event)))
    return event.with_(
        title=event.title or NO_TITLE,
        reminders=(Reminder(minutes),) if minutes > 0 else (),
    )


def stored_item(item: Item) -> Item:
    """Return `item` as vtiger holds it once calsync wrote it: an event keeps one reminder in
    vtiger's minutes (`vtiger_projection`); an untitled item gets the placeholder title."""
    if isinstance(item, Event):
        return vtiger_projection(item)
    return item.with_(title=item.title or NO_TITLE)


# to-dos -------------------------------------------------------------------------------------


def task_from_record(rec: dict[str, Any]) -> Task:
    """Return the Task for a Calendar to-do record; MappingError when unusable."""
    if _text(rec, "activitytype") != "Task":
        raise MappingError(f"record {rec.get('id')} is not a to-do")
    due = parse_date(_text(rec, "due_date", True))
    done = _text(rec, "taskstatus") == "Completed"
    return Task(
        title=_text(rec, "subject"),
        notes=description_from_vtiger(_text(rec, "description")),
        due=due,
        status=TaskStatus.DONE if done else TaskStatus.OPEN,
        updated=modified_at(rec),
    )


def task_fields(
    task: Task,
    user_tz: str,
    *,
    current: dict[str, Any] | None = None,
    owner: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Return the Calendar fields for `task`: a full to-do without `current`, else the changes.

    vtiger needs a due date: a task without one is written as due today (in the user's zone).
    An existing to-do keeps its own `time_start` and any open status ("In Progress", ...).
    Every write carries `activitytype` "Task" (without it vtiger files the to-do under Events),
    a `time_start` (this vtiger refuses a to-do without one) and the to-do's own reminder
    (a revise without `reminder_time` deletes it; Google Tasks has none to send).
    """
    due = task.due or today or datetime.now(zone(user_tz)).date()
    fields: dict[str, Any] = {
        "subject": task.title or NO_TITLE,
        "description": task.notes,
        "due_date": due.isoformat(),
    }
    start = datetime.combine(due, time(TASK_LOCAL_HOUR, 0), zone(user_tz))
    fields["activitytype"] = "Task"
    if current is None:
        fields["date_start"], fields["time_start"] = _split(start)
        fields["taskstatus"] = "Completed" if task.status == TaskStatus.DONE else "Not Started"
        if owner:
            fields["assigned_user_id"] = owner
        return fields
    if not str(current.get("time_start") or "").strip():
        fields["time_start"] = _split(start)[1]
    kept = current.get("reminder_time")
    fields["reminder_time"] = (
        "" if kept in (None, "") else str(reminder_seconds(record_minutes(current)))
    )
    if str(current.get("due_date")) != due.isoformat():
        fields["date_start"] = due.isoformat()
    was_done = current.get("taskstatus") == "Completed"
    if task.status == TaskStatus.DONE and not was_done:
        fields["taskstatus"] = "Completed"
    elif task.status == TaskStatus.OPEN and was_done:
        fields["taskstatus"] = "Not Started"
    return fields
