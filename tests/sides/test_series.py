"""The recurrence maths of sides that hold series (calsync.sides.series) against Google's.

Occurrences are named by their original start, so both sides must place them alike: in the
series' own zone (09:00 stays 09:00 across DST), as the Google emulator places its instances.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.emulators.google.recurrence import expand
from calsync.model import Event, Override, Recurrence, When
from calsync.sides.google.mapping import event_to_google
from calsync.sides.google.series import instance_id
from calsync.sides.series import kept, occurrence_at, occurrences, occurs, original_of

LO, HI = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

rules = st.sampled_from(
    [
        "RRULE:FREQ=DAILY;COUNT=9",
        "RRULE:FREQ=WEEKLY;COUNT=12",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6",
        "RRULE:FREQ=WEEKLY;UNTIL=20261231T235959Z",
        "RRULE:FREQ=DAILY;INTERVAL=3;UNTIL=20261120",
    ]
)
zones = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])


def series(rule: str, tz: str, day: date, hour: int, all_day: bool) -> Event:
    if all_day:
        when = When.dates(day, day + timedelta(days=1), tz)
    else:
        start = datetime(day.year, day.month, day.day, hour)
        when = When.timed(start, start + timedelta(minutes=90), tz)
    return Event("s", when, recurrence=Recurrence((rule,)))


def days(when: When) -> int:
    """Return how many days an all-day When covers."""
    assert not isinstance(when.start, datetime) and not isinstance(when.end, datetime)
    return (when.end - when.start).days


@settings(max_examples=60, deadline=None)
@given(
    rule=rules,
    tz=zones,
    day=st.dates(date(2026, 1, 1), date(2026, 11, 1)),
    hour=st.integers(0, 23),
    all_day=st.booleans(),
)
def test_occurrences_are_googles_instances(
    rule: str, tz: str, day: date, hour: int, all_day: bool
) -> None:
    """Every occurrence calsync computes is an instance Google makes, under the same id,
    and keeps the series' wall time in its zone."""
    event = series(rule, tz, day, hour, all_day)
    body = event_to_google(event, event_id="master00")
    google = expand(body, tz, None, datetime(2027, 6, 1, tzinfo=UTC))
    ours = occurrences(event, LO, datetime(2027, 6, 1, tzinfo=UTC))
    assert [instance_id("master00", original_of(event, e.when.start)) for e in ours] == [
        f"master00_{o.suffix}" for o in google
    ]
    for e in ours:
        assert occurs(event, original_of(event, e.when.start))
        if 4 <= hour <= 22:  # a wall time that exists every day (DST gaps are at night)
            assert e.when.local_start().time() == event.when.local_start().time()
        if all_day:
            assert days(e.when) == days(event.when)


def test_weekly_nine_oclock_in_berlin_over_both_dst_switches() -> None:
    """A weekly 09:00 Europe/Berlin series from March to November: 09:00 local every week,
    an hour apart in UTC across the switches; a 09:00 UTC start is no occurrence."""
    event = series("RRULE:FREQ=WEEKLY;COUNT=40", "Europe/Berlin", date(2026, 3, 2), 9, False)
    got = occurrences(event, LO, HI)
    assert len(got) == 40
    assert {e.when.local_start().hour for e in got} == {9}
    assert {e.when.start.hour for e in got if isinstance(e.when.start, datetime)} == {7, 8}
    assert not occurs(event, datetime(2026, 7, 6, 9, tzinfo=UTC))
    assert occurs(event, datetime(2026, 7, 6, 7, tzinfo=UTC))


def test_kept_drops_exceptions_the_rule_does_not_make_and_those_that_change_nothing() -> None:
    event = series("RRULE:FREQ=DAILY;COUNT=3", "Europe/Rome", date(2026, 5, 4), 9, False)
    second = original_of(event, date(2026, 5, 5))
    third = original_of(event, date(2026, 5, 6))
    after = original_of(event, date(2026, 5, 9))
    edited = Override(second, occurrence_at(event, second).with_(title="edited"))
    same = Override(third, occurrence_at(event, third))
    assert kept(event, [Override(after), same, edited]) == (edited,)
