"""A round whose PostgreSQL lock connection dropped stops writing once a second round starts.

Two real processes on a real PostgreSQL server: the first round pauses right after a CRM
create, the test kills its advisory lock's connection (`pg_terminate_backend`, as a server
restart, failover or idle-connection killer would), a second round runs to the end, then the
first round resumes. It must stop at its next state write, and nothing is duplicated.

Needs CALSYNC_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from calsync.service import UserStatus
from calsync.sides.local.side import LocalSide
from calsync.sides.vtiger.side import _VtigerSide
from tests.scenarios.test_postgres import (
    WAIT,
    _child_spec,
    _service,
    g_body,
    pg_url,
    pg_world,
    soon,
)
from tests.scenarios.world import CrmDriver, World

__all__ = ["pg_url", "pg_world"]  # fixtures, imported so that pytest finds them here

pytestmark = pytest.mark.postgres

EVENTS = 12
PAUSE_AFTER = 3
"""The first round pauses after this many CRM creates."""


def _first_round(spec: dict[str, Any], paused: Any, resume: Any, out: Any) -> None:
    """Sync alice; pause right after the PAUSE_AFTER-th CRM create, before its state commit."""
    side_class: Any = LocalSide if spec["crm"] == "local" else _VtigerSide
    real_create = side_class.create
    creates = 0

    def create(self: Any, item: Any, key: str) -> Any:
        nonlocal creates
        remote = real_create(self, item, key)
        creates += 1
        if creates == PAUSE_AFTER:
            paused.set()
            resume.wait(WAIT)
        return remote

    side_class.create = create
    service = _service(spec)
    try:
        rep = service.sync_user("alice")
        out.put(("first", rep.status.value, rep.message, creates))
    except BaseException as err:  # report it: a silent child would only show as a timeout
        out.put(("first", "crashed", repr(err), creates))
    finally:
        paused.set()
        service.store.close()


def _second_round(spec: dict[str, Any], out: Any) -> None:
    service = _service(spec)
    try:
        rep = service.sync_user("alice")
        out.put(("second", rep.status.value, rep.message, rep.total("crm").created))
    except BaseException as err:
        out.put(("second", "crashed", repr(err), 0))
    finally:
        service.store.close()


def _kill_advisory_lock_connections(url: str) -> int:
    """Terminate every session of this database holding an advisory lock; return how many."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).all()
    finally:
        engine.dispose()
    return len([k for k in killed if k[0]])


def test_lost_lock_connection_stops_the_first_round_and_duplicates_nothing(
    pg_world: World, crm: CrmDriver, tmp_path: Path, pg_url: str
) -> None:
    titles = sorted(f"Google {n:02}" for n in range(EVENTS))
    for n in range(EVENTS):
        pg_world.g.insert(g_body(f"Google {n:02}", soon(24 + n)))
    spec = _child_spec(pg_world, crm, tmp_path, pg_url)
    ctx = mp.get_context("spawn")
    paused, resume, out = ctx.Event(), ctx.Event(), ctx.Queue()
    first = ctx.Process(target=_first_round, args=(spec, paused, resume, out))
    second = ctx.Process(target=_second_round, args=(spec, out))
    first.start()
    results: dict[str, tuple[str, str, int]] = {}
    try:
        assert paused.wait(WAIT), "the first round never reached its pause"
        assert _kill_advisory_lock_connections(pg_url) == 1
        second.start()
        role, status, message, created = out.get(timeout=WAIT)
        results[role] = (status, message, created)
        resume.set()
        role, status, message, created = out.get(timeout=WAIT)
        results[role] = (status, message, created)
    finally:
        resume.set()
        for p in (first, second):
            p.join(WAIT)
            if p.is_alive():
                p.kill()

    assert results["second"][0] == UserStatus.OK.value, results
    # One CRM copy per Google event, all linked.
    assert sorted(r.item.title for r in pg_world.crm.events("alice")) == titles, results
    assert len(pg_world.pairs()) == EVENTS
    # The first round stopped at the state commit after its paused create: no more creates.
    status, message, created = results["first"]
    assert status == UserStatus.BUSY.value and "took over its lease" in message, results
    assert created == PAUSE_AFTER, results
    # A further round has nothing to create.
    rep = pg_world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert rep.total("crm").created == rep.total("google").created == 0
    assert sorted(r.item.title for r in pg_world.crm.events("alice")) == titles
