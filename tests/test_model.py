"""Domain model rules: UTC instants with their zone, all-day dates, the content hash."""

from datetime import UTC, date, datetime

import pytest

from calsync.model import Attendee, Event, ModelError, Reminder, When, content_hash


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
