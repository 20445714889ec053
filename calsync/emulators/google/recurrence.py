"""Expansion of RFC 5545 recurrence lines (RRULE, EXRULE, RDATE, EXDATE) into occurrences,
in the series' own time zone so a 09:00 meeting stays at 09:00 local across DST switches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rruleset, rrulestr

from calsync.emulators.google.errors import invalid
from calsync.emulators.google.store import Json
from calsync.emulators.google.times import format_dt, parse_date, parse_dt

HARD_LIMIT = 5000
"""Most occurrences generated per series and call, whatever the window."""


@dataclass
class Occurrence:
    """One occurrence of a series: its instance id suffix and start/end as Google writes them."""

    suffix: str
    start: Json
    end: Json
    start_utc: datetime
    end_utc: datetime


def _bad_rule() -> Exception:
    return invalid("Invalid recurrence rule.", "recurrence")


def _split(line: str) -> tuple[str, dict[str, str], str]:
    head, sep, value = line.partition(":")
    if not sep:
        raise _bad_rule()
    name, *params = head.split(";")
    pdict = {}
    for p in params:
        k, _, v = p.partition("=")
        pdict[k.upper()] = v
    return name.upper().strip(), pdict, value.strip()


def _fix_until(value: str, zone: ZoneInfo | None) -> str:
    """Make UNTIL comparable with DTSTART: UTC for timed series, a bare date for all-day ones."""

    def repl(m: re.Match[str]) -> str:
        raw = m.group(1)
        if zone is None:
            return "UNTIL=" + raw[:8]
        if raw.endswith("Z"):
            return "UNTIL=" + raw
        if len(raw) == 8:
            local = datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
        else:
            local = datetime.strptime(raw, "%Y%m%dT%H%M%S")
        utc = local.replace(tzinfo=zone).astimezone(UTC)
        return "UNTIL=" + utc.strftime("%Y%m%dT%H%M%SZ")

    return re.sub(r"UNTIL=([0-9TZ]+)", repl, value, flags=re.IGNORECASE)


def _dates(
    params: dict[str, str], value: str, zone: ZoneInfo | None, at: datetime
) -> list[datetime]:
    """Parse an RDATE/EXDATE value list into datetimes comparable with the rule's."""
    out = []
    for raw in value.split(","):
        raw = raw.strip()
        if not raw:
            continue
        try:
            if len(raw) == 8:
                d = datetime.strptime(raw, "%Y%m%d")
                out.append(d.replace(hour=at.hour, minute=at.minute, tzinfo=zone) if zone else d)
                continue
            d = datetime.strptime(raw.rstrip("Z"), "%Y%m%dT%H%M%S")
        except ValueError:
            raise _bad_rule() from None
        if zone is None:
            out.append(d.replace(hour=0, minute=0, second=0))
        elif raw.endswith("Z"):
            out.append(d.replace(tzinfo=UTC).astimezone(zone))
        else:
            src = ZoneInfo(params["TZID"]) if "TZID" in params else zone
            out.append(d.replace(tzinfo=src).astimezone(zone))
    return out


def build_set(lines: list[str], dtstart: datetime, zone: ZoneInfo | None) -> rruleset:
    """Return the rruleset of a series starting at `dtstart` (aware in `zone`, or naive)."""
    rset = rruleset()
    has_rule = False
    for line in lines:
        name, params, value = _split(line)
        try:
            if name in ("RRULE", "EXRULE"):
                rule = rrulestr(_fix_until(value, zone), dtstart=dtstart)
                if not isinstance(rule, rrule):
                    raise _bad_rule()
                if name == "RRULE":
                    rset.rrule(rule)
                    has_rule = True
                else:
                    rset.exrule(rule)
            elif name == "RDATE":
                for d in _dates(params, value, zone, dtstart):
                    rset.rdate(d)
                    has_rule = True
            elif name == "EXDATE":
                for d in _dates(params, value, zone, dtstart):
                    rset.exdate(d)
            else:
                raise _bad_rule()
        except (ValueError, TypeError, ZoneInfoNotFoundError):
            raise _bad_rule() from None
    if not has_rule:
        raise _bad_rule()
    # dateutil's set includes DTSTART only when a rule yields it; Google always keeps the first
    # occurrence the event's own start describes.
    rset.rdate(dtstart)
    return rset


def expand(
    master: Json,
    cal_zone: str,
    after: datetime | None,
    before: datetime | None,
    limit: int = HARD_LIMIT,
) -> list[Occurrence]:
    """Return the occurrences of `master` overlapping (after, before), both UTC and optional."""
    start, end = master["start"], master["end"]
    lines = list(master.get("recurrence") or [])
    out: list[Occurrence] = []
    if "date" in start:
        d0, d1 = parse_date(start["date"]), parse_date(end["date"])
        length = d1 - d0
        czone = ZoneInfo(cal_zone)
        rset = build_set(lines, datetime(d0.year, d0.month, d0.day), None)
        for occ in rset:
            if len(out) >= limit:
                break
            day: date = occ.date()
            s_utc = datetime(day.year, day.month, day.day, tzinfo=czone).astimezone(UTC)
            e_day = day + length
            e_utc = datetime(e_day.year, e_day.month, e_day.day, tzinfo=czone).astimezone(UTC)
            if before is not None and s_utc >= before:
                break
            if after is not None and e_utc <= after:
                continue
            out.append(
                Occurrence(
                    day.strftime("%Y%m%d"),
                    {"date": day.isoformat()},
                    {"date": e_day.isoformat()},
                    s_utc,
                    e_utc,
                )
            )
        return out
    zone = ZoneInfo(start["timeZone"])
    s0 = parse_dt(start["dateTime"], zone).astimezone(zone)
    e0 = parse_dt(end["dateTime"], zone).astimezone(zone)
    length_wall = e0.replace(tzinfo=None) - s0.replace(tzinfo=None)
    rset = build_set(lines, s0, zone)
    for occ in rset:
        if len(out) >= limit:
            break
        local = occ.astimezone(zone)
        s_utc = local.astimezone(UTC)
        # Wall-clock length, so an 09:00-10:00 series stays 09:00-10:00 after a DST switch.
        e_local = (local.replace(tzinfo=None) + length_wall).replace(tzinfo=zone)
        e_utc = e_local.astimezone(UTC)
        if before is not None and s_utc >= before:
            break
        if after is not None and e_utc <= after:
            continue
        st: Json = {"dateTime": format_dt(local), "timeZone": start["timeZone"]}
        en: Json = {
            "dateTime": format_dt(e_local),
            "timeZone": end.get("timeZone", start["timeZone"]),
        }
        out.append(Occurrence(s_utc.strftime("%Y%m%dT%H%M%SZ"), st, en, s_utc, e_utc))
    return out


def horizon(now: datetime) -> datetime:
    """Return how far an open-ended series is expanded when no timeMax bounds it."""
    return now + timedelta(days=2 * 366)
