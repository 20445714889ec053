"""The store's sign-in part (sessions, failed sign-ins, OAuth states), abandoned runs and the
write probe behind `/healthz`, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from calsync.state import Store
from calsync.state.activity import ABANDONED
from tests.state.conftest import KEY

HOUR = timedelta(hours=1)


class Clock:
    """A settable clock for the store."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(db_url: str, clock: Clock) -> Iterator[Store]:
    """A migrated store whose clock the test moves, with the users alice and bob."""
    s = Store.open(db_url, KEY, now=clock)
    s.migrate()
    s.upsert_user("alice")
    s.upsert_user("bob")
    try:
        yield s
    finally:
        s.close()


def test_a_session_lives_until_signed_out(timed: Store) -> None:
    """A session token names its user until it is ended; the store keeps only its hash."""
    token = timed.create_session("alice", 24 * HOUR)
    user = timed.session_user(token, HOUR)
    assert user is not None and user.name == "alice"
    with timed.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM web_sessions")).scalars().all()
    assert token not in stored
    timed.end_session(token)
    assert timed.session_user(token, HOUR) is None


def test_a_session_ends_when_idle_and_at_its_lifetime(timed: Store, clock: Clock) -> None:
    """Use keeps a session alive within the idle limit, never beyond its lifetime."""
    token = timed.create_session("alice", 3 * HOUR)
    for _ in range(5):  # used every 50 minutes: never idle for an hour
        clock.now += timedelta(minutes=50)
        alive = timed.session_user(token, HOUR) is not None
        assert alive == (clock.now < datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    idle = timed.create_session("alice", 24 * HOUR)
    clock.now += HOUR + timedelta(seconds=1)
    assert timed.session_user(idle, HOUR) is None


def test_password_change_and_removal_end_every_session(timed: Store) -> None:
    """A new password ends the user's sessions (not others'); removing the user ends the rest."""
    a1 = timed.create_session("alice", HOUR)
    a2 = timed.create_session("alice", HOUR)
    b = timed.create_session("bob", HOUR)
    timed.set_password("alice", "a new password")
    assert timed.session_user(a1, HOUR) is None and timed.session_user(a2, HOUR) is None
    assert timed.session_user(b, HOUR) is not None
    timed.delete_user("bob")
    assert timed.session_user(b, HOUR) is None
    a3 = timed.create_session("alice", HOUR)
    assert timed.end_sessions("alice") == 1
    assert timed.session_user(a3, HOUR) is None


def test_login_failures_count_per_name_and_address(timed: Store, clock: Clock) -> None:
    """Failures count per (name, address), are forgotten after a quiet spell, and cleared."""
    forget = 24 * HOUR
    assert timed.add_login_failure("admin", "10.0.0.1", forget) == 1
    assert timed.add_login_failure("admin", "10.0.0.1", forget) == 2
    assert timed.add_login_failure("admin", "10.0.0.2", forget) == 1
    count, last = timed.login_failures("admin", "10.0.0.1", forget) or (0, None)
    assert count == 2 and last == clock.now
    clock.now += forget
    assert timed.login_failures("admin", "10.0.0.1", forget) is None
    assert timed.add_login_failure("admin", "10.0.0.1", forget) == 1
    timed.clear_login_failures("admin", "10.0.0.1")
    assert timed.login_failures("admin", "10.0.0.1", forget) is None


def test_a_failure_is_counted_only_over_the_count_it_expects(timed: Store, clock: Clock) -> None:
    """`add_login_failure_if` is a compare-and-set: of two attempts that saw the same count,
    one is counted; a forgotten count is taken as none."""
    forget = 24 * HOUR
    assert timed.add_login_failure_if("admin", "10.0.0.1", 0, forget)
    assert not timed.add_login_failure_if("admin", "10.0.0.1", 0, forget)
    assert timed.add_login_failure_if("admin", "10.0.0.1", 1, forget)
    assert not timed.add_login_failure_if("admin", "10.0.0.1", 1, forget)
    assert timed.login_failures("admin", "10.0.0.1", forget) == (2, clock.now)
    clock.now += forget
    assert not timed.add_login_failure_if("admin", "10.0.0.1", 2, forget)
    assert timed.add_login_failure_if("admin", "10.0.0.1", 0, forget)
    assert timed.login_failures("admin", "10.0.0.1", forget) == (1, clock.now)


def test_an_oauth_state_is_used_once_by_its_user(timed: Store, clock: Clock) -> None:
    """A state is consumed once, only by the user it was issued to, only while fresh."""
    timed.add_oauth_state("s1", "alice", HOUR)
    assert not timed.consume_oauth_state("s1", "bob")
    assert timed.consume_oauth_state("s1", "alice")
    assert not timed.consume_oauth_state("s1", "alice")
    assert not timed.consume_oauth_state("never-issued", "alice")
    timed.add_oauth_state("s2", "alice", HOUR)
    clock.now += HOUR
    assert not timed.consume_oauth_state("s2", "alice")


def test_a_killed_round_is_abandoned_when_the_next_one_takes_the_lock(timed: Store) -> None:
    """A run left `running` (its process died) is marked abandoned by the next round."""
    dead = timed.start_run("alice")
    other = timed.start_run("bob")
    with timed.user_lock("alice"):
        pass
    runs = {r.id: r for r in timed.runs("alice") + timed.runs("bob")}
    assert runs[dead].status == ABANDONED and runs[dead].finished_at is not None
    assert runs[dead].error
    assert runs[other].status == "running"


def test_a_run_started_with_the_lock_abandons_the_killed_one_and_runs_alone(
    timed: Store, clock: Clock
) -> None:
    """The lock's transaction abandons the killed run and starts the new one: the run's id is
    the lock's, and only it shows as running until it records its end."""
    dead = timed.start_run("alice")
    with timed.user_lock("alice", run_started_at=clock.now) as lock:
        assert lock.run_id is not None and lock.run_id != dead
        runs = {r.id: r for r in timed.runs("alice")}
        assert runs[dead].status == ABANDONED
        assert runs[lock.run_id].status == "running"
        done = timed.finish_run(lock.run_id, "ok", {"crm": {}})
    assert done.user == "alice" and done.status == "ok" and done.finished_at is not None
    user = timed.get_user("alice")
    assert user is not None and user.last_sync_status == "ok"


def test_a_round_ends_its_run_and_gives_up_its_lease_together(timed: Store, clock: Clock) -> None:
    """`end_round` records the run's end and frees the lease; the lock's own end then only
    releases the lock, and the next holder takes over from a free lease."""
    with timed.user_lock("alice", run_started_at=clock.now) as lock:
        assert lock.run_id is not None
        holder = timed.lock_holder("alice")
        assert holder is not None and holder.owner == lock.owner
        timed.end_round(lock, "alice", "ok", {"crm": {}}, finished_at=clock.now)
        run = timed.last_run("alice")
        assert run is not None and run.status == "ok" and run.finished_at == clock.now
        assert timed.lock_holder("alice") is None
    with timed.user_lock("alice", run_started_at=clock.now) as again:
        # The run ended before the lock did: nothing is left running to abandon.
        assert [r.status for r in timed.runs("alice")] == ["running", "ok"]
        timed.end_round(again, "alice", "failed", error="boom")
    user = timed.get_user("alice")
    assert user is not None and user.last_sync_status == "failed"


def test_a_dry_round_ends_by_giving_up_its_lease(timed: Store) -> None:
    with timed.user_lock("alice") as lock:
        assert lock.run_id is None
        timed.end_round(lock, "alice", "ok")
        assert timed.lock_holder("alice") is None
    assert timed.runs("alice") == []


def test_on_start_up_only_runs_without_a_lock_holder_are_abandoned(timed: Store) -> None:
    """`abandon_dead_runs` leaves a run alone while its user's lock is held elsewhere."""
    with timed.user_lock("bob"):
        live = timed.start_run("bob")
        dead = timed.start_run("alice")
        done = threading.Event()
        found: list[int] = []

        def other_process() -> None:
            found.append(timed.abandon_dead_runs())
            done.set()

        threading.Thread(target=other_process).start()
        assert done.wait(10)
    assert found == [1]
    assert timed.last_run("alice").status == ABANDONED  # type: ignore[union-attr]
    assert next(r for r in timed.runs("bob") if r.id == live).status == "running"
    assert dead != live


def test_the_write_probe_fails_while_another_writer_holds_the_database(
    timed: Store, db_url: str
) -> None:
    """`check_writable` raises when a write cannot get through, though reads still work."""
    timed.check_writable(1.0)
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.close
    else:
        engine = sa.create_engine(db_url)
        conn = engine.connect()
        conn.execute(sa.text("LOCK TABLE app_settings IN EXCLUSIVE MODE"))

        def release() -> None:
            conn.close()
            engine.dispose()

    try:
        assert timed.get_setting("anything", "read") == "read"  # reads still get through
        with pytest.raises(sa.exc.OperationalError):
            timed.check_writable(0.2)
    finally:
        release()
    timed.check_writable(1.0)
    with timed.engine.connect() as c:
        left = c.execute(
            sa.text("SELECT count(*) FROM app_settings WHERE key LIKE '\\_probe:%' ESCAPE '\\'")
        ).scalar()
    assert left == 0


_HOLDER = """
import sys, time
from calsync.state import Store
store = Store.open(sys.argv[1], sys.argv[2])
with store.user_lock("alice"):
    store.start_run("alice")
    print("running", flush=True)
    time.sleep(120)
"""


def test_a_round_killed_with_sigkill_is_abandoned_once_its_lock_is_gone(
    timed: Store, db_url: str
) -> None:
    """A real process holding alice's lock is killed mid-round: while it lives its run stays
    running; once the kernel (flock) or the server (advisory lock) has let its lock go, the
    start-up sweep marks the run abandoned."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, db_url, KEY],
        stdout=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"running"
        assert timed.abandon_dead_runs() == 0
        assert timed.last_run("alice").status == "running"  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    abandoned = 0
    for _ in range(200):  # the server notices the dead client on its own; wait for it
        abandoned = timed.abandon_dead_runs()
        if abandoned:
            break
        time.sleep(0.05)
    assert abandoned == 1
    assert timed.last_run("alice").status == ABANDONED  # type: ignore[union-attr]
