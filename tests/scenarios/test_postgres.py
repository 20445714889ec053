"""Two-way sync with the state store on a real PostgreSQL server, for both CRMs: create each
way, update, delete, a quiet second round; two processes syncing one user at once.

Needs CALSYNC_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres):
a fresh database is made for this module and dropped at its end.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from calsync.model import Event, When, utcnow
from calsync.quota import Backoff
from calsync.service import SyncService, UserStatus
from calsync.sides.crm import CrmBackend, LocalBackend, VtigerBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store
from tests.pg import PG_ENV, clear_state, fresh_database
from tests.scenarios.drivers import LocalDriver, VtigerDriver
from tests.scenarios.world import CLIENT_ID, CLIENT_SECRET, CrmDriver, World, make_world

pytestmark = pytest.mark.postgres

WAIT = 120.0
"""Upper bound for one process to wait on another (a hang guard, not a timing assertion)."""


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """Return the URL of a fresh PostgreSQL database for this module (skip when unset)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to run the state store on")
    with fresh_database(base, "calsync_scen") as url:
        yield url


@pytest.fixture
def pg_world(google_url: str, crm: CrmDriver, tmp_path: Path, pg_url: str) -> Iterator[World]:
    """The scenario world with its state store on the module's PostgreSQL database."""
    httpx.post(f"{google_url}/_emulator/reset")
    clear_state(pg_url)
    world = make_world(google_url, crm, tmp_path, store_url=pg_url)
    try:
        yield world
    finally:
        world.store.close()


def soon(hours: int = 24, tz: str = "Europe/Rome") -> When:
    start = (utcnow() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), tz)


def g_body(summary: str, when: When) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": when.start.isoformat(), "timeZone": when.tz},
        "end": {"dateTime": when.end.isoformat(), "timeZone": when.tz},
    }


def synced(world: World) -> None:
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message


def pg_pair_rows(url: str) -> int:
    """Return how many pair rows the PostgreSQL database itself holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM pairs")).scalar_one())
    finally:
        engine.dispose()


# -- one process ---------------------------------------------------------------------------


def test_store_is_postgres(pg_world: World, pg_url: str) -> None:
    """The world's state store runs on PostgreSQL and its pairs are rows there."""
    pg_world.crm.add_event("alice", Event("Kickoff", soon()))
    synced(pg_world)
    assert pg_pair_rows(pg_url) == 1


def test_crm_event_reaches_google_then_edit_and_delete_follow(pg_world: World) -> None:
    """A CRM event is created on Google, its edit is patched, its deletion deletes it."""
    id = pg_world.crm.add_event("alice", Event("Kickoff", soon(), location="Room 1"))
    synced(pg_world)
    assert pg_world.google_events()["Kickoff"]["location"] == "Room 1"
    assert len(pg_world.pairs()) == 1

    pg_world.crm.edit_event("alice", id, title="Kickoff (moved)", location="Room 4")
    synced(pg_world)
    events = pg_world.google_events()
    assert set(events) == {"Kickoff (moved)"} and events["Kickoff (moved)"]["location"] == "Room 4"

    pg_world.crm.delete_event("alice", id)
    synced(pg_world)
    assert pg_world.google_events() == {}
    assert pg_world.pairs() == []


def test_google_event_reaches_crm_then_edit_and_delete_follow(pg_world: World) -> None:
    """A Google event is created in the CRM, its edit updates it, its deletion deletes it."""
    when = soon(48)
    ev = pg_world.g.insert(g_body("Dentist", when))
    synced(pg_world)
    crm = pg_world.crm_events()
    assert set(crm) == {"Dentist"} and crm["Dentist"].when.start == when.start

    pg_world.g.patch(ev["id"], {"summary": "Dentist (check-up)"})
    synced(pg_world)
    assert set(pg_world.crm_events()) == {"Dentist (check-up)"}

    pg_world.g.delete(ev["id"])
    synced(pg_world)
    assert pg_world.crm_events() == {}
    assert pg_world.pairs() == []


def test_second_round_is_quiet(pg_world: World) -> None:
    """Right after a round that synced both ways, the next round writes nothing anywhere."""
    pg_world.crm.add_event("alice", Event("From CRM", soon()))
    pg_world.g.insert(g_body("From Google", soon(30)))
    synced(pg_world)
    pg_world.clear_log()
    rep = pg_world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert pg_world.google_writes() == []
    for side in ("crm", "google"):
        c = rep.total(side)
        assert (c.created, c.updated, c.deleted) == (0, 0, 0), side
    assert (
        set(pg_world.crm_events()) == set(pg_world.google_events()) == {"From CRM", "From Google"}
    )


# -- two processes -------------------------------------------------------------------------


def _service(spec: dict[str, Any]) -> SyncService:
    """Build, in a child process, the same installation as the test's world."""
    store = Store.open(spec["store_url"], Path(spec["data_dir"]))
    backend: CrmBackend
    if spec["crm"] == "local":
        backend = LocalBackend(LocalCrm(spec["crm_url"]))
    else:
        backend = VtigerBackend(spec["crm_url"], spec["admin"], spec["access_key"])
    url = spec["google_url"]
    google = GoogleSettings(CLIENT_ID, CLIENT_SECRET, api_url=url, token_url=f"{url}/token")
    return SyncService(store, backend, google, backoff=Backoff(base=0.05, cap=0.2))


def _sync_in_child(spec: dict[str, Any], role: str, inside: Any, go: Any, out: Any) -> None:
    """Sync alice once. `holder` pauses inside its lock until `go`; `other` syncs meanwhile."""
    service = _service(spec)
    try:
        if role == "holder":

            def hold(_message: str) -> None:
                if not inside.is_set():
                    inside.set()
                    go.wait(WAIT)

            rep = service.sync_user("alice", progress=hold)
        else:
            inside.wait(WAIT)
            rep = service.sync_user("alice")
            go.set()
        out.put((role, rep.status.value, rep.message, rep.counts()))
    except BaseException as err:  # report it: a silent child would only show as a timeout
        go.set()
        out.put((role, "crashed", repr(err), {}))
    finally:
        service.store.close()


def _child_spec(world: World, crm: CrmDriver, tmp_path: Path, pg_url: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "store_url": pg_url,
        "data_dir": str(tmp_path),
        "google_url": world.google_url,
    }
    if isinstance(crm, LocalDriver):
        spec.update(crm="local", crm_url=f"sqlite:///{tmp_path / 'crm.db'}")
    else:
        assert isinstance(crm, VtigerDriver)
        # A second admin key for the children (the driver's own key is private to its client).
        r = httpx.post(f"{crm.url}/_emulator/users", json={"user_name": "ops", "is_admin": True})
        assert r.status_code == 200, r.text
        spec.update(crm="vtiger", crm_url=crm.url, admin="ops", access_key=r.json()["access_key"])
    return spec


def test_two_processes_syncing_one_user_one_is_busy(
    pg_world: World, crm: CrmDriver, tmp_path: Path, pg_url: str
) -> None:
    """While one process's round holds alice's lock, the other's round is BUSY; no duplicates."""
    pg_world.crm.add_event("alice", Event("From CRM", soon()))
    pg_world.g.insert(g_body("From Google", soon(30)))
    spec = _child_spec(pg_world, crm, tmp_path, pg_url)
    ctx = mp.get_context("spawn")
    inside, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_sync_in_child, args=(spec, role, inside, go, out))
        for role in ("holder", "other")
    ]
    for p in procs:
        p.start()
    try:
        results = {
            role: (status, message)
            for role, status, message, _ in (out.get(timeout=WAIT) for _ in procs)
        }
    finally:
        for p in procs:
            p.join(WAIT)
            if p.is_alive():
                p.kill()
    assert results["holder"][0] == UserStatus.OK.value, results
    assert results["other"][0] == UserStatus.BUSY.value, results

    # Nothing was duplicated on either side, and one more round finds nothing to do.
    google = [str(e.get("summary")) for e in pg_world.g.events()]
    crm_titles = [r.item.title for r in pg_world.crm.events("alice")]
    assert sorted(google) == sorted(crm_titles) == ["From CRM", "From Google"]
    assert len(pg_world.pairs()) == 2
    rep = pg_world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert rep.total("crm").created == rep.total("google").created == 0


def _race_in_child(spec: dict[str, Any], start: Any, out: Any) -> None:
    """Sync alice once, right when the other process does."""
    service = _service(spec)
    try:
        start.wait(WAIT)
        rep = service.sync_user("alice")
        out.put((rep.status.value, rep.message))
    except BaseException as err:
        out.put(("crashed", repr(err)))
    finally:
        service.store.close()


def test_two_processes_racing_duplicate_nothing(
    pg_world: World, crm: CrmDriver, tmp_path: Path, pg_url: str
) -> None:
    """Two rounds of alice started together each end OK or BUSY, and nothing is duplicated."""
    for n in range(3):
        pg_world.crm.add_event("alice", Event(f"CRM {n}", soon(24 + n)))
        pg_world.g.insert(g_body(f"Google {n}", soon(48 + n)))
    spec = _child_spec(pg_world, crm, tmp_path, pg_url)
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race_in_child, args=(spec, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    try:
        statuses = sorted(out.get(timeout=WAIT) for _ in procs)
    finally:
        for p in procs:
            p.join(WAIT)
            if p.is_alive():
                p.kill()
    assert {s for s, _ in statuses} <= {UserStatus.OK.value, UserStatus.BUSY.value}, statuses
    assert UserStatus.OK.value in {s for s, _ in statuses}, statuses

    titles = sorted([*(f"CRM {n}" for n in range(3)), *(f"Google {n}" for n in range(3))])
    assert sorted(str(e.get("summary")) for e in pg_world.g.events()) == titles
    assert sorted(r.item.title for r in pg_world.crm.events("alice")) == titles
    assert len(pg_world.pairs()) == 6
