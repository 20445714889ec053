"""Domain model rules: UTC instants with their zone, all-day dates, the content hash."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.model import (
    FIRST_DAY,
    LAST_DAY,
    Attendee,
    Event,
    ModelError,
    Reminder,
    Task,
    When,
    as_dict,
    content_hash,
    from_dict,
)
from tests.sides.google.test_google_mapping import events as mapping_events
from tests.sides.google.test_google_mapping import tasks as mapping_tasks


def test_timed_when_is_stored_in_utc_and_keeps_its_zone() -> None:
    w = When.timed(datetime(2026, 3, 29, 9, 0), datetime(2026, 3, 29, 10, 0), "Europe/Rome")
    assert w.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # CEST, UTC+2 after the switch
    assert w.tz == "Europe/Rome"
    assert w.local_start().hour == 9


def test_all_day_end_is_exclusive_and_must_follow_start() -> None:
    assert When.dates(date(2026, 1, 1), date(2026, 1, 2)).all_day
    with pytest.raises(ModelError):
        When.dates(date(2026, 1, 1), date(2026, 1, 1))


def test_unknown_zone_and_mixed_forms_are_refused() -> None:
    with pytest.raises(ModelError, match="unknown time zone"):
        When.timed(datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10), "Mars/Olympus")
    with pytest.raises(ModelError):
        When(date(2026, 1, 1), datetime(2026, 1, 1, 10, tzinfo=UTC))


def test_hash_ignores_order_metadata_and_named_fields() -> None:
    w = When.timed(datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10))
    a = Event("x", w, reminders=(Reminder(10), Reminder(30)), attendees=(Attendee("a@x.org"),))
    b = a.with_(reminders=(Reminder(30), Reminder(10)), updated=datetime.now(UTC))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a.with_(title="y"))
    assert content_hash(a, ignore={"attendees"}) == content_hash(
        a.with_(attendees=()), ignore={"attendees"}
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: When.dates(date(9999, 12, 31), date(9999, 12, 31)),
        lambda: When.dates(date(9999, 12, 30), date(9999, 12, 31)),
        lambda: When.dates(date(1, 1, 1), date(1, 1, 2)),
        lambda: When.timed(datetime(9999, 12, 31, 22), datetime(9999, 12, 31, 23), "Asia/Tokyo"),
        lambda: When.timed(datetime(1, 1, 1, 0), datetime(1, 1, 1, 1), "America/Los_Angeles"),
        lambda: Task("far", due=date(9999, 12, 31)),
        lambda: Task("early", due=date(1, 1, 1)),
    ],
    ids=[
        "all-day-9999",
        "all-day-end-9999",
        "all-day-0001",
        "timed-9999",
        "timed-0001",
        "task-9999",
        "task-0001",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused(make: Callable[[], object]) -> None:
    """Year 1 or 9999 cannot be moved into every zone or given an exclusive end: ModelError
    (which sides report as an unreadable item), never OverflowError later in a round."""
    with pytest.raises(ModelError, match="outside"):
        make()


def test_the_last_accepted_days_survive_any_zone_and_an_exclusive_end() -> None:
    last = When.dates(LAST_DAY - timedelta(days=1), LAST_DAY, "Pacific/Kiritimati")
    assert last.start_in("Pacific/Kiritimati") and last.start_in("Etc/GMT+12")
    first = When.timed(
        datetime.combine(FIRST_DAY, datetime.min.time()),
        datetime.combine(FIRST_DAY, datetime.min.time()) + timedelta(hours=1),
        "Pacific/Kiritimati",
    )
    assert first.start_in("Etc/GMT+12").year == 1


@settings(max_examples=200)
@given(st.one_of(mapping_events, mapping_tasks))
def test_from_dict_reads_back_what_as_dict_wrote(item: Event | Task) -> None:
    """The state store keeps Google's copy as `as_dict`: reading it back gives the same content."""
    back = from_dict(json.loads(json.dumps(as_dict(item))))
    assert content_hash(back) == content_hash(item)
    assert type(back) is type(item) and back.updated == item.updated
