"""Event/Task <-> Google JSON mapping: round trips, time zones, all-day, owned fields."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.model import (
    Attendee,
    Event,
    EventStatus,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Transparency,
    Visibility,
    When,
)
from calsync.sides.google.mapping import (
    MAX_REMINDERS,
    choose_reminders,
    event_from_google,
    event_id_for,
    event_to_google,
    key_property,
    task_from_google,
    task_to_google,
)

ZONES = [
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/St_Johns",
]
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
instants = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2090, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)


@st.composite
def whens(draw: st.DrawFn) -> When:
    tz = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        first = draw(st.dates(min_value=date(1980, 1, 1), max_value=date(2090, 1, 1)))
        return When.dates(first, first + timedelta(days=draw(st.integers(1, 30))), tz)
    start = draw(instants)
    return When(start, start + timedelta(minutes=draw(st.integers(0, 60 * 24 * 3))), tz)


reminders = st.lists(
    st.builds(Reminder, st.integers(0, 40320), st.sampled_from(["popup", "email"])),
    max_size=MAX_REMINDERS,
    unique=True,
).map(tuple)
attendees = st.lists(
    st.builds(
        Attendee,
        st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.org", fullmatch=True),
        st.text(st.characters(min_codepoint=65, max_codepoint=122), max_size=10),
        st.sampled_from(["needsAction", "declined", "tentative", "accepted"]),
    ),
    max_size=4,
    unique_by=lambda a: a.email,
).map(tuple)
recurrences = st.none() | st.sampled_from(
    [
        Recurrence(("RRULE:FREQ=WEEKLY;BYDAY=MO",)),
        Recurrence(("RRULE:FREQ=DAILY;COUNT=5", "EXDATE:20260105T090000Z")),
    ]
)
events = st.builds(
    Event,
    title=text,
    when=whens(),
    description=text,
    location=text,
    visibility=st.sampled_from(Visibility),
    status=st.sampled_from(EventStatus),
    transparency=st.sampled_from(Transparency),
    reminders=reminders,
    attendees=attendees,
    recurrence=recurrences,
)


def through_google(event: Event, **kw: object) -> tuple[Event, str | None]:
    """Send `event` through JSON text, as the wire does, and read it back."""
    body = json.loads(json.dumps(event_to_google(event, key="crm:1", namespace="acme")))
    return event_from_google(body, namespace="acme", **kw)  # type: ignore[arg-type]


@given(events)
@settings(max_examples=120, deadline=None)
def test_event_round_trip_is_exact(event: Event) -> None:
    back, key = through_google(event)
    assert back == event
    assert key == "crm:1"


@pytest.fixture(params=["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def process_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_all_day_dates_do_not_depend_on_process_zone(process_tz: str) -> None:
    """All-day items stay dates with an exclusive end, whatever zone the server runs in."""
    event = Event("Holiday", When.dates(date(2026, 12, 31), date(2027, 1, 1), "Europe/Rome"))
    body = event_to_google(event)
    assert body["start"] == {"date": "2026-12-31", "timeZone": "Europe/Rome"}
    assert body["end"]["date"] == "2027-01-01"
    assert "dateTime" not in body["start"]
    back, _ = event_from_google(body)
    assert back.when == event.when and back.when.all_day


def test_new_york_event_read_for_rome_user_keeps_the_instant() -> None:
    """Google renders times in the asked zone; the instant and the event's own zone survive."""
    doc = {
        "id": "abcde",
        "summary": "Call",
        "status": "confirmed",
        "start": {"dateTime": "2026-03-20T15:00:00+01:00", "timeZone": "America/New_York"},
        "end": {"dateTime": "2026-03-20T16:00:00+01:00", "timeZone": "America/New_York"},
    }
    event, key = event_from_google(doc, default_tz="Europe/Rome")
    assert event.when.start == datetime(2026, 3, 20, 14, 0, tzinfo=UTC)
    assert event.when.tz == "America/New_York"
    assert event.when.local_start().hour == 10  # EDT since 8 March
    assert key is None
    out = event_to_google(event)
    assert out["start"] == {"dateTime": "2026-03-20T10:00:00-04:00", "timeZone": "America/New_York"}


def test_event_without_zone_uses_the_calendar_zone() -> None:
    doc = {
        "start": {"dateTime": "2026-01-10T09:00:00Z"},
        "end": {"dateTime": "2026-01-10T10:00:00Z"},
    }
    event, _ = event_from_google(doc, default_tz="Europe/Rome")
    assert event.when.tz == "Europe/Rome"
    event, _ = event_from_google(doc, default_tz="Not/AZone")
    assert event.when.tz == "UTC"


def test_patch_body_nulls_the_other_time_form_and_absent_recurrence() -> None:
    timed = Event("x", When.timed(datetime(2026, 5, 1, 9), datetime(2026, 5, 1, 10), "Europe/Rome"))
    body = event_to_google(timed, patch=True, attendees=False)
    assert body["start"] == {
        "date": None,
        "dateTime": "2026-05-01T09:00:00+02:00",
        "timeZone": "Europe/Rome",
    }
    assert body["recurrence"] is None
    assert "attendees" not in body and "extendedProperties" not in body and "id" not in body
    all_day = timed.with_(when=When.dates(date(2026, 5, 1), date(2026, 5, 2)))
    body = event_to_google(all_day, patch=True)
    assert body["end"] == {"date": "2026-05-02", "dateTime": None, "timeZone": "UTC"}
    assert body["attendees"] == []


def test_visibility_and_transparency_words() -> None:
    base = {"start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}
    for word, vis in [
        ("default", Visibility.PUBLIC),
        ("public", Visibility.PUBLIC),
        ("private", Visibility.PRIVATE),
        ("confidential", Visibility.PRIVATE),
        (None, Visibility.PUBLIC),
    ]:
        assert event_from_google({**base, "visibility": word})[0].visibility is vis
    assert event_from_google({**base, "transparency": "transparent"})[0].transparency is (
        Transparency.FREE
    )
    event = Event(
        "x",
        When.dates(date(2026, 1, 1), date(2026, 1, 2)),
        visibility=Visibility.PRIVATE,
        transparency=Transparency.FREE,
    )
    body = event_to_google(event)
    assert (body["visibility"], body["transparency"]) == ("private", "transparent")
    assert event_to_google(event.with_(visibility=Visibility.PUBLIC))["visibility"] == "default"


def test_more_than_five_reminders_drop_deterministically(caplog: pytest.LogCaptureFixture) -> None:
    many = [Reminder(m) for m in (60, 5, 1440, 10, 30, 15, 120)]
    kept = choose_reminders(many)
    assert kept == [Reminder(m) for m in (60, 5, 10, 30, 15)]
    assert set(choose_reminders(list(reversed(many)))) == set(kept)
    assert "dropping" in caplog.text
    event = Event("x", When.dates(date(2026, 1, 1), date(2026, 1, 2)), reminders=tuple(many))
    assert len(event_to_google(event)["reminders"]["overrides"]) == MAX_REMINDERS


def test_use_default_reminders_read_as_calendar_defaults() -> None:
    doc = {
        "start": {"date": "2026-01-01"},
        "end": {"date": "2026-01-02"},
        "reminders": {"useDefault": True},
    }
    assert event_from_google(doc)[0].reminders == ()
    got = event_from_google(doc, default_reminders=[Reminder(10)])[0].reminders
    assert got == (Reminder(10),)


def test_ids_are_base32hex_stable_and_namespaced() -> None:
    a = event_id_for("crm:42", "acme")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", a)
    assert a == event_id_for("crm:42", "acme")
    assert a != event_id_for("crm:42", "other") != event_id_for("crm:43", "acme")
    assert key_property("acme") != key_property("other")
    assert len(key_property("a" * 500)) <= 44


def test_key_is_read_only_from_our_namespace() -> None:
    doc = {
        "start": {"date": "2026-01-01"},
        "end": {"date": "2026-01-02"},
        "extendedProperties": {"private": {key_property("other"): "k1", "app": "x"}},
    }
    assert event_from_google(doc, namespace="acme")[1] is None
    assert event_from_google(doc, namespace="other")[1] == "k1"


tasks = st.builds(
    Task,
    title=st.text(max_size=30),
    notes=st.text(max_size=60),
    due=st.none() | st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    status=st.sampled_from(TaskStatus),
)


@given(tasks)
def test_task_round_trip(task: Task) -> None:
    assert task_from_google(json.loads(json.dumps(task_to_google(task)))) == task


def test_task_due_is_a_date_and_reopen_clears_completion() -> None:
    task = Task("Call back", due=date(2026, 2, 28))
    assert task_to_google(task)["due"] == "2026-02-28T00:00:00.000Z"
    assert "completed" not in task_to_google(task)
    body = task_to_google(task.with_(due=None), patch=True)
    assert body["due"] is None and body["completed"] is None
    assert body["status"] == "needsAction"
    done = task_to_google(task.with_(status=TaskStatus.DONE), patch=True)
    assert done["status"] == "completed" and "completed" not in done
    # A time of day that Google dropped reads as the UTC date.
    assert task_from_google({"due": "2026-02-28T00:00:00.000Z"}).due == date(2026, 2, 28)


def test_task_text_limits_are_enforced_by_cutting() -> None:
    body = task_to_google(Task("t" * 2000, notes="n" * 9000))
    assert len(body["title"]) == 1024 and len(body["notes"]) == 8192
