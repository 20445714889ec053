"""Example-based scenarios for each planning branch, run through the real runner."""

from datetime import timedelta

import pytest

from calsync.engine.pairs import Kind
from calsync.model import Visibility
from calsync.prefs import Direction, PrivateMode, Winner
from tests.engine.helpers import World, make_event, make_private, make_task


def linked(w: World) -> tuple[str, str]:
    (p,) = w.pairs()
    assert p.crm_id and p.google_id
    return p.crm_id, p.google_id


def test_create_update_delete_crm_to_google() -> None:
    w = World()
    cid = w.crm.put(make_event("A"))
    assert w.sync().google.created == 1
    _, gid = linked(w)
    w.crm.edit(cid, make_event("A2"))
    assert w.sync().google.updated == 1
    assert w.google.live()[gid].item.title == "A2"
    w.crm.remove(cid)
    assert w.sync().google.deleted == 1
    assert w.google.live() == {} and w.pairs() == []


def test_create_update_delete_google_to_crm() -> None:
    w = World()
    gid = w.google.put(make_event("B"))
    assert w.sync().crm.created == 1
    cid, _ = linked(w)
    w.google.edit(gid, make_event("B2"))
    assert w.sync().crm.updated == 1
    assert w.crm.live()[cid].item.title == "B2"
    w.google.remove(gid)
    assert w.sync().crm.deleted == 1
    assert w.crm.live() == {} and w.pairs() == []


def test_own_writes_and_metadata_churn_cause_no_writes() -> None:
    """No echo: our own writes read back and a bare etag bump are not changes."""
    w = World()
    cid = w.crm.put(make_event("A"))
    w.sync()
    w.crm.edit(cid, make_event("A2"))
    w.sync()
    _, gid = linked(w)
    w.google.touch(gid)
    writes = (w.crm.writes, w.google.writes)
    for _ in range(3):
        r = w.sync()
        assert r.crm.writes == r.google.writes == 0
    assert (w.crm.writes, w.google.writes) == writes


@pytest.mark.parametrize(
    ("winner", "skew", "expected"),
    [
        (Winner.CRM, 0, "crm"),
        (Winner.GOOGLE, 0, "google"),
        (Winner.LATEST, 10, "google"),
        (Winner.LATEST, -10, "crm"),
    ],
)
def test_conflict_winner_and_loser_in_the_conflict_log(
    winner: Winner, skew: int, expected: str
) -> None:
    w = World(prefs=World().prefs.with_(winner=winner))
    cid = w.crm.put(make_event("A"))
    w.sync()
    _, gid = linked(w)
    w.crm.edit(cid, make_event("crm edit"))
    w.google.clock = lambda: w.now + timedelta(minutes=skew)
    w.google.edit(gid, make_event("google edit"))
    r = w.sync()
    title = f"{expected} edit"
    assert w.crm.live()[cid].item.title == w.google.live()[gid].item.title == title
    assert r.crm.conflicts + r.google.conflicts == 1
    (c,) = w.store.conflicts
    assert c.winner == expected
    assert c.crm_version and c.crm_version["title"] == "crm edit"
    assert c.google_version and c.google_version["title"] == "google edit"


def test_both_edited_to_the_same_content_is_no_conflict() -> None:
    w = World()
    cid = w.crm.put(make_event("A"))
    w.sync()
    _, gid = linked(w)
    w.crm.edit(cid, make_event("same"))
    w.google.edit(gid, make_event("same"))
    r = w.sync()
    assert r.crm.writes == r.google.writes == 0 and w.store.conflicts == []


@pytest.mark.parametrize("direction", [Direction.TO_GOOGLE, Direction.TO_CRM])
def test_one_way_never_writes_the_source_and_reverts_target_edits(direction: Direction) -> None:
    w = World(prefs=World().prefs.with_(direction=direction))
    cid = w.crm.put(make_event("from crm"))
    gid = w.google.put(make_event("from google"))
    source, target = (w.crm, w.google) if direction is Direction.TO_GOOGLE else (w.google, w.crm)
    source.read_only = True
    w.sync()
    assert len(w.pairs()) == 1
    p = w.pairs()[0]
    tid = p.google_id if direction is Direction.TO_GOOGLE else p.crm_id
    assert tid is not None
    target.edit(tid, make_event("edited on the target"))
    w.sync()
    src_title = "from crm" if direction is Direction.TO_GOOGLE else "from google"
    assert target.live()[tid].item.title == src_title
    assert source.writes == 0 and (cid, gid)


def test_busy_mode_masks_private_events_and_canaries_never_leak() -> None:
    w = World(prefs=World().prefs.with_(private=PrivateMode.BUSY))
    cid = w.crm.put(make_private(attendees=(), reminders=()))
    w.sync()
    _, gid = linked(w)
    g = w.google.live()[gid]
    assert g.item.title == "Busy" and "CANARY" not in repr(g) and "CANARY" not in repr(g.key)
    assert all("CANARY" not in repr(e) for e in w.store.log)
    # An edit of the block on Google is reverted; the CRM keeps its private event.
    w.google.edit(gid, make_event("peek"))
    w.sync()
    assert w.google.live()[gid].item.title == "Busy"
    assert "CANARY" in w.crm.live()[cid].item.title


def test_switching_private_mode_re_masks_and_unmasks_existing_copies() -> None:
    w = World()
    w.crm.put(make_private())
    w.sync()
    _, gid = linked(w)
    assert "CANARY" in w.google.live()[gid].item.title
    w.prefs = w.prefs.with_(private=PrivateMode.BUSY)
    w.sync()
    assert w.google.live()[gid].item.title == "Busy"
    w.prefs = w.prefs.with_(private=PrivateMode.ALL)
    w.sync()
    assert "CANARY" in w.google.live()[gid].item.title


def test_private_google_event_lands_public_and_stays_private_on_google() -> None:
    w = World()
    gid = w.google.put(make_private("Lunch"))
    w.sync()
    cid, _ = linked(w)
    assert w.crm.live()[cid].item.visibility is Visibility.PUBLIC
    w.crm.edit(cid, w.crm.live()[cid].item.with_(title="Lunch 2"))
    w.sync()
    g = w.google.live()[gid].item
    assert g.title == "Lunch 2" and g.visibility is Visibility.PRIVATE


def test_leaving_the_hours_window_deletes_nothing_and_coming_back_relinks() -> None:
    """Leaving scope deletes nothing, whether through an edit or a settings change."""
    from datetime import time

    from calsync.prefs import HoursWindow

    w = World(prefs=World().prefs.with_(hours=HoursWindow(time(8), time(18))))
    cid = w.crm.put(make_event("A", hour=10))
    w.sync()
    _, gid = linked(w)
    w.crm.edit(cid, make_event("A late", hour=20))
    r = w.sync()
    assert r.google.writes == 0 and w.google.live()[gid].item.title == "A"
    w.prefs = w.prefs.with_(hours=HoursWindow(time(11), time(12)))  # out of scope by prefs
    assert w.sync().google.writes == 0
    w.prefs = w.prefs.with_(hours=HoursWindow(time(8), time(18)))
    w.crm.edit(cid, make_event("A back", hour=9))
    r = w.sync()
    assert r.google.created == 0 and r.google.updated == 1
    assert list(w.google.live()) == [gid] and w.google.live()[gid].item.title == "A back"


def test_time_passing_out_of_the_range_deletes_nothing() -> None:
    w = World()
    w.crm.put(make_event("old"))
    w.sync()
    w.now += timedelta(days=60)
    r = w.sync(full=True)  # a full, window-bounded listing would not show it
    assert r.google.deleted == r.crm.deleted == 0 and len(w.pairs()) == 1


@pytest.mark.parametrize("edit_beats_delete", [True, False])
def test_edited_on_google_deleted_in_crm(edit_beats_delete: bool) -> None:
    w = World(prefs=World().prefs.with_(edit_beats_delete=edit_beats_delete))
    cid = w.crm.put(make_event("A"))
    w.sync()
    _, gid = linked(w)
    w.crm.remove(cid)
    w.google.edit(gid, make_event("edited"))
    w.sync()
    if edit_beats_delete:
        assert w.titles(w.crm) == ["edited"] and w.titles(w.google) == ["edited"]
        assert len(w.pairs()) == 1
    else:
        assert w.crm.live() == {} and w.google.live() == {} and w.pairs() == []
        assert w.store.conflicts[0].google_version["title"] == "edited"  # type: ignore[index]


@pytest.mark.parametrize("edit_beats_delete", [True, False])
def test_edited_in_crm_deleted_on_google_gets_a_fresh_key(edit_beats_delete: bool) -> None:
    w = World(prefs=World().prefs.with_(edit_beats_delete=edit_beats_delete))
    cid = w.crm.put(make_event("A"))
    w.sync()
    _, gid = linked(w)
    w.google.remove(gid)
    w.crm.edit(cid, make_event("edited"))
    w.sync()
    if edit_beats_delete:
        (p,) = w.pairs()
        assert p.key.endswith("~1") and p.google_id != gid  # Google keeps the old id
        assert w.titles(w.google) == ["edited"]
    else:
        assert w.crm.live() == {} and w.pairs() == []


def test_tasks_sync_both_ways() -> None:
    w = World(kind=Kind.TASK)
    cid = w.crm.put(make_task("call"))
    w.google.put(make_task("buy"))
    w.sync()
    assert w.titles(w.crm) == w.titles(w.google) == ["buy", "call"]
    w.crm.edit(cid, make_task("call back"))
    w.sync()
    assert w.titles(w.google) == ["buy", "call back"]


def test_dry_run_prints_the_plan_and_writes_nothing() -> None:
    w = World()
    w.crm.put(make_event("A"))
    r = w.sync(dry_run=True)
    assert any("create" in line and "'A'" in line for line in r.planned)
    assert w.google.writes == 0 and w.pairs() == []
