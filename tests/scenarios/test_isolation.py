"""One user's round never stops another's, whatever it raises; window-bounded listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from calsync.model import Event, Task, When, utcnow
from calsync.service import UserStatus
from calsync.sides.base import ChangeSet, Remote, Side
from calsync.sides.crm import CrmBackend, CrmUserInfo
from tests.scenarios.drivers import LocalDriver
from tests.scenarios.world import World, make_world


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


class BrokenFor:
    """The real CRM backend, except that `user`'s calendar is a BrokenSide."""

    def __init__(self, inner: CrmBackend, user: str) -> None:
        self.inner, self.broken = inner, user
        self.kind, self.namespace = inner.kind, inner.namespace
        self.blind_fields, self.holds_series = inner.blind_fields, inner.holds_series
        self.degrade_text, self.store_item = inner.degrade_text, inner.store_item

    def users(self) -> list[CrmUserInfo]:
        return self.inner.users()

    def user(self, name: str) -> CrmUserInfo | None:
        return self.inner.user(name)

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        side = self.inner.events_side(user)
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
