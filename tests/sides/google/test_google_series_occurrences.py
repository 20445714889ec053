"""Occurrences of a CRM series (`Event.series`) written as instances of one recurring event,
against the Google emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.model import Event, Recurrence, SeriesLink, When
from tests.sides.google.emulated import Google

FIRST = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def occurrence(n: int, count: int, fresh: bool, title: str = "stand-up") -> Event:
    """Return the n-th (0-based) occurrence of a daily series of `count`."""
    rule = Recurrence((f"RRULE:FREQ=DAILY;COUNT={count}",))
    template = Event("stand-up", When(FIRST, FIRST + timedelta(minutes=30), "Europe/Rome"))
    start = FIRST + timedelta(days=n)
    link = SeriesLink(
        "18x1",
        rule,
        template.with_(recurrence=rule),
        start,
        tuple(f"18x{i + 1}" for i in range(count)),
        fresh=fresh,
        key="c.18x1",
    )
    return Event(title, When(start, start + timedelta(minutes=30), "Europe/Rome"), series=link)


def test_occurrences_join_one_recurring_event(google: Google) -> None:
    side = google.calendar()
    first = side.create(occurrence(0, 3, fresh=True), "c.18x1")
    master = side.series_event_id("18x1")
    assert first.id == f"{master}_20260406T080000Z"
    third = side.create(occurrence(2, 3, fresh=True, title="demo"), "c.18x3")
    assert third.id == f"{master}_20260408T080000Z" and third.item.title == "demo"
    # Listed as one series: the recurring event (no link key of its own) holding the one
    # exception; the exception's own id is no item (it reads as its series').
    (listed,) = side.changes(None).items
    assert (listed.id, listed.key) == (master, None)
    assert [o.event.title for o in listed.item.overrides if o.event] == ["demo"]
    assert side.sibling("primary").get(third.id) is None
    assert google.raw("GET", f"/calendar/v3/calendars/primary/events/{master}").json()[
        "recurrence"
    ] == ["RRULE:FREQ=DAILY;COUNT=3"]


def test_an_occurrence_added_to_the_series_extends_its_rule(google: Google) -> None:
    side = google.calendar()
    side.create(occurrence(0, 3, fresh=True), "c.18x1")
    fourth = side.create(occurrence(3, 4, fresh=False), "c.18x4")
    master = side.series_event_id("18x1")
    assert fourth.id == f"{master}_20260409T080000Z"
    doc = google.raw("GET", f"/calendar/v3/calendars/primary/events/{master}").json()
    assert doc["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=4"]


def test_without_a_recurring_event_a_linked_series_stays_single(google: Google) -> None:
    side = google.calendar()
    lone = side.create(occurrence(1, 3, fresh=False), "c.18x2")
    assert lone.id == side.event_id("c.18x2") and lone.key == "c.18x2"


def test_instances_read_as_copies_of_crm_occurrences(google: Google) -> None:
    side = google.calendar(single_events=True)
    side.create(occurrence(0, 2, fresh=True), "c.18x1")
    keys = sorted(str(r.key) for r in side.changes(None).items)
    assert keys == ["c.18x1@20260406T080000Z", "c.18x1@20260407T080000Z"]
