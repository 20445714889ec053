"""What a real vtiger 8.4 does to a sync: `sync` failing on PHP 8 (the VTQL fallback finds
deletions), 4-byte characters stored as `??`, and a CRM that cannot hold our link key.
vtiger is the emulator in its default mode, which answers as that real server does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calsync.engine.pairs import Kind
from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from tests.scenarios.drivers import VtigerDriver
from tests.scenarios.world import World


def soon(days: int = 1) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


def g_insert(world: World, summary: str, days: int = 2) -> dict[str, object]:
    w = soon(days)
    return world.g.insert(
        {
            "summary": summary,
            "start": {"dateTime": w.start.isoformat()},
            "end": {"dateTime": w.end.isoformat()},
        }
    )


def _vtiger(world: World) -> VtigerDriver:
    assert isinstance(world.crm, VtigerDriver)
    return world.crm


@pytest.mark.vtiger_php7
def test_recreated_crm_event_is_not_duplicated_after_the_state_is_lost(world: World) -> None:
    """Deleted in the CRM and edited on Google, the event is re-created in the CRM under a new
    id (edit beats delete). A state store lost afterwards (a fresh install over existing data)
    must re-link that copy to Google's, whose link key still names the deleted CRM record."""
    crm_id = world.crm.add_event("alice", Event("Plan", soon(3)))
    world.sync()
    world.sync()
    (pair,) = world.pairs()
    assert pair.google_id
    world.crm.delete_event("alice", crm_id)
    world.g.patch(pair.google_id, {"summary": "Still on"})
    world.sync()
    world.sync()
    assert set(world.crm_events()) == {"Still on"}
    world.store.wipe_pairs("alice")
    world.store.wipe_cursors("alice")
    world.store.commit()
    world.clear_log()
    rep = world.sync()
    world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert [w for w in world.google_writes() if w["method"] == "POST"] == []
    assert [e["summary"] for e in world.g.events()] == ["Still on"]
    assert [r.item.title for r in world.crm.events("alice")] == ["Still on"]
    assert len(world.pairs(Kind.EVENT)) == 1


@pytest.mark.vtiger_only
def test_deleting_an_event_calsync_just_created_reaches_google_next_round(world: World) -> None:
    """On the VTQL fallback, a record calsync created in one round and the user deleted before
    the next is seen as deleted in that next round, not only at the daily full listing."""
    _vtiger(world)
    world.crm.add_event("alice", Event("from the CRM", soon(2)))
    g_insert(world, "from Google", 3)
    world.sync()
    assert str(world.store.cursor("alice", "crm:event:primary")).startswith("q:")  # fallback
    (made,) = [r.id for r in world.crm.events("alice") if r.item.title == "from Google"]
    world.crm.delete_event("alice", made)
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert not rep.rounds[0].full
    assert set(world.google_events()) == {"from the CRM"}
    assert len(world.pairs()) == 1


@pytest.mark.vtiger_only
def test_emoji_vtiger_cannot_hold_stay_on_google_through_vtiger_edits(world: World) -> None:
    """vtiger's stock 3-byte utf8 database stores each emoji as `??`. A later vtiger edit of
    another field reaches Google without writing the damaged title over Google's original,
    and the loss is logged once for the event."""
    _vtiger(world)
    title = "Aperitivo \U0001f379 con Luigi"
    g = g_insert(world, title)
    world.sync()
    (rec,) = world.crm.events("alice")
    assert rec.item.title == "Aperitivo ?? con Luigi"
    world.crm.edit_event("alice", rec.id, location="Bar Basso")
    world.sync()
    world.clear_log()
    world.sync()
    assert world.google_writes() == []
    after = world.g.get(str(g["id"]))
    assert (after["summary"], after.get("location")) == (title, "Bar Basso")
    degraded = [e for e in world.store.logs("alice") if e.action == "degraded"]
    assert len(degraded) == 1 and "cannot hold" in degraded[0].message
    assert degraded[0].title == title and degraded[0].level == "warning"
