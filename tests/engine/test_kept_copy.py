"""The Google copy kept with a row stands for Google's only while Google's etag is the row's.

Found by the state machine: a change that may not travel (out of scope) leaves the row's
etag and hash as they were, on purpose, while Google has moved on; a later round whose
increment does not list that copy must read it, not take the copy kept from before.
"""

from __future__ import annotations

from datetime import timedelta

from calsync.engine.pairs import Kind, PairStatus
from calsync.model import Event, Visibility
from calsync.prefs import Direction, PrivateMode
from calsync.sides.memory import MemorySide
from tests.engine.helpers import World, make_event, make_task


def test_a_frozen_google_change_is_read_again_not_taken_from_the_kept_copy() -> None:
    w = World()
    w.crm = MemorySide("crm", clock=lambda: w.now, store_keys=False)
    secret = make_event("doctor", description="private notes", visibility=Visibility.PRIVATE)
    cid = w.crm.put(secret)
    w.sync()
    (p,) = w.pairs()
    assert p.google_id is not None
    w.google.edit(p.google_id, make_event("doctor"))
    # Google -> CRM only, private events as busy blocks: Google's edit of the copy of a
    # private CRM event may not travel (the row keeps it pending).
    w.prefs = w.prefs.with_(direction=Direction.TO_CRM, private=PrivateMode.BUSY)
    w.sync()
    w.sync()
    # The user makes it public in the CRM: now Google's copy is the source again.
    w.crm.edit(cid, make_event("doctor"))
    w.sync()
    w.sync()
    held = w.crm.live()[cid].item
    assert isinstance(held, Event)
    assert (held.title, held.description) == ("doctor", "")


def test_a_held_crm_change_travels_when_google_comes_back_in_scope() -> None:
    """Found by the state machine: both copies changed while Google's was out of the window
    (held); the CRM's change was in no later increment, so when Google's copy came back in
    scope the CRM's copy must be read again, not assumed unchanged."""
    w = World(kind=Kind.TASK)
    w.google = MemorySide("google", clock=lambda: w.now, store_keys=False)
    cid = w.crm.put(make_task("call back"))
    w.sync()
    (p,) = w.pairs()
    assert p.google_id is not None
    w.crm.edit(cid, make_task("call back, urgent"))
    w.now += timedelta(minutes=1)  # Google's edit is the later one: it wins, but may not travel
    w.google.edit(p.google_id, make_task("call back", due=(w.now - timedelta(days=90)).date()))
    w.sync()
    assert w.pairs()[0].status is PairStatus.HELD
    w.sync()
    w.google.edit(p.google_id, make_task("call back"))  # back in scope, as it was
    w.sync()
    w.sync()
    assert w.titles(w.crm) == w.titles(w.google) == ["call back, urgent"]
    assert w.pairs()[0].status is PairStatus.OK
