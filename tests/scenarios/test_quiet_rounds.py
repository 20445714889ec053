"""A quiet round reads no sync-state row it does not need: not every pair of the user twice,
only the rows its (empty) listings name and the dirty ones, whatever the user's history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from calsync.engine.pairs import Kind, PairStatus
from calsync.model import Event, Task, When, utcnow
from calsync.service import UserStatus
from calsync.state import store as state_store
from tests.scenarios.drivers import LocalDriver
from tests.scenarios.world import World, make_world


def soon(hours: int) -> When:
    start = (utcnow() + timedelta(days=1, hours=hours)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(minutes=30), "Europe/Rome")


COMMIT = "-- commit --"


@dataclass
class Reads:
    """Pair rows turned into Pairs, and the statements that read the pairs table."""

    rows: int = 0
    selects: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.rows = 0
        self.selects.clear()
        self.statements.clear()

    def on(self, table: str, verb: str) -> int:
        """Return how many statements of `verb` (SELECT, INSERT...) went to `table`."""
        return sum(
            1
            for s in self.statements
            if s.lstrip().upper().startswith(verb)
            and (f"FROM {table}" in s or f"INTO {table}" in s or f"UPDATE {table}" in s)
        )


@pytest.fixture
def world(google_url: str, tmp_path: Path) -> World:
    httpx.post(f"{google_url}/_emulator/reset")
    return make_world(google_url, LocalDriver(tmp_path), tmp_path)


@pytest.fixture
def reads(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    counted = Reads()
    make_pair = state_store._pair

    def counting(row: Any) -> Any:
        counted.rows += 1
        return make_pair(row)

    monkeypatch.setattr(state_store, "_pair", counting)

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.statements.append(statement)
        if statement.lstrip().upper().startswith("SELECT") and "FROM pairs" in statement:
            counted.selects.append(statement)

    def on_commit(conn: Any) -> None:
        counted.statements.append(COMMIT)

    engine = world.store.engine
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    yield counted
    sa.event.remove(engine, "before_cursor_execute", on_execute)
    sa.event.remove(engine, "commit", on_commit)


def transactions(statements: list[str]) -> list[list[str]]:
    """Split `statements` (with COMMIT marks) into the transactions that committed them."""
    out: list[list[str]] = [[]]
    for s in statements:
        if s is COMMIT:
            out.append([])
        else:
            out[-1].append(" ".join(s.split()))
    return [tx for tx in out if tx]


def _history(world: World, events: int, tasks: int = 0) -> None:
    for i in range(events):
        world.crm.add_event("alice", Event(f"meeting {i}", soon(i)))
    for i in range(tasks):
        world.crm.add_task("alice", Task(f"call back {i}"))
    world.prefs(tasklist="@default" if tasks else None)
    for _ in range(2):  # the first sync, then the round that settles what it wrote
        assert world.sync().status is UserStatus.OK
    assert len(world.pairs()) == events and len(world.pairs(Kind.TASK)) == tasks


def test_a_quiet_round_reads_no_pair_row(world: World, reads: Reads) -> None:
    """30 linked events, nothing changed: the round reads no pair row (it used to read all
    30 twice: once to scope the CRM side, once in the engine), in one query for the engine
    and one for the CRM ids linked to other calendars."""
    _history(world, 30)
    reads.clear()
    report = world.sync()
    assert report.status is UserStatus.OK
    assert reads.rows == 0
    assert len(reads.selects) == 2
    # The user's cursors are read once for the round, and only a changed one is written
    # (Google hands out a new sync token each listing; the CRM's cursor did not move).
    assert reads.on("cursors", "SELECT") == 1
    assert reads.on("cursors", "INSERT") == 1


def test_an_incremental_round_reads_only_the_rows_it_needs(world: World, reads: Reads) -> None:
    """One event edited in the CRM and one parked as failed: the round reads those two rows,
    syncs the edit and retries the failed one; the other 18 rows are not read."""
    _history(world, 20)
    pairs = world.pairs()
    edited, parked = pairs[3], pairs[7]
    assert edited.crm_id is not None
    world.crm.edit_event("alice", edited.crm_id, title="moved meeting")
    world.store.put_pair(parked.with_(status=PairStatus.FAILED, message="503", attempts=1))
    world.store.commit()
    reads.clear()
    report = world.sync()
    assert report.status is UserStatus.OK, report.message
    assert reads.rows == 2
    assert "moved meeting" in world.google_events()
    assert {p.status for p in world.pairs()} == {PairStatus.OK}


def test_a_quiet_round_reads_each_thing_once(world: World, reads: Reads) -> None:
    """The round reads the CRM user, the link and the preferences once each (its sides are
    handed the user, not looking it up again); the lock is the lease's row alone; the run is
    started with the lease and finished without reading its row back."""
    assert isinstance(world.crm, LocalDriver)
    crm_users: list[str] = []

    def on_crm(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM crm_users" in statement:
            crm_users.append(statement)

    _history(world, 3, tasks=2)
    reads.clear()
    sa.event.listen(world.crm.crm.engine, "before_cursor_execute", on_crm)
    try:
        assert world.sync().status is UserStatus.OK
    finally:
        sa.event.remove(world.crm.crm.engine, "before_cursor_execute", on_crm)
    assert len(crm_users) == 1
    # The link and the preferences: one statement.
    assert reads.on("google_links", "SELECT") == 1
    assert reads.on("preferences", "SELECT") == 0
    (link,) = [s for s in reads.statements if "FROM google_links" in s]
    assert "JOIN preferences" in link
    assert reads.on("users", "SELECT") == 0  # a linked user is a registered one
    assert not [s for s in reads.statements if " locks" in s]
    assert reads.on("sync_runs", "SELECT") == 0
    assert reads.on("sync_runs", "UPDATE") == 2  # runs left running by a crash; this one's end
    assert reads.on("leases", "INSERT") == 1
    txs = transactions(reads.statements)
    # The lease is taken, the run started and the round's cursors read in one transaction;
    # the run's end and the lease's release are another.
    (taking,) = [tx for tx in txs if any("INSERT INTO leases" in s for s in tx)]
    assert any("INSERT INTO sync_runs" in s for s in taking)
    assert any("FROM cursors" in s for s in taking)
    assert reads.on("cursors", "SELECT") == 1
    (ending,) = [tx for tx in txs if any("UPDATE sync_runs" in s for s in tx) and tx != taking]
    assert any("UPDATE leases" in s for s in ending)
    # It writes in 2 transactions: the lease's and its end's, which writes its new cursors
    # too (this world counts no daily budget, which adds one per Google call).
    writes = [tx for tx in txs if any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in tx)]
    assert len(writes) == 2, writes
    assert any("INSERT INTO cursors" in s for s in ending)
    assert len([tx for tx in txs if any("UPDATE leases SET holder" in s for s in tx)]) == 1
    run = world.store.last_run("alice")
    assert run is not None and run.status == "ok" and run.finished_at is not None
    user = world.store.get_user("alice")
    assert user is not None and user.last_sync_status == "ok"
