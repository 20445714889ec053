"""Recover the series vtiger keeps as one Events record per occurrence, for Google to get one
recurring event instead of unrelated single events.

vtiger's UI saves a series (modules/Calendar/RepeatEvents.php) as copies of the first
occurrence with only `date_start` and `due_date` moved: same subject, description, location,
visibility, activity type, reminder, times of day, duration and `recurringtype` label, all
created in the same save. The webservice shows no link between them; vtiger's own tables do
(`vtiger_activity_recurring_info`, parent -> occurrence, and `vtiger_recurringevents`, the
rule), read through `calsync.sides.vtiger.links` when an admin gives calsync its database.

Two ways, both pure:
- `from_records`: the webservice alone. A group of records equal in every copied field,
  created within `SAME_SAVE` seconds, whose dates are exactly what a rule of the group's label
  makes (no gap, no extra) is a series. Anything less certain stays single events.
- `from_links`: vtiger's tables. The members are known exactly; the rule comes from the rule
  row (or, without one, from the members' dates); an occurrence the rule places but vtiger no
  longer holds becomes an EXDATE, and an occurrence that differs from the others (an edit of
  "this event only") is an exception keyed by its date. A member the rule does not place
  makes the whole group single events.

Rules are expanded with python-dateutil in the zone chosen for the series: the user's zone
when every occurrence starts at the same wall time there, else UTC (vtiger steps dates in its
database's zone, UTC, so across a DST change the user's wall time moves).

Public API: `Member`, `RuleRow`, `from_records`, `from_links`, `SAME_SAVE`, `SERIES_LABELS`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from dateutil.rrule import rrulestr

from calsync.model import Event, ModelError, Recurrence, SeriesLink, When, content_hash, zone

_LOGGER = logging.getLogger(__name__)

SAME_SAVE = 300
"""Seconds within which every occurrence of one UI save was created (`createdtime`)."""
MAX_MEMBERS = 1000
"""Larger groups are left as single events (vtiger's UI makes far fewer)."""

_FREQ = {"Daily": "DAILY", "Weekly": "WEEKLY", "Monthly": "MONTHLY", "Yearly": "YEARLY"}
SERIES_LABELS = tuple(_FREQ)
"""The `recurringtype` labels vtiger's UI gives the occurrences of a series."""
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = {"Mon": "MO", "Tue": "TU", "Wed": "WE", "Thu": "TH", "Fri": "FR", "Sat": "SA"}
_DAY_NAMES["Sun"] = "SU"
_COPIED = (
    "subject",
    "description",
    "location",
    "visibility",
    "activitytype",
    "eventstatus",
    "reminder_time",
    "time_start",
    "time_end",
    "recurringtype",
)
"""Fields every occurrence of a UI series carries as the first occurrence has them."""


@dataclass(frozen=True, slots=True)
class Member:
    """One Events record and the Event calsync reads from it."""

    id: str
    record: Mapping[str, Any]
    event: Event


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A row of `vtiger_recurringevents`."""

    recurringtype: str
    recurringfreq: int
    recurringinfo: str
    recurringdate: date
    recurringenddate: date | None


# -- shared ----------------------------------------------------------------------------------


def _series_zone(events: Sequence[Event], user_tz: str) -> str:
    """Return the zone the series' rule expands in (see the module docstring)."""
    if all(e.when.all_day for e in events):
        return events[0].when.tz
    walls = {e.when.start_in(user_tz).time() for e in events}
    return user_tz if len(walls) == 1 else "UTC"


def _local_date(event: Event, tz: str) -> date:
    start = event.when.start
    return start if not isinstance(start, datetime) else start.astimezone(zone(tz)).date()


def _expand(line: str, first: date, count_cap: int) -> list[date]:
    """Return the dates the RRULE `line` places from `first` (at most `count_cap`)."""
    rule = rrulestr(line.removeprefix("RRULE:"), dtstart=datetime.combine(first, time()))
    out: list[date] = []
    for when in rule:
        out.append(when.date())
        if len(out) >= count_cap:
            break
    return out


def _placed(template: Event, day: date, tz: str) -> datetime | date:
    """Return the start the rule gives the occurrence on `day` (template's wall time)."""
    start = template.when.start
    if not isinstance(start, datetime):
        return day
    wall = start.astimezone(zone(tz)).timetz().replace(tzinfo=None)
    return datetime.combine(day, wall, zone(tz)).astimezone(UTC)


def _template(first_event: Event, day: date, tz: str) -> Event:
    """Return `first_event` moved to `day` (same wall time and length) in zone `tz`."""
    when = first_event.when
    if when.all_day:
        assert isinstance(when.start, date) and isinstance(when.end, date)
        moved = When.dates(day, day + (when.end - when.start), tz)
    else:
        assert isinstance(when.start, datetime) and isinstance(when.end, datetime)
        start = _placed(first_event.with_(when=When(when.start, when.end, tz)), day, tz)
        assert isinstance(start, datetime)
        moved = When(start, start + (when.end - when.start), tz)
    return first_event.with_(when=moved, series=None, updated=None)


def _link(
    series_id: str,
    template: Event,
    lines: list[str],
    members: Sequence[tuple[Member, datetime | date]],
    whole: bool,
) -> dict[str, SeriesLink]:
    rule = Recurrence(tuple(lines))
    ids = tuple(m.id for m, _ in members)
    master = template.with_(recurrence=rule)
    return {
        m.id: SeriesLink(series_id, rule, master, original, ids, whole=whole)
        for m, original in members
    }


def _rule_line(freq: str, interval: int, count: int, byday: Iterable[str] = ()) -> str:
    parts = [f"FREQ={freq}"]
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    days = sorted(set(byday), key=_BYDAY.index)
    if days:
        parts.append("BYDAY=" + ",".join(days))
    parts.append(f"COUNT={count}")
    return "RRULE:" + ";".join(parts)


def _months(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _guess_rule(label: str, dates: Sequence[date]) -> str | None:
    """Return the RRULE that makes exactly `dates` (sorted, distinct) for the label, or None."""
    freq = _FREQ.get(label)
    if freq is None or len(dates) < 2:
        return None
    first, second = dates[0], dates[1]
    byday: tuple[str, ...] = ()
    if freq == "DAILY":
        interval = (second - first).days
    elif freq == "WEEKLY":
        weekdays = {d.weekday() for d in dates}
        if len(weekdays) == 1:
            interval, rest = divmod((second - first).days, 7)
            if rest:
                return None
        else:
            interval, byday = 1, tuple(_BYDAY[w] for w in weekdays)
    elif freq == "MONTHLY":
        interval = _months(first, second)
    else:
        interval = second.year - first.year
    if interval < 1:
        return None
    line = _rule_line(freq, interval, len(dates), byday)
    return line if _expand(line, first, len(dates) + 1) == list(dates) else None


# -- from the webservice alone ---------------------------------------------------------------


def _created(rec: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(str(rec.get("createdtime")), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _span_days(rec: Mapping[str, Any]) -> int | None:
    try:
        return (
            date.fromisoformat(str(rec["due_date"])) - date.fromisoformat(str(rec["date_start"]))
        ).days
    except (KeyError, ValueError):
        return None


def _timeless(event: Event) -> str:
    """Return the content hash of `event` leaving its time out."""
    return content_hash(event.with_(when=When.dates(date(2000, 1, 1), date(2000, 1, 2))))


def _group_key(m: Member) -> tuple[Any, ...]:
    rec = m.record
    return (
        *(" ".join(str(rec.get(f) or "").split()) for f in _COPIED),
        str(rec.get("assigned_user_id") or ""),
        _span_days(rec),
        _timeless(m.event),
    )


def from_records(members: Iterable[Member], user_tz: str) -> dict[str, SeriesLink]:
    """Return the series link of each member that surely belongs to a UI-made series."""
    groups: dict[tuple[Any, ...], list[Member]] = {}
    for m in members:
        if _FREQ.get(str(m.record.get("recurringtype") or "")) is None:
            continue
        groups.setdefault(_group_key(m), []).append(m)
    out: dict[str, SeriesLink] = {}
    for group in groups.values():
        out.update(_certain(group, user_tz))
    return out


def _certain(group: list[Member], user_tz: str) -> dict[str, SeriesLink]:
    if not 2 <= len(group) <= MAX_MEMBERS:
        return {}
    created = [_created(m.record) for m in group]
    if None in created:
        return {}
    stamps = [c for c in created if c is not None]
    if (max(stamps) - min(stamps)).total_seconds() > SAME_SAVE:
        return {}  # made in different saves: maybe separate events that look alike
    events = [m.event for m in group]
    tz = _series_zone(events, user_tz)
    ordered = sorted(group, key=lambda m: (_local_date(m.event, tz), m.id))
    dates = [_local_date(m.event, tz) for m in ordered]
    if len(set(dates)) != len(dates):
        return {}
    line = _guess_rule(str(group[0].record.get("recurringtype")), dates)
    if line is None:
        return {}
    try:
        template = _template(ordered[0].event, dates[0], tz)
    except ModelError:
        return {}
    pairs = [(m, m.event.when.start) for m in ordered]
    return _link(ordered[0].id, template, [line], pairs, whole=True)


# -- from vtiger's own tables ----------------------------------------------------------------


def _row_line(row: RuleRow, first: date, last: date) -> str | None:
    """Return an RRULE (with COUNT) for a `vtiger_recurringevents` row, None if unusable."""
    freq = _FREQ.get(row.recurringtype)
    if freq is None or row.recurringfreq < 1:
        return None
    byday: tuple[str, ...] = ()
    if freq == "WEEKLY":
        names = row.recurringinfo.split("::")[1:]
        byday = tuple(_DAY_NAMES[n] for n in names if n in _DAY_NAMES)
    end = row.recurringenddate or last
    probe = _rule_line(freq, row.recurringfreq, MAX_MEMBERS + 1, byday)
    dates = [d for d in _expand(probe, first, MAX_MEMBERS + 1) if d <= end]
    if not dates or len(dates) > MAX_MEMBERS:
        return None
    return _rule_line(freq, row.recurringfreq, len(dates), byday)


def from_links(
    groups: Mapping[str, Sequence[Member]],
    rules: Mapping[str, RuleRow],
    user_tz: str,
) -> dict[str, SeriesLink]:
    """Return the series link of each member of the series vtiger's tables name.

    `groups`: series id (the parent's ws id) -> the live members vtiger links to it;
    `rules`: series id -> its rule row, when vtiger still has one.
    """
    out: dict[str, SeriesLink] = {}
    for series_id, members in groups.items():
        if not 1 <= len(members) <= MAX_MEMBERS:
            continue
        try:
            out.update(_linked(series_id, list(members), rules.get(series_id), user_tz))
        except ModelError as err:
            _LOGGER.info("vtiger series %s left as single events: %s", series_id, err)
    return out


def _most_common(events: Sequence[Event], key: Any) -> Event:
    counts = Counter(key(e) for e in events)
    best = max(counts.values())
    return next(e for e in events if counts[key(e)] == best)


def _wall(e: Event, tz: str) -> tuple[Any, ...]:
    start, end = e.when.start, e.when.end
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        assert isinstance(end, date)
        return ("day", (end - start).days)
    return (start.astimezone(zone(tz)).time(), end - start)


def _linked(
    series_id: str, members: list[Member], row: RuleRow | None, user_tz: str
) -> dict[str, SeriesLink]:
    events = [m.event for m in members]
    if len({e.when.all_day for e in events}) != 1:
        return {}
    # The shared wall time and content: what most occurrences hold (an edit of one
    # occurrence is the exception, not the rule).
    timing = _most_common(events, lambda e: _wall(e, user_tz))
    tz = _series_zone([e for e in events if _wall(e, user_tz) == _wall(timing, user_tz)], user_tz)
    content = _most_common(events, _timeless)
    whole = (
        len({_timeless(e) for e in events}) == 1 and len({_wall(e, user_tz) for e in events}) == 1
    )
    dates = sorted(_local_date(e, tz) for e in events)
    first = row.recurringdate if row is not None else dates[0]
    first = min(first, dates[0])
    line = _row_line(row, first, dates[-1]) if row is not None else None
    if line is None:
        label = str(members[0].record.get("recurringtype") or "")
        line = _guess_rule(label, sorted(set(dates)))
    if line is None:
        return {}
    placed = _expand(line, first, MAX_MEMBERS + 1)
    if placed[0] != first:
        return {}  # the first date is not one the rule makes
    template = _template(content.with_(when=timing.when), first, tz)
    taken: dict[date, Member] = {}
    for m in members:
        day = _local_date(m.event, tz)
        if day not in placed or day in taken:
            return {}  # an occurrence the rule does not place: not certain
        taken[day] = m
    lines = [line]
    for day in placed:
        if day not in taken:
            start = _placed(template, day, tz)
            lines.append(_exdate(start, tz))
    pairs = [(taken[d], _placed(template, d, tz)) for d in sorted(taken)]
    return _link(series_id, template, lines, pairs, whole)


def _exdate(start: datetime | date, tz: str) -> str:
    if not isinstance(start, datetime):
        return f"EXDATE;VALUE=DATE:{start.strftime('%Y%m%d')}"
    local = start.astimezone(zone(tz))
    return f"EXDATE;TZID={tz}:{local.strftime('%Y%m%dT%H%M%S')}"


__all__ = ["SAME_SAVE", "SERIES_LABELS", "Member", "RuleRow", "from_links", "from_records"]
