"""Create, update and delete travelling each way between the CRM and Google."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from tests.scenarios.world import World

pytestmark = pytest.mark.vtiger_php7


def soon(hours: int = 24, tz: str = "Europe/Rome") -> When:
    start = (utcnow() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), tz)


def test_crm_event_reaches_google_then_edit_and_delete_follow(world: World) -> None:
    """A CRM event is created on Google, its edit is patched, its deletion deletes it."""
    id = world.crm.add_event("alice", Event("Kickoff", soon(), description="<p>Agenda</p>"))
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    g = world.google_events()["Kickoff"]
    assert g["description"] == "<p>Agenda</p>"
    assert rep.total("google").created == 1

    world.crm.edit_event("alice", id, title="Kickoff (moved)", location="Room 4")
    world.sync()
    events = world.google_events()
    assert set(events) == {"Kickoff (moved)"} and events["Kickoff (moved)"]["location"] == "Room 4"

    world.crm.delete_event("alice", id)
    world.sync()
    assert world.google_events() == {}
    assert world.pairs() == []


def test_google_event_reaches_crm_then_edit_and_delete_follow(world: World) -> None:
    """A Google event is created in the CRM, its edit updates it, its deletion deletes it."""
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    ev = world.g.insert(
        {
            "summary": "Dentist",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {
                "dateTime": (start + timedelta(hours=1)).isoformat(),
                "timeZone": "Europe/Rome",
            },
        }
    )
    assert world.sync().status is UserStatus.OK
    crm = world.crm_events()
    assert set(crm) == {"Dentist"} and crm["Dentist"].when.start == start

    world.g.patch(ev["id"], {"summary": "Dentist (check-up)"})
    world.sync()
    assert set(world.crm_events()) == {"Dentist (check-up)"}

    world.g.delete(ev["id"])
    world.sync()
    assert world.crm_events() == {}


def test_second_round_writes_nothing_and_lists_once(world: World) -> None:
    """Right after a sync, a round makes no write calls and one list call per calendar."""
    world.crm.add_event("alice", Event("A", soon()))
    world.g.insert(
        {
            "summary": "B",
            "start": {"dateTime": (utcnow() + timedelta(days=1)).isoformat()},
            "end": {"dateTime": (utcnow() + timedelta(days=1, hours=1)).isoformat()},
        }
    )
    world.sync()
    world.sync()  # settles the echo of our own writes
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK
    calls = world.requests()
    assert [c for c in calls if c["method"] != "GET"] == []
    lists = [c for c in calls if c["path"].endswith("/events")]
    assert len(lists) <= 1, calls


def test_every_write_sends_no_mail_and_no_put(world: World) -> None:
    """Sync writes carry sendUpdates=none and patch, never a full PUT."""
    id = world.crm.add_event("alice", Event("Mail-free", soon()))
    world.sync()
    world.crm.edit_event("alice", id, title="Mail-free 2")
    world.sync()
    world.crm.delete_event("alice", id)
    world.sync()
    writes = [w for w in world.google_writes() if "/calendar/v3/" in w["path"]]
    assert {w["method"] for w in writes} == {"POST", "PATCH", "DELETE"}
    for w in writes:
        assert w["query"].get("sendUpdates") == ["none"], w
