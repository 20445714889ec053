"""Writes to a side that offers `write_many` go in batches, each write settled on its own.

The crash harness kills the round at each commit of a batch: the one of the intents before it
is sent, then the one after each part's outcome. Whatever commit it hits, the next rounds
converge with nothing lost and nothing made twice, on a side that derives ids from our key
(Google Calendar) and on one that cannot hold it (Google Tasks).
"""

from __future__ import annotations

from typing import Any

import pytest

from calsync.engine.memstore import Crash
from calsync.engine.pairs import Kind, PairStatus
from calsync.errors import InvalidItem
from calsync.sides.memory import BatchMemorySide
from tests.engine.helpers import World, make_event, make_task

ITEMS = 4


def world(kind: Kind, batch: int = ITEMS) -> World:
    w = World(kind=kind)
    if kind is Kind.TASK:
        w.google = BatchMemorySide("google", clock=lambda: w.now, store_keys=False)
    assert isinstance(w.google, BatchMemorySide)
    w.google.batch_size = batch
    return w


def item(kind: Kind, title: str, i: int) -> Any:
    return make_event(title, hour=8 + i) if kind is Kind.EVENT else make_task(title)


def google(w: World) -> BatchMemorySide[Any]:
    assert isinstance(w.google, BatchMemorySide)
    return w.google


def assert_in_step(w: World) -> None:
    assert w.titles(w.crm) == w.titles(w.google)
    pairs = w.pairs()
    assert len(pairs) == len(w.crm.live()) == len(w.google.live())
    assert {p.status for p in pairs} <= {PairStatus.OK}
    assert {p.crm_id for p in pairs} == set(w.crm.live())
    assert {p.google_id for p in pairs} == set(w.google.live())


def test_writes_go_in_batches_of_the_sides_size() -> None:
    """Ten creates on a side taking batches of four are three `write_many` calls."""
    w = world(Kind.EVENT, batch=4)
    for i in range(10):
        w.crm.put(item(Kind.EVENT, f"e{i}", i))
    res = w.sync()
    assert res.ok and res.google.created == 10
    assert google(w).batches == 3
    assert_in_step(w)


def change_all(w: World, kind: Kind, change: str) -> None:
    """Make `ITEMS` CRM items (synced first unless `change` is create), then change each."""
    ids = [w.crm.put(item(kind, f"e{i}", i)) for i in range(ITEMS)]
    if change != "create":
        assert w.sync().ok
    for i, id_ in enumerate(ids):
        if change == "update":
            w.crm.edit(id_, item(kind, f"e{i} edited", i))
        elif change == "delete":
            w.crm.remove(id_)


def assert_changed(w: World, change: str) -> None:
    assert w.sync().ok
    assert w.sync().ok
    assert_in_step(w)
    titles = [f"e{i} edited" if change == "update" else f"e{i}" for i in range(ITEMS)]
    assert w.titles(w.google) == ([] if change == "delete" else sorted(titles))


KINDS = pytest.mark.parametrize("kind", [Kind.EVENT, Kind.TASK])
CHANGES = pytest.mark.parametrize("change", ["create", "update", "delete"])


@KINDS
@CHANGES
@pytest.mark.parametrize("nth", range(1, ITEMS))
def test_a_crash_between_two_parts_loses_and_duplicates_nothing(
    kind: Kind, change: str, nth: int
) -> None:
    """The process dies while the batch is applied, after part `nth` and before the next:
    the parts applied are found again next round, the others sent then."""
    w = world(kind)
    change_all(w, kind, change)
    side = google(w)
    for op in ("create", "update", "delete"):
        real = getattr(side, op)

        def write(*args: Any, _real: Any = real) -> Any:
            out = _real(*args)
            if side.writes == writes + nth:
                raise Crash(f"died after part {nth} of the batch")
            return out

        setattr(side, op, write)
    writes, sent = side.writes, side.batches
    with pytest.raises(Crash):
        w.sync()
    assert side.writes == writes + nth and side.batches == sent + 1  # inside one batch
    for op in ("create", "update", "delete"):
        delattr(side, op)  # the next process sends as usual
    assert_changed(w, change)


@KINDS
@CHANGES
@pytest.mark.parametrize("nth", [1, 2, 3])
def test_a_crash_at_any_commit_around_a_batch_loses_and_duplicates_nothing(
    kind: Kind, change: str, nth: int
) -> None:
    """Commit 1 stores the intents before the batch is sent, commit 2 the state of every part
    once all answers are in, commit 3 the cursors: a crash at any of them is recovered."""
    w = world(kind)
    change_all(w, kind, change)
    sent = google(w).batches
    w.store.crash_after(nth)
    with pytest.raises(Crash):
        w.sync()
    # The batch went out once (all its parts applied), unless the crash came before it.
    assert google(w).batches == sent + (0 if nth == 1 else 1)
    assert_changed(w, change)


def test_one_failing_part_is_parked_alone_and_retried_alone() -> None:
    """A part that fails parks its own item; the others are synced; the next round sends
    only the failed one."""
    w = world(Kind.EVENT)
    ids = [w.crm.put(item(Kind.EVENT, f"e{i}", i)) for i in range(ITEMS)]
    assert w.sync().ok
    for i, id_ in enumerate(ids):
        w.crm.edit(id_, item(Kind.EVENT, f"e{i} edited", i))
    w.google.fail_next(1, InvalidItem, "update")
    res = w.sync()
    assert res.google.updated == ITEMS - 1 and res.google.errors == 1
    assert sorted(p.status for p in w.pairs()).count(PairStatus.FAILED) == 1
    writes = w.google.writes
    res = w.sync()
    assert res.ok and res.google.updated == 1
    assert w.google.writes == writes + 1
    assert_in_step(w)


def test_a_crm_edit_is_planned_against_the_kept_google_copy_without_a_read() -> None:
    """Google's copy unchanged since the row is the one the store keeps: no get, no get_many;
    a copy changed on Google since (listed) or a dirty row is read as before."""
    w = world(Kind.EVENT)
    ids = [w.crm.put(item(Kind.EVENT, f"e{i}", i)) for i in range(ITEMS)]
    assert w.sync().ok
    for i in (0, 1):
        w.crm.edit(
            ids[i],
            item(
                Kind.EVENT,
                f"e{i} edited",
                i,
            ),
        )
    w.google.calls.clear()
    res = w.sync()
    assert res.ok and res.google.updated == 2
    assert [c for c in w.google.calls if c in ("get", "get_many")] == []
    assert w.titles(w.google) == sorted(["e0 edited", "e1 edited", "e2", "e3"])
    # The kept copy is the write's answer: a second CRM edit needs no read either.
    w.crm.edit(ids[0], item(Kind.EVENT, "e0 again", 0))
    w.google.calls.clear()
    assert w.sync().ok
    assert [c for c in w.google.calls if c in ("get", "get_many")] == []
    assert "e0 again" in w.titles(w.google)
