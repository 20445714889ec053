"""Several calendars per user: a secondary calendar of the user's and one shared read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
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


def setup_calendars(world: World) -> tuple[str, str, str]:
    """Return (team calendar id, shared calendar id, bob's access token)."""
    team = world.control("POST", "calendars", json={"owner": world.g.email, "summary": "Team"})
    bob = world.control("POST", "accounts", json={"email": "bob@example.com"})
    shared = world.control("POST", "calendars", json={"owner": bob["email"], "summary": "Bob's"})
    world.control(
        "POST", f"calendars/{shared['id']}/acl", json={"email": world.g.email, "role": "reader"}
    )
    world.prefs(calendars=("primary", team["id"], shared["id"]))
    return team["id"], shared["id"], bob["access_token"]


def test_each_calendar_syncs_into_the_crm_and_crm_events_go_to_the_first(world: World) -> None:
    """Events of every chosen calendar reach the CRM once; CRM-born events go to the first."""
    team, shared, bob_token = setup_calendars(world)
    world.g.insert(body("team sync", 1), cal=team)
    r = httpx.post(
        f"{world.google_url}/calendar/v3/calendars/{shared}/events",
        json=body("bob's offsite", 2),
        headers={"Authorization": f"Bearer {bob_token}"},
    )
    assert r.status_code == 200, r.text
    world.crm.add_event("alice", Event("crm born", soon(3)))
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    world.sync()
    assert sorted(world.crm_events()) == ["bob's offsite", "crm born", "team sync"]
    assert [e["summary"] for e in world.g.events()] == ["crm born"]
    assert [e["summary"] for e in world.g.events(team)] == ["team sync"]

    world.clear_log()
    quiet = world.sync()
    assert quiet.status is UserStatus.OK
    assert world.google_writes() == []


def test_edits_go_back_to_a_writable_calendar_but_never_to_a_read_only_one(world: World) -> None:
    """A CRM edit of a secondary calendar's event updates it there; a shared read-only
    calendar is never written, and the CRM copy is not duplicated anywhere."""
    team, shared, bob_token = setup_calendars(world)
    world.g.insert(body("team sync", 1), cal=team)
    httpx.post(
        f"{world.google_url}/calendar/v3/calendars/{shared}/events",
        json=body("bob's offsite", 2),
        headers={"Authorization": f"Bearer {bob_token}"},
    )
    world.sync()
    ids = {r.item.title: r.id for r in world.crm.events("alice")}
    world.crm.edit_event("alice", ids["team sync"], title="team sync (moved)")
    world.crm.edit_event("alice", ids["bob's offsite"], title="my own title")
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert [e["summary"] for e in world.g.events(team)] == ["team sync (moved)"]
    writes = world.google_writes()
    assert all(shared not in w["path"] for w in writes), writes
    assert all("/calendars/primary/" not in w["path"] for w in writes), writes
    assert len(world.crm.events("alice")) == 2


def test_primary_calendar_chosen_by_its_real_id_is_the_same_calendar(world: World) -> None:
    """Choosing the primary calendar by its id (the email) keeps every link: no duplicates."""
    world.crm.add_event("alice", Event("crm born", soon(1)))
    world.g.insert(body("google born", 2))
    world.sync()
    world.prefs(calendars=(world.g.email,))
    world.clear_log()
    rep = world.sync()
    world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert [w for w in world.google_writes() if w["method"] == "POST"] == []
    assert len(world.crm.events("alice")) == 2 and len(world.g.events()) == 2
