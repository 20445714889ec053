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
