"""Recurrence maths for sides that hold series: which starts a rule makes, through dateutil.

A series expands in its own zone (a 09:00 Europe/Rome meeting stays at 09:00 across DST), and
an occurrence is named by its original start: a UTC instant for a timed series, a date for an
all-day one (RFC 5545 RECURRENCE-ID). Nothing here computes dates by hand.

Public API: `occurs(event, original)`, `occurrences(event, first, last)`,
`occurrence_at(event, original)`, `original_of(event, start)`, `kept(event, overrides)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrule, rruleset, rrulestr

from calsync.model import Event, ModelError, Override, When, content_hash, zone

_LIMIT = 20000
"""Most occurrences walked to answer one question (a rule with no end is cut there)."""


def _fix_until(value: str, tz: str | None) -> str:
    """Make UNTIL comparable with DTSTART: UTC for timed series, a bare date for all-day ones."""

    def repl(m: re.Match[str]) -> str:
        raw = m.group(1)
        if tz is None:
            return "UNTIL=" + raw[:8]
        if raw.endswith("Z"):
            return "UNTIL=" + raw
        if len(raw) == 8:
            local = datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
        else:
            local = datetime.strptime(raw, "%Y%m%dT%H%M%S")
        return "UNTIL=" + local.replace(tzinfo=zone(tz)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return re.sub(r"UNTIL=([0-9TZ]+)", repl, value, flags=re.IGNORECASE)


def _values(head: str, value: str, tz: str | None, at: datetime) -> list[datetime]:
    params = dict(p.partition("=")[::2] for p in head.split(";")[1:])
    out = []
    for raw in filter(None, (v.strip() for v in value.split(","))):
        if len(raw) == 8:
            d = datetime.strptime(raw, "%Y%m%d")
            out.append(d.replace(hour=at.hour, minute=at.minute, tzinfo=at.tzinfo))
            continue
        d = datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
        if tz is None:
            out.append(d.replace(hour=0, minute=0, second=0))
        elif raw.endswith("Z"):
            out.append(d.replace(tzinfo=UTC).astimezone(zone(tz)))
        else:
            out.append(d.replace(tzinfo=zone(params.get("TZID", tz))).astimezone(zone(tz)))
    return out


def _rules(event: Event) -> tuple[rruleset, bool]:
    """Return the event's rule set (DTSTART in its zone, naive for all-day) and whether timed."""
    if event.recurrence is None:
        raise ModelError("not a series")
    timed = not event.when.all_day
    tz = event.when.tz if timed else None
    start = event.when.local_start()
    dtstart = start if timed else start.replace(tzinfo=None)
    rset = rruleset()
    try:
        for line in event.recurrence.lines:
            head, _, value = line.partition(":")
            name = head.split(";", 1)[0].upper()
            if name in ("RRULE", "EXRULE"):
                rule = rrulestr(_fix_until(value, tz), dtstart=dtstart)
                assert isinstance(rule, rrule)
                (rset.rrule if name == "RRULE" else rset.exrule)(rule)
            elif name == "RDATE":
                for d in _values(head, value, tz, dtstart):
                    rset.rdate(d)
            elif name == "EXDATE":
                for d in _values(head, value, tz, dtstart):
                    rset.exdate(d)
    except (ValueError, TypeError, AssertionError, KeyError) as err:
        raise ModelError(
            f"recurrence {event.recurrence.lines!r} cannot be expanded: {err}"
        ) from err
    rset.rdate(dtstart)  # the event's own start is always its first occurrence
    return rset, timed


def _as_original(value: datetime, timed: bool) -> datetime | date:
    return value.astimezone(UTC) if timed else value.date()


def _starts(event: Event) -> Iterator[datetime | date]:
    rset, timed = _rules(event)
    for n, occ in enumerate(rset):
        if n >= _LIMIT:
            return
        yield _as_original(occ, timed)


def occurs(event: Event, original: datetime | date) -> bool:
    """Return True when the series' rule makes an occurrence at `original` (its original start).

    A rule that cannot be expanded answers True: an override is never dropped on a guess.
    """
    try:
        for start in _starts(event):
            if start == original:
                return True
            if _key(start) > _key(original):
                return False
    except ModelError:
        return True
    return False


def _key(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def original_of(event: Event, start: datetime | date) -> datetime | date:
    """Return `start` in the form an original start of `event` takes (UTC instant or date)."""
    if event.when.all_day:
        return start.date() if isinstance(start, datetime) else start
    if isinstance(start, datetime):
        return start.astimezone(UTC)
    return datetime.combine(start, event.when.local_start().timetz()).astimezone(UTC)


def occurrences(event: Event, first: datetime, last: datetime) -> list[Event]:
    """Return the occurrences of `event` starting in [first, last), overrides applied.

    A moved occurrence shows where it now is, a cancelled one not at all; an override whose
    original start the rule does not make is left out. A single event is its one occurrence.
    """
    if event.recurrence is None:
        return [event] if first <= _key(event.when.start) < last else []
    by_start = {o.original_start: o for o in event.overrides}
    out = []
    for original in _starts(event):
        if _key(original) >= last + timedelta(days=366):
            break  # a moved occurrence may come from far; one year back is enough
        override = by_start.get(original)
        if override is not None:
            if override.event is not None and first <= _key(override.event.when.start) < last:
                out.append(override.event)
            continue
        if not first <= _key(original) < last:
            continue
        out.append(occurrence_at(event, original))
    return sorted(out, key=lambda e: _key(e.when.start))


def kept(event: Event, overrides: Iterable[Override]) -> tuple[Override, ...]:
    """Return the overrides a side reports for the series `event`, one per original start,
    in order: those the rule makes (a split or a rule change leaves others behind), and that
    change something (an occurrence edited back to what the rule makes is no exception)."""
    found: dict[str, Override] = {}
    for o in overrides:
        if not occurs(event, o.original_start):
            continue
        if o.event is not None and content_hash(o.event) == content_hash(
            occurrence_at(event, o.original_start)
        ):
            continue
        found[o.ident()] = o
    return tuple(found[k] for k in sorted(found))


def occurrence_at(event: Event, original: datetime | date) -> Event:
    """Return the occurrence of the series `event` at `original` as its rule makes it."""
    return event.with_(
        when=_when_at(event, original, _length(event)), recurrence=None, overrides=()
    )


def _length(event: Event) -> timedelta:
    when = event.when
    if when.all_day:
        assert isinstance(when.start, date) and isinstance(when.end, date)
        return when.end - when.start
    z = zone(when.tz)
    assert isinstance(when.start, datetime) and isinstance(when.end, datetime)
    return when.end.astimezone(z).replace(tzinfo=None) - when.start.astimezone(z).replace(
        tzinfo=None
    )


def _when_at(event: Event, original: datetime | date, length: timedelta) -> When:
    tz = event.when.tz
    if isinstance(original, datetime):
        local = original.astimezone(zone(tz))
        end = (local.replace(tzinfo=None) + length).replace(tzinfo=zone(tz))
        return When(local, end, tz)
    return When.dates(original, original + length, tz)
