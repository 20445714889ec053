"""Writes to Google travel in batch requests (here of 3 calls), each part answered on its own:
one round trip per batch, every part one call of the quota, a failing part retried or parked
alone, a lost batch reply adopted by the deterministic ids, not repeated."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.engine.pairs import PairStatus
from calsync.model import Event, When, utcnow
from calsync.quota import Api, Budget, quota_day
from calsync.service import UserStatus
from tests.scenarios.world import CrmDriver, World, make_world

BATCH = 3


@pytest.fixture
def world(google_url: str, crm: CrmDriver, tmp_path: Path) -> World:
    httpx.post(f"{google_url}/_emulator/reset")
    w = make_world(google_url, crm, tmp_path, batch_size=BATCH)
    w.service.budget = Budget(w.store)  # counts every call in the state store
    return w


def soon(hours: int) -> When:
    start = (utcnow() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


def add_events(world: World, n: int) -> list[str]:
    return [world.crm.add_event("alice", Event(f"e{i}", soon(24 + i))) for i in range(n)]


def calls(world: World, api_method: str) -> list[dict[str, Any]]:
    return [r for r in world.requests() if r["api_method"] == api_method]


def round_trips(world: World) -> int:
    """HTTP requests calsync sent to the API: batch requests plus calls sent alone."""
    alone = [r for r in world.requests() if not r["batch"]]
    return int(world.control("GET", "stats")["batches"]) + len(alone)


def test_creates_go_in_batches_and_each_part_is_one_call_of_the_quota(world: World) -> None:
    """7 creates are 3 batch requests (3 + 3 + 1); the quota counts 7 inserts plus the lists."""
    add_events(world, 7)
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK
    inserts = calls(world, "calendar.events.insert")
    assert len(inserts) == 7 and all(r["batch"] for r in inserts)
    stats = world.control("GET", "stats")
    assert stats["batches"] == 3
    assert round_trips(world) == 3 + len([r for r in world.requests() if not r["batch"]])
    # The state store counted every part as one call, as the emulator (and Google) did.
    calendar_calls = sum(n for m, n in stats["by_method"].items() if m.startswith("calendar."))
    assert world.store.calls_on(quota_day(), "alice", Api.CALENDAR) == calendar_calls
    assert rep.api_calls == stats["total"]
    assert len(world.google_events()) == 7 and len(world.pairs()) == 7


def _edit_all(world: World, ids: list[str]) -> None:
    for i, id_ in enumerate(ids):
        world.crm.edit_event("alice", id_, title=f"e{i} (edited)")


def _events_path(world: World) -> str:
    """Return the path of the synced calendar's events, as calsync's requests name it."""
    patch = calls(world, "calendar.events.insert")[0]
    return str(patch["path"])


def test_a_failing_part_is_sent_again_alone(world: World) -> None:
    """One PATCH of a batch answered 503 is sent again, alone, in the next batch; the other
    parts are not sent twice."""
    ids = add_events(world, 3)
    world.clear_log()
    world.sync()
    base = _events_path(world)
    victim = next(p for p in world.pairs() if p.crm_id == ids[1]).google_id
    _edit_all(world, ids)
    world.clear_log()
    world.fault(status=503, reason="backendError", method="PATCH", path_prefix=f"{base}/{victim}")
    assert world.sync().status is UserStatus.OK
    patches = calls(world, "calendar.events.patch")
    assert [r["path"].rsplit("/", 1)[1] for r in patches].count(victim) == 2
    assert len(patches) == 4 and all(r["batch"] for r in patches)
    assert [r["status"] for r in patches if r["path"].endswith(victim)] == [503, 200]
    assert world.control("GET", "stats")["batches"] == 2
    assert set(world.google_events()) == {f"e{i} (edited)" for i in range(3)}


def test_a_part_refused_is_parked_alone_and_retried_alone(world: World) -> None:
    """A part Google refuses (403) parks that item only; the next round sends it alone."""
    ids = add_events(world, 3)
    world.clear_log()
    world.sync()
    base = _events_path(world)
    victim = next(p for p in world.pairs() if p.crm_id == ids[2]).google_id
    _edit_all(world, ids)
    world.fault(status=403, reason="forbidden", method="PATCH", path_prefix=f"{base}/{victim}")
    rep = world.sync()
    assert rep.status is not UserStatus.OK
    by_crm = {p.crm_id: p for p in world.pairs()}
    assert by_crm[ids[2]].status is PairStatus.FAILED
    assert {by_crm[i].status for i in ids[:2]} == {PairStatus.OK}
    assert set(world.google_events()) == {"e0 (edited)", "e1 (edited)", "e2"}
    world.clear_log()
    assert world.sync().status is UserStatus.OK
    patches = calls(world, "calendar.events.patch")
    assert [r["path"].rsplit("/", 1)[1] for r in patches] == [victim]
    assert set(world.google_events()) == {f"e{i} (edited)" for i in range(3)}


def test_a_lost_batch_reply_is_adopted_not_repeated(world: World) -> None:
    """Every insert of the batch landed but its reply was lost: the next round finds each
    copy by its id (409) and links it; no event is made twice, none is lost."""
    add_events(world, 3)
    world.fault(status=503, path_prefix="/batch/calendar/v3", mode="apply_then_fail", count=1)
    world.sync()
    assert len(world.google_events()) == 3
    assert world.sync().status is UserStatus.OK
    assert sorted(world.google_events()) == ["e0", "e1", "e2"]
    pairs = world.pairs()
    assert len(pairs) == 3 and {p.status for p in pairs} == {PairStatus.OK}
    world.clear_log()
    assert world.sync().status is UserStatus.OK
    assert [r for r in world.requests() if r["method"] != "GET"] == []


def test_a_crm_edit_reads_no_google_copy_whose_etag_is_unchanged(world: World) -> None:
    """Google's copy of an event edited in the CRM only is the one kept at the last sync: the
    round sends one list and the patches, no `events.get` (alone or in a batch)."""
    ids = add_events(world, 6)
    world.sync()
    assert world.sync().status is UserStatus.OK
    for i in (0, 2, 4):
        world.crm.edit_event("alice", ids[i], title=f"e{i} (edited)", location="Room 4")
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK
    by_method = world.control("GET", "stats")["by_method"]
    assert "calendar.events.get" not in by_method
    assert by_method == {"calendar.events.list": 1, "calendar.events.patch": 3}
    events = world.google_events()
    assert {t for t, e in events.items() if e.get("location") == "Room 4"} == {
        "e0 (edited)",
        "e2 (edited)",
        "e4 (edited)",
    }
    # The kept copy is the one the patch answered with: the next edit needs no read either.
    world.crm.edit_event("alice", ids[0], title="e0 (again)")
    world.clear_log()
    assert world.sync().status is UserStatus.OK
    by_method = world.control("GET", "stats")["by_method"]
    assert by_method == {"calendar.events.list": 1, "calendar.events.patch": 1}
