"""Both sides changed the same event: the winner policy decides and the loser is logged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calsync.engine.pairs import Kind
from calsync.model import Event, When, utcnow
from calsync.prefs import Winner
from tests.scenarios.world import World


def _linked(world: World) -> tuple[str, str]:
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    crm_id = world.crm.add_event("alice", Event("Plan", When(start, start + timedelta(hours=1))))
    world.sync()
    world.sync()
    (pair,) = world.pairs()
    assert pair.google_id
    return crm_id, pair.google_id


@pytest.mark.parametrize("winner", [Winner.CRM, Winner.GOOGLE])
def test_fixed_winner_ends_on_both_sides_and_loser_is_logged(world: World, winner: Winner) -> None:
    """With crm/google as winner, that side's version ends on both sides; both are kept."""
    world.prefs(winner=winner)
    crm_id, gid = _linked(world)
    world.crm.edit_event("alice", crm_id, title="Plan (CRM)")
    world.g.patch(gid, {"summary": "Plan (Google)"})
    world.sync()
    expected = "Plan (CRM)" if winner is Winner.CRM else "Plan (Google)"
    assert set(world.crm_events()) == {expected}
    assert set(world.google_events()) == {expected}
    (conflict,) = world.store.conflicts("alice")
    assert conflict.winner == winner.value
    assert conflict.crm_version and conflict.crm_version["title"] == "Plan (CRM)"
    assert conflict.google_version and conflict.google_version["title"] == "Plan (Google)"


@pytest.mark.parametrize("google_skew", [600, -600])
def test_latest_edit_wins(world: World, google_skew: int) -> None:
    """With `latest`, the side whose edit is newer wins (Google's clock skewed ±10 min)."""
    world.prefs(winner=Winner.LATEST)
    crm_id, gid = _linked(world)
    world.crm.edit_event("alice", crm_id, title="CRM edit")
    world.control("POST", "clock", json={"offset_seconds": google_skew})
    world.g.patch(gid, {"summary": "Google edit"})
    world.sync()
    expected = "Google edit" if google_skew > 0 else "CRM edit"
    assert set(world.crm_events()) == {expected}
    assert set(world.google_events()) == {expected}
    assert len(world.store.conflicts("alice")) == 1


def test_same_change_on_both_sides_is_no_conflict(world: World) -> None:
    """Both sides changed to the same content: no write, no conflict."""
    crm_id, gid = _linked(world)
    world.crm.edit_event("alice", crm_id, title="Same")
    world.g.patch(gid, {"summary": "Same"})
    world.clear_log()
    world.sync()
    assert world.google_writes() == []
    assert world.store.conflicts("alice") == []


def test_edit_beats_delete_by_default(world: World) -> None:
    """Deleted in the CRM, edited on Google: the edit comes back to the CRM."""
    crm_id, gid = _linked(world)
    world.crm.delete_event("alice", crm_id)
    world.g.patch(gid, {"summary": "Still on"})
    world.sync()
    world.sync()
    assert set(world.crm_events()) == {"Still on"}
    assert set(world.google_events()) == {"Still on"}
    assert len(world.pairs(Kind.EVENT)) == 1


def test_delete_beats_edit_when_chosen(world: World) -> None:
    """With delete-beats-edit, the deletion wins and the Google copy goes."""
    world.prefs(edit_beats_delete=False)
    crm_id, gid = _linked(world)
    world.crm.delete_event("alice", crm_id)
    world.g.patch(gid, {"summary": "Edited"})
    world.sync()
    assert world.crm_events() == {}
    assert world.google_events() == {}
