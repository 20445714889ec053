"""A round that lost its user's lease (another round took it over) sends and commits nothing
more: every side write is preceded by a proof of the lease, every state commit includes one."""

from __future__ import annotations

import pytest

from calsync.errors import LeaseLost
from calsync.sides.memory import BatchMemorySide
from tests.engine.helpers import USER, World, make_event


def synced(n: int) -> World:
    w = World()
    for i in range(n):
        w.crm.put(make_event(f"e{i}", hour=8 + i))
    w.sync()
    return w


@pytest.mark.parametrize("change", ["create", "update", "delete"])
def test_no_side_write_after_the_lease_is_lost(change: str) -> None:
    w = synced(3)
    for i, id_ in enumerate(sorted(w.crm.live())):
        if change == "update":
            w.crm.edit(id_, make_event(f"edited {i}", hour=8 + i))
        elif change == "delete":
            w.crm.remove(id_)
    if change == "create":
        for i in range(3):
            w.crm.put(make_event(f"new {i}", hour=14 + i))
    rows, writes = w.store.snapshot(), w.google.writes
    w.store.lose_lease(USER)
    with pytest.raises(LeaseLost):
        w.sync()
    assert w.google.writes == writes and w.store.snapshot() == rows


@pytest.mark.parametrize("batch", [1, 2])
def test_a_write_in_flight_completes_and_nothing_follows_it(batch: int) -> None:
    """One write, or one batch of writes (one round trip), in flight when the lease is lost
    lands; nothing is sent after it."""
    w = World()
    assert isinstance(w.google, BatchMemorySide)
    w.google.batch_size = batch
    for i in range(3):
        w.crm.put(make_event(f"new {i}", hour=8 + i))
    # Another round takes the lease while our first create is on its way to Google.
    w.google.before_write.append(lambda: w.store.lose_lease(USER))
    with pytest.raises(LeaseLost):
        w.sync()
    assert w.google.writes == batch and len(w.google.live()) == batch
    # The round that took over adopts those copies (by their keys) and creates the rest.
    w.store._lost = None
    w.sync()
    assert len(w.google.live()) == 3 and len(w.pairs()) == 3
