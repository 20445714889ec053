"""Events moved between the user's synced Google calendars stay one CRM event.

Google's `events.move` keeps the event's id and iCalUID and leaves a cancelled trace in the
source calendar; a delete in one calendar and a re-create in another keeps the iCalUID.
Either is followed as a move: the CRM keeps its one copy (never deleted and re-created), and
the link follows the event to its new calendar, whichever calendar's round sees it first.
An event moved to a calendar that is not synced has left the synced set: the CRM sees it
deleted, as any event deleted on Google.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from tests.scenarios.drivers import LocalDriver
from tests.scenarios.world import World


def soon(days: int) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


def body(summary: str, days: int) -> dict[str, Any]:
    w = soon(days)
    return {
        "summary": summary,
        "start": {"dateTime": w.start.isoformat()},
        "end": {"dateTime": w.end.isoformat()},
    }


def team(world: World, summary: str = "Team") -> str:
    made = world.control("POST", "calendars", json={"owner": world.g.email, "summary": summary})
    return str(made["id"])


def move(world: World, event_id: str, source: str, destination: str) -> dict[str, Any]:
    r = httpx.post(
        f"{world.google_url}/calendar/v3/calendars/{source}/events/{event_id}/move",
        params={"destination": destination},
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def crm_ids(world: World) -> dict[str, str]:
    return {r.item.title: r.id for r in world.crm.events(world.user)}


def settle(world: World) -> None:
    """A round succeeds, and the next one writes nothing on either side."""
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert world.google_writes() == []
    assert all(r.crm.writes == 0 and r.google.writes == 0 for r in rep.rounds)


def test_a_crm_event_moved_to_another_synced_calendar_keeps_its_one_crm_copy(
    world: World,
) -> None:
    """A CRM event lives in the first calendar; moved on Google to the second one (the
    source's round runs first and sees it cancelled), the CRM keeps the same record and the
    link follows: later edits travel between the CRM and the new calendar."""
    cal = team(world)
    world.prefs(calendars=("primary", cal))
    world.crm.add_event("alice", Event("customer visit", soon(2)))
    world.sync()
    (google,) = world.g.events()
    before = crm_ids(world)

    move(world, google["id"], "primary", cal)
    settle(world)
    assert crm_ids(world) == before
    assert world.g.events() == []
    assert [e["id"] for e in world.g.events(cal)] == [google["id"]]
    assert {p.scope for p in world.pairs()} == {cal}

    world.g.patch(google["id"], {"summary": "customer visit (moved)"}, cal=cal)
    world.sync()
    assert list(crm_ids(world).values()) == list(before.values())
    assert list(crm_ids(world)) == ["customer visit (moved)"]
    world.crm.edit_event("alice", before["customer visit"], location="their office")
    world.sync()
    assert world.g.get(google["id"], cal=cal)["location"] == "their office"
    settle(world)


def test_an_event_moved_into_an_earlier_calendar_is_followed_from_its_arrival(
    world: World,
) -> None:
    """A Google event of the second calendar moved into the first: the first calendar's round
    sees it arrive before the second's sees it leave; still one CRM copy, same record."""
    cal = team(world)
    world.prefs(calendars=("primary", cal))
    made = world.g.insert(body("team lunch", 3), cal=cal)
    world.sync()
    before = crm_ids(world)
    assert list(before) == ["team lunch"]

    move(world, made["id"], cal, "primary")
    world.g.patch(made["id"], {"location": "the new place"})
    settle(world)
    assert crm_ids(world) == before
    (event,) = [r.item for r in world.crm.events("alice")]
    assert event.location == "the new place"
    assert {p.scope for p in world.pairs()} == {"primary"}


def test_a_delete_and_re_create_with_the_same_ical_uid_is_a_move(world: World) -> None:
    """Deleted in the first calendar and imported into the second with its iCalUID (what a
    client without events.move does): one CRM copy, the same record."""
    cal = team(world)
    world.prefs(calendars=("primary", cal))
    made = world.g.insert(body("supplier call", 4))
    world.sync()
    before = crm_ids(world)

    world.g.delete(made["id"])
    r = httpx.post(
        f"{world.google_url}/calendar/v3/calendars/{cal}/events/import",
        json={**body("supplier call", 4), "iCalUID": made["iCalUID"]},
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    assert r.status_code == 200, r.text
    settle(world)
    assert crm_ids(world) == before
    assert [p.google_id for p in world.pairs()] == [r.json()["id"]]


def test_an_event_moved_to_a_calendar_that_is_not_synced_leaves_the_crm(world: World) -> None:
    """The user moved it out of what they sync: the CRM copy goes, as for a deletion."""
    private = team(world, "Private")
    made = world.g.insert(body("dentist", 5))
    world.sync()
    assert list(crm_ids(world)) == ["dentist"]
    move(world, made["id"], "primary", private)
    settle(world)
    assert crm_ids(world) == {}
    assert [e["summary"] for e in world.g.events(private)] == ["dentist"]


def test_a_series_moved_with_its_exception_stays_one_series(world: World) -> None:
    """A weekly Google series with one edited occurrence, moved to the second calendar: the
    CRM keeps the same records (one series with its exception in the embedded CRM, one
    record per occurrence in vtiger), linked to the new calendar."""
    cal = team(world)
    world.prefs(calendars=("primary", cal))
    first = soon(2)
    series = world.g.insert(
        {
            "summary": "weekly",
            "start": {"dateTime": first.start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {"dateTime": first.end.isoformat(), "timeZone": "Europe/Rome"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        }
    )
    assert isinstance(first.start, datetime)
    second = (first.start + timedelta(weeks=1)).strftime("%Y%m%dT%H%M%SZ")
    world.g.patch(f"{series['id']}_{second}", {"summary": "weekly (guest)"})
    world.sync()
    before = sorted((r.id, r.item.title) for r in world.crm.events("alice"))

    move(world, series["id"], "primary", cal)
    settle(world)
    assert sorted((r.id, r.item.title) for r in world.crm.events("alice")) == before
    assert {p.scope for p in world.pairs()} == {cal}
    if isinstance(world.crm, LocalDriver):
        (crm,) = world.crm.events("alice")
        (exc,) = crm.item.overrides
        assert exc.event is not None and exc.event.title == "weekly (guest)"


def test_one_event_shown_in_two_synced_calendars_is_one_crm_event(world: World) -> None:
    """The same event id in two synced calendars (a meeting in the user's calendar and in the
    organiser's shared one) is no move while the first still holds it: nothing is created a
    second time, and the link stays with the first calendar."""
    cal = team(world)
    world.prefs(calendars=("primary", cal))
    meeting = {**body("board meeting", 6), "id": "boardmeeting2026"}
    world.g.insert(meeting)
    world.g.insert(meeting, cal=cal)
    settle(world)
    assert list(crm_ids(world)) == ["board meeting"]
    assert {p.scope for p in world.pairs()} == {"primary"}
