"""The per-user lease: a round whose lease was taken over commits no more state (SQLite and
PostgreSQL); a takeover raises the generation; logs alone still commit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from calsync.engine.pairs import Kind, Pair
from calsync.engine.store import LogEntry
from calsync.errors import LeaseLost
from calsync.model import utcnow
from calsync.state import Store, leases
from calsync.state import tables as t


def pair(key: str, user: str = "alice") -> Pair:
    return Pair(user=user, kind=Kind.EVENT, key=key, crm_id=f"c{key}", google_id=f"g{key}")


def lease_row(store: Store, user: str = "alice") -> sa.Row[tuple[object, ...]]:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.leases).where(t.leases.c.user_name == user)).one()
    return row


def take_over(store: Store, user: str = "alice") -> int:
    """Do what a second round does once the first one's lock was lost: take the lease."""
    with store.engine.begin() as conn:
        return leases.take(conn, user, "second round", utcnow())


def test_a_commit_after_a_takeover_writes_nothing_and_stops_the_round(store: Store) -> None:
    with store.user_lock("alice"):
        store.put_pair(pair("a"))
        store.commit()
        take_over(store)
        store.put_pair(pair("b"))
        store.set_cursor("alice", "crm:event:primary", "42")
        with pytest.raises(LeaseLost, match="alice"):
            store.commit()
        # The refused writes are gone from the thread too: the next commit cannot sneak them in.
        assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["a"]
        store.put_pair(pair("c"))
        with pytest.raises(LeaseLost):
            store.commit()
        # Saying so in the user's sync log needs no lease.
        store.add_log(LogEntry("alice", utcnow(), "busy", message="stopped", level="error"))
        store.commit()
    assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["a"]
    assert store.cursor("alice", "crm:event:primary") is None
    assert store.logs("alice")[0].message == "stopped"


def test_each_holder_gets_a_higher_generation_and_gives_it_up(store: Store) -> None:
    with store.user_lock("alice"):
        first = lease_row(store)
        assert first.holder is not None
    assert lease_row(store).holder is None
    with store.user_lock("alice"):
        second = lease_row(store)
        store.put_pair(pair("a"))
        store.commit()
    assert second.generation == first.generation + 1
    assert store.pair("alice", Kind.EVENT, "a") is not None


def test_a_lease_fences_only_its_own_user(store: Store) -> None:
    with store.user_lock("alice"):
        take_over(store, "bob")
        store.put_pair(pair("x", user="bob"))  # no lease of bob held here: not fenced
        store.commit()
        take_over(store, "alice")
        store.put_pair(pair("y", user="bob"))
        store.commit()
    assert {p.key for p in store.pairs("bob", Kind.EVENT)} == {"x", "y"}


def test_without_a_lock_commits_are_not_fenced(store: Store) -> None:
    take_over(store)
    store.put_pair(pair("a"))
    store.commit()
    assert store.pair("alice", Kind.EVENT, "a") is not None


def test_prove_before_a_side_write(store: Store) -> None:
    store.prove()  # no lease held: nothing to prove
    with store.user_lock("alice"):
        store.prove()
        take_over(store)
        with pytest.raises(LeaseLost):
            store.prove()


def stored_cursor(store: Store, name: str, user: str = "alice") -> str | None:
    """Return the cursor as the database holds it (not this thread's staged writes)."""
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(t.cursors.c.value).where(
                t.cursors.c.user_name == user, t.cursors.c.name == name
            )
        ).scalar()
    return None if value is None else str(value)


def test_a_rounds_cursor_only_commit_is_written_when_the_round_ends(store: Store) -> None:
    """A quiet round stages nothing but new cursors: they are written once, with its end."""
    with store.user_lock("alice") as lock:
        store.set_cursor("alice", "google:event:primary", "t1")
        store.commit()
        assert stored_cursor(store, "google:event:primary") is None
        assert store.cursor("alice", "google:event:primary") == "t1"  # this round sees it
        store.end_round(lock, "alice", "ok")
        assert stored_cursor(store, "google:event:primary") == "t1"
    with store.user_lock("alice"):
        # Without `end_round`, the lock's end writes them; a commit with pairs writes them too.
        store.set_cursor("alice", "google:event:primary", "t2")
        store.commit()
        store.set_cursor("alice", "crm:event:primary", "7")
        store.commit()
        store.put_pair(pair("a"))
        store.commit()
        assert stored_cursor(store, "crm:event:primary") == "7"
        store.set_cursor("alice", "google:event:primary", "t3")
        store.commit()
    assert stored_cursor(store, "google:event:primary") == "t3"


def test_cursors_kept_for_the_end_of_a_round_that_lost_its_lease_are_not_written(
    store: Store,
) -> None:
    store.set_cursor("alice", "google:event:primary", "t0")
    store.commit()
    with store.user_lock("alice") as lock:
        store.set_cursor("alice", "google:event:primary", "t1")
        store.commit()
        take_over(store)
        store.end_round(lock, "alice", "busy")
    assert stored_cursor(store, "google:event:primary") == "t0"
    assert store.cursor("alice", "google:event:primary") == "t0"


def test_cursors_dropped_by_a_crash_leave_the_ones_stored_before(store: Store) -> None:
    """A crash before the round's end loses its new cursors: the next round reads again from
    the ones stored before, which is safe (it sees the same changes again)."""
    store.set_cursor("alice", "google:event:primary", "t0")
    store.commit()
    with store.user_lock("alice"):
        store.set_cursor("alice", "google:event:primary", "t1")
        store.commit()
        store.rollback()  # what a dying round's store does
    assert stored_cursor(store, "google:event:primary") == "t0"
