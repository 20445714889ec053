"""Properties of the recurrence expansion: counts, wall-clock stability across DST, instance ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.emulators.google.recurrence import expand

ZONES = ["Europe/Rome", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=datetime(2024, 1, 1).date(), max_value=datetime(2027, 1, 1).date()),
    hour=st.integers(min_value=5, max_value=20),
    freq=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
    count=st.integers(min_value=1, max_value=30),
    minutes=st.integers(min_value=15, max_value=180),
)
def test_counted_series_keep_wall_clock(
    zone: str, day: object, hour: int, freq: str, count: int, minutes: int
) -> None:
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(f"{day}T{hour:02d}:30:00").replace(tzinfo=tz)
    end = start + timedelta(minutes=minutes)
    master = {
        "id": "master000",
        "start": {"dateTime": start.isoformat(), "timeZone": zone},
        "end": {"dateTime": end.replace(tzinfo=None).isoformat(), "timeZone": zone},
        "recurrence": [f"RRULE:FREQ={freq};COUNT={count}"],
    }
    occs = expand(master, "UTC", None, None)
    if freq != "MONTHLY" or start.day <= 28:
        assert len(occs) == count
    for occ in occs:
        local = datetime.fromisoformat(occ.start["dateTime"])
        assert (local.hour, local.minute) == (hour, 30)  # 05:00-20:00 never falls in a DST gap
        assert occ.suffix == occ.start_utc.strftime("%Y%m%dT%H%M%SZ")
        assert occ.start_utc == local.astimezone(UTC)
        wall = datetime.fromisoformat(occ.end["dateTime"]).replace(tzinfo=None)
        assert wall - local.replace(tzinfo=None) == timedelta(minutes=minutes)
    assert [o.start_utc for o in occs] == sorted(o.start_utc for o in occs)


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=2, max_value=20),
    skip=st.integers(min_value=1, max_value=19),
)
def test_exdate_removes_exactly_one_all_day_occurrence(count: int, skip: int) -> None:
    skip = min(skip, count - 1)
    first = datetime(2025, 3, 1)
    gone = (first + timedelta(days=skip)).strftime("%Y%m%d")
    master = {
        "id": "master000",
        "start": {"date": "2025-03-01"},
        "end": {"date": "2025-03-02"},
        "recurrence": [f"RRULE:FREQ=DAILY;COUNT={count}", f"EXDATE;VALUE=DATE:{gone}"],
    }
    occs = expand(master, "Europe/Rome", None, None)
    assert len(occs) == count - 1
    assert gone not in [o.suffix for o in occs]
    assert all(len(o.suffix) == 8 for o in occs)
