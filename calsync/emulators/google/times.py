"""Parsing and formatting of Google's date and date-time strings; event times as UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.parser import isoparse


def parse_date(value: str) -> date:
    """Parse `YYYY-MM-DD`; raise ValueError otherwise."""
    return date.fromisoformat(value[:10]) if len(value) == 10 else date.fromisoformat(value)


def parse_dt(value: str, default_zone: tzinfo | None = None) -> datetime:
    """Parse an RFC3339 date-time; a value without offset takes `default_zone` (else ValueError)."""
    dt = isoparse(value)
    if dt.tzinfo is None:
        if default_zone is None:
            raise ValueError("missing offset")
        dt = dt.replace(tzinfo=default_zone)
    return dt


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`; raise ValueError for unknown names."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(name) from None


def format_dt(dt: datetime) -> str:
    """Format an aware datetime like Google: seconds precision, `Z` for UTC."""
    text = dt.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def when_utc(when: dict[str, str], cal_zone: str) -> datetime:
    """Return the UTC instant of a start/end (`date` = midnight in the calendar's zone)."""
    if "date" in when:
        d = parse_date(when["date"])
        return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(cal_zone)).astimezone(UTC)
    tz = ZoneInfo(when["timeZone"]) if when.get("timeZone") else None
    return parse_dt(when["dateTime"], tz).astimezone(UTC)


def utc_key(dt: datetime) -> str:
    """Return a sortable UTC string for an instant."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
