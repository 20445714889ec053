"""Domain types shared by every layer: Event, Task, When, and their content hash.

Times are kept as UTC instants plus the IANA zone they were made in (so wall time
holds across daylight-saving changes);
all-day items keep plain dates with an exclusive end, as Google does. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ModelError(ValueError):
    """An item that breaks a rule of the domain (end before start, unknown zone, ...)."""


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class EventStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"


class Transparency(enum.StrEnum):
    BUSY = "busy"
    FREE = "free"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


FIRST_DAY = date.min + timedelta(days=2)
"""The earliest date an item may carry: a day's margin for any zone's offset and one more."""
LAST_DAY = date.max - timedelta(days=2)
"""The latest date an item may carry: room for an exclusive end and any zone's offset."""


def check_day(day: date) -> date:
    """Return `day`, or raise ModelError when it lies too near the ends of the calendar.

    Dates in year 1 or 9999 cannot be moved into every zone or given an exclusive end
    without leaving what Python's dates can hold; such items are refused, never synced.
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ModelError(f"date {day.isoformat()} is outside {FIRST_DAY}..{LAST_DAY}")
    return day


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`, raising ModelError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ModelError(f"unknown time zone {name!r}") from err


@dataclass(frozen=True, slots=True)
class When:
    """When an event happens: timed (UTC instants + zone) or all-day (dates, end exclusive)."""

    start: datetime | date
    end: datetime | date
    tz: str = "UTC"
    """IANA zone the item was made in; for timed items it only affects display and recurrence."""

    def __post_init__(self) -> None:
        zone(self.tz)
        timed = [isinstance(v, datetime) for v in (self.start, self.end)]
        if timed[0] != timed[1]:
            raise ModelError("start and end must both be timed or both be dates")
        if timed[0]:
            assert isinstance(self.start, datetime) and isinstance(self.end, datetime)
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ModelError("timed start/end must carry a time zone")
            for value in (self.start, self.end):
                # Checked on the naive wall date first: astimezone itself may overflow.
                check_day(value.date())
            object.__setattr__(self, "start", self.start.astimezone(UTC))
            object.__setattr__(self, "end", self.end.astimezone(UTC))
            if self.end < self.start:
                raise ModelError("end is before start")
        else:
            assert isinstance(self.start, date) and isinstance(self.end, date)
            check_day(self.start)
            check_day(self.end)
            if self.end <= self.start:
                raise ModelError("an all-day item ends (exclusive) after the day it starts")

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @classmethod
    def timed(cls, start: datetime, end: datetime, tz: str = "UTC") -> When:
        """Return a timed When; naive datetimes are read as wall time in `tz`."""
        z = zone(tz)
        start = start if start.tzinfo else start.replace(tzinfo=z)
        end = end if end.tzinfo else end.replace(tzinfo=z)
        return cls(start, end, tz)

    @classmethod
    def dates(cls, first: date, end_exclusive: date, tz: str = "UTC") -> When:
        """Return an all-day When covering `first` up to (not including) `end_exclusive`."""
        return cls(first, end_exclusive, tz)

    def local_start(self) -> datetime:
        """Return the start as wall time in the item's own zone (all-day: local midnight)."""
        return self.start_in(self.tz)

    def start_in(self, tz: str) -> datetime:
        """Return the start as wall time in `tz` (all-day: midnight of the date in `tz`)."""
        if isinstance(self.start, datetime):
            return self.start.astimezone(zone(tz))
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=zone(tz))

    def key(self) -> dict[str, Any]:
        """Return a JSON-ready form used in hashes (instants in UTC, dates as ISO)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_day": self.all_day,
        }


@dataclass(frozen=True, slots=True)
class Reminder:
    minutes: int
    """How long before the start the reminder fires."""
    method: str = "popup"
    """`popup` or `email`, as Google names them."""


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str = ""
    response: str = "needsAction"
    """Google's responseStatus: needsAction | declined | tentative | accepted."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    """RFC 5545 lines (RRULE, EXRULE, RDATE, EXDATE), expanded in the event's own zone."""

    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        for line in self.lines:
            head = line.split(":", 1)[0].split(";", 1)[0].upper()
            if head not in {"RRULE", "EXRULE", "RDATE", "EXDATE"}:
                raise ModelError(f"unsupported recurrence line {line!r}")


@dataclass(frozen=True, slots=True)
class SeriesLink:
    """Where an event stands in a series its CRM keeps as one record per occurrence (vtiger).

    Set by a CRM side that recovered the series, for the other side to write the occurrences
    as one recurring event; never part of the content (it is not in `content_hash`).
    """

    id: str
    """The series' id on the CRM side (the id of its first occurrence's record)."""
    rule: Recurrence
    """The series' rule, with an EXDATE for each occurrence the rule places but the CRM lacks;
    expanded in `template.when.tz` from `template.when.start`."""
    template: Event
    """The series as one event: its first occurrence as the rule places it, with the content
    the occurrences share (an occurrence that differs from it is an exception)."""
    original: datetime | date
    """This occurrence's start as the rule places it (RFC 5545 RECURRENCE-ID)."""
    members: tuple[str, ...] = ()
    """The CRM ids of every occurrence the CRM still holds."""
    whole: bool = False
    """True when every one of those occurrences holds the template's content and time of day:
    a change of the template is then an edit of all events, for the series as a whole."""
    fresh: bool = False
    """True when none of the occurrences is linked yet (the engine says so): only then may a
    new recurring event be made; otherwise occurrences join one that exists, or stay single."""
    key: str | None = None
    """The link key of the series as a whole (the engine sets it with `fresh`): the recurring
    event made for it keeps it, and its instances read as copies of CRM items (a key of
    `<key>@<original start>`, which no CRM id matches): never a source of new CRM items."""


@dataclass(frozen=True, slots=True)
class Event:
    """A calendar event as both sides should see it."""

    title: str
    when: When
    description: str = ""
    """HTML, as the CRM stores it."""
    location: str = ""
    visibility: Visibility = Visibility.PUBLIC
    status: EventStatus = EventStatus.CONFIRMED
    transparency: Transparency = Transparency.BUSY
    reminders: tuple[Reminder, ...] = ()
    attendees: tuple[Attendee, ...] = ()
    recurrence: Recurrence | None = None
    overrides: tuple[Override, ...] = ()
    """A series' exceptions (moved, edited or cancelled occurrences), one per original start;
    empty for a single event and for a series without exceptions."""
    updated: datetime | None = field(default=None, compare=False)
    """Last modification time on the side it was read from; never part of the content."""
    series: SeriesLink | None = field(default=None, compare=False)
    """The series this single event is one occurrence of, when its CRM keeps series as one
    record per occurrence and the series was recovered; never part of the content."""

    def with_(self, **changes: Any) -> Event:
        """Return a copy with `changes` applied."""
        return replace(self, **changes)

    def with_overrides(self, fn: Callable[[Event], Event]) -> Event:
        """Return a copy with `fn` applied to the event of every override (cancellations kept)."""
        if not self.overrides:
            return self
        return replace(
            self,
            overrides=tuple(
                o if o.event is None else Override(o.original_start, fn(o.event))
                for o in self.overrides
            ),
        )


@dataclass(frozen=True, slots=True)
class Override:
    """One occurrence of a series that differs from what its rule makes: RFC 5545's
    RECURRENCE-ID. It is keyed by the occurrence's original start, never by where it now is,
    so a moved occurrence stays one occurrence of its series on every side."""

    original_start: datetime | date
    """Where the rule puts the occurrence: an instant (kept in UTC) for a timed series, a date
    for an all-day one."""
    event: Event | None = None
    """The occurrence as it now is (moved or edited; never itself recurring), or None when it
    is cancelled."""

    def __post_init__(self) -> None:
        if isinstance(self.original_start, datetime):
            if self.original_start.tzinfo is None:
                raise ModelError("an override's original start must carry a time zone")
            object.__setattr__(self, "original_start", self.original_start.astimezone(UTC))
        if self.event is not None and (self.event.recurrence or self.event.overrides):
            raise ModelError("an occurrence of a series cannot recur itself")

    @property
    def cancelled(self) -> bool:
        return self.event is None

    def ident(self) -> str:
        """Return the original start as text (UTC instant or date): the override's identity."""
        return self.original_start.isoformat()


@dataclass(frozen=True, slots=True)
class Task:
    """A to-do: CRM Calendar to-do <-> Google Tasks task."""

    title: str
    notes: str = ""
    due: date | None = None
    """Date only: Google Tasks drops any time of day."""
    status: TaskStatus = TaskStatus.OPEN
    updated: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.due is not None:
            check_day(self.due)

    def with_(self, **changes: Any) -> Task:
        """Return a copy with `changes` applied."""
        return replace(self, **changes)


Item = Event | Task

# Fields that are metadata, never content. An event without overrides hashes as it did
# before series had them, so the hashes stored for existing pairs stay valid.
_VOLATILE = frozenset({"updated", "series"})


def _plain(value: Any) -> Any:
    if isinstance(value, When):
        return value.key()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Recurrence):
        return sorted(value.lines)
    if isinstance(value, tuple):
        items = [_plain(v) for v in value]
        # Order of reminders and attendees carries no meaning on either side.
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Override):
        return {"original_start": value.ident(), "event": _plain(value.event)}
    if isinstance(value, Event):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if f.name not in _VOLATILE and not (f.name == "overrides" and not value.overrides)
        }
    if isinstance(value, Reminder | Attendee):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, str):
        return " ".join(value.split()) if value else ""
    return value


def content_hash(item: Item, ignore: Iterable[str] = ()) -> str:
    """Return a stable hash of the item's content, leaving out `ignore`d and volatile fields.

    `ignore` names fields one side cannot hold (e.g. attendees on a CRM without them), so that
    a round trip through that side is not seen as a change.
    """
    skip = _VOLATILE | set(ignore)
    doc = {
        f.name: _plain(getattr(item, f.name))
        for f in fields(item)
        if f.name not in skip and not (f.name == "overrides" and not getattr(item, f.name))
    }
    doc["kind"] = type(item).__name__
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def utcnow() -> datetime:
    """Return the current time in UTC: the one home of "now" outside injected clocks."""
    return datetime.now(UTC)


def as_dict(item: Item) -> dict[str, Any]:
    """Return a JSON-ready form of `item` (for the conflict log and the web pages)."""
    doc: dict[str, Any] = {}
    for f in fields(item):
        if f.name == "series":
            continue  # a reading aid for writing series, not part of the item
        value = getattr(item, f.name)
        # Text is kept exactly (the hash normalises whitespace, the log must not).
        doc[f.name] = value if isinstance(value, str) else _plain(value)
    if isinstance(item, Event):
        doc["when"]["tz"] = item.when.tz
    doc["kind"] = type(item).__name__
    return doc


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def from_dict(doc: dict[str, Any]) -> Item:
    """Return the item `as_dict` made `doc` from (same content, same hash).

    Raises ModelError (or KeyError/ValueError on a malformed `doc`) when it is no item.
    """
    if doc.get("kind") == "Task":
        due = doc.get("due")
        return Task(
            title=doc["title"],
            notes=doc.get("notes", ""),
            due=date.fromisoformat(due) if due else None,
            status=TaskStatus(doc.get("status", TaskStatus.OPEN.value)),
            updated=_instant(doc.get("updated")),
        )
    if doc.get("kind") != "Event":
        raise ModelError(f"not an item: kind {doc.get('kind')!r}")
    w = doc["when"]
    parse = date.fromisoformat if w["all_day"] else datetime.fromisoformat
    lines = doc.get("recurrence")
    return Event(
        title=doc["title"],
        when=When(parse(w["start"]), parse(w["end"]), w.get("tz", "UTC")),
        description=doc.get("description", ""),
        location=doc.get("location", ""),
        visibility=Visibility(doc.get("visibility", Visibility.PUBLIC.value)),
        status=EventStatus(doc.get("status", EventStatus.CONFIRMED.value)),
        transparency=Transparency(doc.get("transparency", Transparency.BUSY.value)),
        reminders=tuple(Reminder(**r) for r in doc.get("reminders") or ()),
        attendees=tuple(Attendee(**a) for a in doc.get("attendees") or ()),
        recurrence=None if lines is None else Recurrence(tuple(lines)),
        updated=_instant(doc.get("updated")),
    )
