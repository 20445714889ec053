"""`offers`: what a side implements, asked of its class once (protocol checks are slow)."""

from __future__ import annotations

from calsync.model import Event
from calsync.sides.base import BatchSide, BatchWriteSide, MovableSide, offers
from calsync.sides.memory import BatchMemorySide, MemorySide
from calsync.sides.scoped import ScopedSide


def test_offers_answers_as_isinstance_does() -> None:
    plain: MemorySide[Event] = MemorySide("crm")
    batched: BatchMemorySide[Event] = BatchMemorySide("google")
    scoped = ScopedSide(batched)
    for side in (plain, batched, scoped):
        for protocol in (BatchSide, BatchWriteSide, MovableSide):
            assert offers(side, protocol) is isinstance(side, protocol)
    assert offers(batched, BatchWriteSide) and not offers(plain, BatchWriteSide)


def test_the_answer_is_the_classs_for_every_instance() -> None:
    first: BatchMemorySide[Event] = BatchMemorySide("google")
    second: BatchMemorySide[Event] = BatchMemorySide("google")
    second.batch_size = 3  # an instance's settings do not change what its class offers
    assert offers(first, BatchWriteSide) and offers(second, BatchWriteSide)
    assert not offers(ScopedSide(first), BatchWriteSide)  # the view offers single writes only
