"""One user's round never stops another's, whatever it raises, also when a pool syncs several
users at once (on SQLite and on PostgreSQL); window-bounded listings."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from calsync.model import Event, Task, When, utcnow
from calsync.service import UserReport, UserStatus
from calsync.sides.base import ChangeSet, Remote, Side
from calsync.sides.crm import CrmBackend, CrmUserInfo
from tests.pg import PG_ENV, clear_state, fresh_database
from tests.scenarios.drivers import LocalDriver
from tests.scenarios.world import GoogleUser, World, make_world

WAIT = 60.0
"""Upper bound for a round to wait on the others (a hang guard, not a timing assertion)."""


def soon(days: int = 1) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


@dataclass
class BrokenSide:
    """A CRM calendar whose listing hits a bug (not an error of calsync's tree)."""

    inner: Side[Event]
    name: str = "crm"

    def changes(self, cursor: str | None) -> ChangeSet[Event]:
        raise RuntimeError("bug in a CRM side")

    def get(self, id: str) -> Remote[Event] | None:
        return self.inner.get(id)

    def create(self, item: Event, key: str) -> Remote[Event]:
        return self.inner.create(item, key)

    def update(self, id: str, item: Event, etag: str | None) -> Remote[Event]:
        return self.inner.update(id, item, etag)

    def delete(self, id: str, etag: str | None) -> None:
        self.inner.delete(id, etag)


@dataclass
class HookedSide:
    """A CRM calendar that calls `hook` with its user before each listing."""

    inner: Side[Event]
    user: str
    hook: Callable[[str], None]
    name: str = "crm"

    def changes(self, cursor: str | None) -> ChangeSet[Event]:
        self.hook(self.user)
        return self.inner.changes(cursor)

    def get(self, id: str) -> Remote[Event] | None:
        return self.inner.get(id)

    def create(self, item: Event, key: str) -> Remote[Event]:
        return self.inner.create(item, key)

    def update(self, id: str, item: Event, etag: str | None) -> Remote[Event]:
        return self.inner.update(id, item, etag)

    def delete(self, id: str, etag: str | None) -> None:
        self.inner.delete(id, etag)


class BrokenFor:
    """The real CRM backend, except that `user`'s calendar is a BrokenSide (and every
    calendar calls `hook`, when given, before its listing)."""

    def __init__(
        self, inner: CrmBackend, user: str, hook: Callable[[str], None] | None = None
    ) -> None:
        self.inner, self.broken, self.hook = inner, user, hook
        self.kind, self.namespace = inner.kind, inner.namespace
        self.blind_fields, self.holds_series = inner.blind_fields, inner.holds_series
        self.degrade_text, self.store_item = inner.degrade_text, inner.store_item

    def users(self) -> list[CrmUserInfo]:
        return self.inner.users()

    def user(self, name: str) -> CrmUserInfo | None:
        return self.inner.user(name)

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        side = self.inner.events_side(user)
        if self.hook is not None:
            side = HookedSide(side, user.name, self.hook)
        return BrokenSide(side) if user.name == self.broken else side

    def tasks_side(self, user: CrmUserInfo) -> Side[Task]:
        return self.inner.tasks_side(user)

    def authenticate(self, name: str, secret: str) -> bool:
        return self.inner.authenticate(name, secret)

    def check(self) -> str:
        return self.inner.check()

    def begin_round(self) -> None:
        self.inner.begin_round()


@pytest.fixture
def local_world(google_url: str, tmp_path: Path) -> World:
    httpx.post(f"{google_url}/_emulator/reset")
    return make_world(google_url, LocalDriver(tmp_path), tmp_path)


def test_an_unexpected_error_fails_only_that_users_round(local_world: World) -> None:
    """`aaron` (synced first) hits a bug: his round fails with a message and a log line, and
    alice's round after his still runs."""
    world = local_world
    world.crm.add_user("aaron", "Europe/Rome")
    world.service.known_user("aaron")
    world.store.set_link("aaron", "alice@example.com", world.g.refresh_token)
    world.crm.add_event("alice", Event("kept", soon()))
    world.service.crm = BrokenFor(world.service.crm, "aaron")
    reports = {r.user: r for r in world.service.sync_all()}
    assert reports["aaron"].status is UserStatus.FAILED
    assert "bug in a CRM side" in reports["aaron"].message
    assert any("bug in a CRM side" in e.message for e in world.store.logs("aaron"))
    assert reports["alice"].status is UserStatus.OK
    assert set(world.google_events()) == {"kept"}


def _linked_then_past(world: World, n: int, keep_one: bool) -> None:
    """Link `n` events of the coming weeks, then move the clock two months on: Google's full
    listing (bounded by the sync window) no longer holds them."""
    for i in range(n):
        world.crm.add_event("alice", Event(f"e{i}", soon(i + 1)))
    if keep_one:
        world.crm.add_event("alice", Event("later", soon(70)))
    assert world.sync().status is UserStatus.OK
    world.now = utcnow() + timedelta(days=60)
    world.clear_log()


def test_events_drifted_into_the_past_do_not_block_the_daily_round(local_world: World) -> None:
    """Every linked event left the window: the day's full round is no mass deletion; it runs,
    deletes nothing and keeps every pair."""
    world = local_world
    _linked_then_past(world, 12, keep_one=False)
    report = world.sync()
    assert report.status is UserStatus.OK, report.message
    assert len(world.google_events()) == len(world.crm_events()) == 12
    assert len(world.pairs()) == 12
    assert world.google_writes() == []


def test_linked_events_outside_the_window_are_read_in_one_batch(local_world: World) -> None:
    """The daily full round reads the linked events missing from the window-bounded listing
    by id in one batch request, not one GET each."""
    world = local_world
    _linked_then_past(world, 20, keep_one=True)
    assert world.sync().status is UserStatus.OK
    reads = [
        r
        for r in world.requests()
        if r["method"] == "GET" and r["path"].startswith("/calendar/v3/calendars/primary/events/")
    ]
    assert len([r for r in reads if not r["batch"]]) == 0
    assert len([r for r in reads if r["batch"]]) == 20
    assert world.control("GET", "stats")["batches"] == 1


# -- many users at once ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module (skip when none is configured)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to run the state store on")
    with fresh_database(base, "calsync_pool") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def pool_world(request: pytest.FixtureRequest, google_url: str, tmp_path: Path) -> Iterator[World]:
    """alice's world on a SQLite file or on PostgreSQL, for rounds run in a pool."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        clear_state(url)
    httpx.post(f"{google_url}/_emulator/reset")
    world = make_world(google_url, LocalDriver(tmp_path), tmp_path, store_url=url)
    yield world
    world.store.close()


def _more_users(world: World, n: int) -> dict[str, GoogleUser]:
    """Add `n` CRM users, each linked to a Google account of their own, with one event."""
    google: dict[str, GoogleUser] = {}
    for i in range(n):
        name, email = f"user{i}", f"user{i}@example.com"
        acc = httpx.post(f"{world.google_url}/_emulator/accounts", json={"email": email}).json()
        world.crm.add_user(name, "Europe/Rome")
        world.service.known_user(name)
        world.store.set_link(name, email, acc["refresh_token"])
        world.crm.add_event(name, Event(f"{name} meets", soon()))
        google[name] = GoogleUser(
            world.google_url, email, acc["access_token"], acc["refresh_token"]
        )
    return google


def test_a_pool_syncs_users_at_once_each_round_under_its_lock(pool_world: World) -> None:
    """Six users, a pool of three: three rounds are inside their CRM listing at the same
    moment (a barrier of three that sequential rounds would never pass), and while a user's
    round runs, another round of that user started elsewhere finds it busy. Every user
    syncs, the reports come back in the users' order."""
    world = pool_world
    google = _more_users(world, 5)
    world.crm.add_event("alice", Event("alice meets", soon()))
    together = threading.Barrier(3, timeout=WAIT)
    meanwhile: dict[str, UserStatus] = {}

    def inside(user: str) -> None:
        # Another round of the same user, from another thread (as another process would).
        other: list[UserReport] = []
        thread = threading.Thread(target=lambda: other.append(world.service.sync_user(user)))
        thread.start()
        thread.join(WAIT)
        meanwhile[user] = other[0].status
        together.wait()

    world.service.crm = BrokenFor(world.service.crm, "nobody", hook=inside)
    reports = world.service.sync_all(pool_size=3)
    assert [r.user for r in reports] == sorted(["alice", *google])
    assert all(r.status is UserStatus.OK for r in reports), [r.message for r in reports]
    assert meanwhile == {r.user: UserStatus.BUSY for r in reports}
    for name, g in google.items():
        assert [e["summary"] for e in g.events()] == [f"{name} meets"]
    assert set(world.google_events()) == {"alice meets"}


def test_one_users_failure_in_the_pool_touches_no_other(pool_world: World) -> None:
    """`user2` hits a bug while others sync beside it in the pool: his round fails with its
    message and log line; every other user's round runs through."""
    world = pool_world
    google = _more_users(world, 5)
    world.service.crm = BrokenFor(world.service.crm, "user2")
    reports = {r.user: r for r in world.service.sync_all(pool_size=4)}
    assert reports["user2"].status is UserStatus.FAILED
    assert "bug in a CRM side" in reports["user2"].message
    assert any("bug in a CRM side" in e.message for e in world.store.logs("user2"))
    assert all(r.status is UserStatus.OK for u, r in reports.items() if u != "user2")
    for name, g in google.items():
        assert [e["summary"] for e in g.events()] == ([] if name == "user2" else [f"{name} meets"])


def test_pool_size_one_syncs_in_turn(pool_world: World) -> None:
    """`pool_size=1` is today's way: one user after another, in the users' order."""
    world = pool_world
    _more_users(world, 3)
    inside: list[str] = []
    world.service.crm = BrokenFor(world.service.crm, "nobody", hook=inside.append)
    reports = world.service.sync_all(pool_size=1)
    assert all(r.status is UserStatus.OK for r in reports)
    assert inside == ["alice", "user0", "user1", "user2"]  # in the users' order, in turn
