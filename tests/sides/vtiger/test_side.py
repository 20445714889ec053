"""The vtiger Sides against the emulator: the Side contract, both change feeds, bad records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator, event_element
from calsync.errors import InvalidItem, NotFound, PreconditionFailed
from calsync.model import Event, Task, TaskStatus, When, content_hash
from calsync.sides.base import ChangeSet, Remote, Side
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.feed import ApplicationFeed
from calsync.sides.vtiger.mapping import VTIGER_IGNORED_FIELDS
from calsync.sides.vtiger.side import VtigerEventsSide, VtigerTasksSide, record_etag
from tests.sides.contract import SideContract
from tests.sides.vtiger.factories import make_event, make_task


@pytest.fixture(params=[False, True], ids=["php7-sync", "php8"])
def php8(request: pytest.FixtureRequest, vt: VtigerEmulator) -> Iterator[bool]:
    vt.set_php8(request.param)
    yield request.param


@pytest.fixture
def events(client: VtigerClient, alice: EmulatedUser, php8: bool) -> VtigerEventsSide:
    return VtigerEventsSide(client, alice.id, alice.time_zone)


def _ids(cs: ChangeSet[Event]) -> set[str]:
    return {r.id for r in cs.items}


def test_is_a_side(events: VtigerEventsSide) -> None:
    side: Side[Event] = events
    assert side.name == "crm"


def test_create_get_update_delete(events: VtigerEventsSide, vt: VtigerEmulator) -> None:
    ev = make_event("Europe/Rome")
    made = events.create(ev, key="k1")
    assert made.id.startswith("18x")
    assert content_hash(made.item, VTIGER_IGNORED_FIELDS) == content_hash(ev, VTIGER_IGNORED_FIELDS)
    got = events.get(made.id)
    assert got is not None and got.etag == made.etag
    vt.advance(2)
    updated = events.update(made.id, ev.with_(title="Moved"), made.etag)
    assert updated.item.title == "Moved" and updated.etag != made.etag
    with pytest.raises(PreconditionFailed):
        events.update(made.id, ev, made.etag)  # stale etag
    with pytest.raises(PreconditionFailed):
        events.delete(made.id, made.etag)
    events.delete(made.id, updated.etag)
    assert events.get(made.id) is None
    events.delete(made.id, None)  # deleting again is fine
    with pytest.raises(NotFound):
        events.update(made.id, ev, None)


def test_update_keeps_crm_only_fields(
    events: VtigerEventsSide, client: VtigerClient, alice: EmulatedUser
) -> None:
    rec = client.create(
        "Events", event_element(alice.id, activitytype="Call", eventstatus="Held", parent_id="3x9")
    )
    events.update(rec["id"], make_event(), record_etag(rec))
    after = client.retrieve(rec["id"])
    assert (after["activitytype"], after["eventstatus"], after["parent_id"]) == (
        "Call",
        "Held",
        "3x9",
    )


def test_changes_full_then_incremental_with_deletion(
    events: VtigerEventsSide, client: VtigerClient, vt: VtigerEmulator, bob: EmulatedUser
) -> None:
    """A deletion is seen by both feeds (sync, and VTQL + id comparison on PHP 8)."""
    a = events.create(make_event(title="A"), "ka")
    b = events.create(make_event(title="B"), "kb")
    vt.client(bob).create("Events", event_element(bob.id))  # someone else's: never listed
    full = events.changes(None)
    assert full.full and _ids(full) == {a.id, b.id} and full.cursor
    vt.advance(2)
    events.delete(b.id, None)
    c = events.create(make_event(title="C"), "kc")
    inc = events.changes(full.cursor)
    assert not inc.full and c.id in _ids(inc) and b.id not in _ids(inc)
    assert inc.deleted == [b.id]
    vt.advance(2)
    quiet = events.changes(inc.cursor)
    assert quiet.deleted in ([], [b.id]) and _ids(quiet) <= {c.id}  # tie-safe repeats only


def test_sync_cursor_falls_back_when_the_server_moves_to_php8(
    client: VtigerClient, vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    vt.set_php8(False)  # starts on PHP 7, where `sync` works
    events = VtigerEventsSide(client, alice.id, alice.time_zone)
    a = events.create(make_event(title="A"), "ka")
    cursor = events.changes(None).cursor
    assert cursor and cursor.startswith("s:")
    vt.set_php8(True)
    fresh = VtigerEventsSide(vt.client(alice), alice.id, alice.time_zone)
    listing = fresh.changes(cursor)
    assert listing.full and _ids(listing) == {a.id}  # no known ids yet: a full listing
    assert listing.cursor and listing.cursor.startswith("q:")
    vt.advance(2)
    fresh.delete(a.id, None)
    assert fresh.changes(listing.cursor).deleted == [a.id]


def test_bad_records_are_skipped_and_logged(
    events: VtigerEventsSide,
    vt: VtigerEmulator,
    alice: EmulatedUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = events.create(make_event(), "k")
    bad = [
        vt.raw_record("Events", "alice", {**event_element(alice.id), "date_start": "10/03/2026"}),
        vt.raw_record("Events", "alice", {**event_element(alice.id), "activitytype": "Lunch"}),
        vt.raw_record(
            "Events", "alice", {k: v for k, v in event_element(alice.id).items() if k != "due_date"}
        ),
    ]
    with caplog.at_level(logging.WARNING, logger="calsync.sides.vtiger.side"):
        full = events.changes(None)
    assert _ids(full) == {good.id}
    assert sorted(full.skipped) == sorted(r["id"] for r in bad)
    assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 3
    vt.advance(2)
    inc = events.changes(full.cursor)
    assert inc.deleted == []  # unreadable is not deleted
    for rec in bad:
        # Read by id (the engine's check of a linked item) it is InvalidItem, never a crash.
        with pytest.raises(InvalidItem, match=rec["id"]):
            events.get(rec["id"])


def test_admin_connection_serves_another_user(
    vt: VtigerEmulator, admin: EmulatedUser, alice: EmulatedUser, bob: EmulatedUser, php8: bool
) -> None:
    boss = vt.client(admin)
    side = VtigerEventsSide(boss, alice.id, alice.time_zone)
    mine = side.create(make_event(title="for alice"), "k")
    vt.client(bob).create("Events", event_element(bob.id))
    assert _ids(side.changes(None)) == {mine.id}
    boss.revise({"id": mine.id, "assigned_user_id": bob.id})
    assert side.get(mine.id) is None  # reassigned away
    with pytest.raises(NotFound):
        side.update(mine.id, make_event(title="not yours"), None)
    side.delete(mine.id, None)  # gone from alice's calendar: bob's event is left alone
    assert boss.retrieve(mine.id)["subject"] == "for alice"


def test_tasks_side(
    client: VtigerClient, alice: EmulatedUser, vt: VtigerEmulator, php8: bool
) -> None:
    tasks = VtigerTasksSide(client, alice.id, alice.time_zone)
    made = tasks.create(make_task(), "k")
    assert made.id.startswith("9x") and made.item == make_task()
    full = tasks.changes(None)
    assert [r.id for r in full.items] == [made.id]
    vt.advance(2)
    done = tasks.update(made.id, make_task(status=TaskStatus.DONE), made.etag)
    assert done.item.status == TaskStatus.DONE
    assert client.retrieve(made.id)["time_start"] == "08:00:00"  # 09:00 Rome, kept
    inc = tasks.changes(full.cursor)
    assert [r.item.status for r in inc.items] == [TaskStatus.DONE]
    tasks.delete(made.id, done.etag)
    vt.advance(2)
    assert tasks.changes(inc.cursor).deleted == [made.id]


def test_application_feed_is_fetched_once_per_round(
    vt: VtigerEmulator, admin: EmulatedUser, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    vt.set_php8(False)  # vtiger on PHP 7, where `sync` works
    boss = vt.client(admin)
    feed = ApplicationFeed(boss)
    sides = [VtigerEventsSide(boss, u.id, u.time_zone, feed=feed) for u in (alice, bob)]
    made = [s.create(make_event(title=s.user_ws_id), "k") for s in sides]
    first = [s.changes(None) for s in sides]
    assert [_ids(cs) for cs in first] == [{made[0].id}, {made[1].id}]
    assert feed.fetches == 1 and first[0].cursor == first[1].cursor
    feed.new_round()
    vt.advance(2)
    sides[1].update(made[1].id, make_event(title="new"), None)
    second = [s.changes(cs.cursor) for s, cs in zip(sides, first, strict=True)]
    assert feed.fetches == 2
    assert _ids(second[0]) <= {made[0].id} and _ids(second[1]) == {made[1].id}


def test_vtql_feed_never_deletes_what_a_shifted_listing_missed(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    """On PHP 8, an id absent from the listing is read back before being called deleted."""
    events = VtigerEventsSide(client, alice.id, alice.time_zone)
    a = events.create(make_event(title="A"), "ka")
    b = events.create(make_event(title="B"), "kb")
    cursor = events.changes(None).cursor
    real = client.live_ids
    client.live_ids = lambda module, owner=None: [i for i in real(module, owner) if i != a.id]  # type: ignore[method-assign]
    assert events.changes(cursor).deleted == []
    client.live_ids = real  # type: ignore[method-assign]
    client.revise({"id": b.id, "assigned_user_id": bob.id})  # reassigned away: gone for alice
    assert events.changes(cursor).deleted == [b.id]


def test_admin_made_mandatory_fields_are_filled_or_left_alone(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    """Read at run time: create fills `?????` like upstream, update keeps the CRM's value."""
    events = VtigerEventsSide(client, alice.id, alice.time_zone)
    events.create(make_event(), "k0")  # describe is now cached...
    vt.set_mandatory("Events", "location")  # ...and goes stale here
    vt.set_mandatory("Events", "taskpriority")
    made = events.create(make_event(location=""), "k")
    rec = client.retrieve(made.id)
    assert (rec["location"], rec["taskpriority"]) == ("?????", "High")
    client.revise({"id": made.id, "location": "Room 9"})
    events.update(made.id, make_event(location="", title="T2"), None)
    assert client.retrieve(made.id)["location"] == "Room 9"


class _VtigerContract(SideContract):
    # vtiger has no place for our key and no recurrence: one record per occurrence.
    blind = VTIGER_IGNORED_FIELDS
    vt: VtigerEmulator
    alice: EmulatedUser

    def tick(self) -> None:
        # `modifiedtime` has one-second resolution and the sync feed is tie-safe on it.
        self.vt.advance(2)

    def expire(self, side: Side[Any], cursor: str) -> str:
        # vtiger cursors never expire; one from an older calsync (another format) must not
        # be misread as a point in time.
        return "v1:" + cursor


class TestVtigerEventsContract(_VtigerContract):
    @pytest.fixture
    def side(
        self, client: VtigerClient, alice: EmulatedUser, vt: VtigerEmulator, php8: bool
    ) -> VtigerEventsSide:
        self.vt, self.alice = vt, alice
        return VtigerEventsSide(client, alice.id, alice.time_zone)

    def make(self, n: int) -> Event:
        if n % 2:
            return make_event(title=f"Event {n}").with_(reminders=())
        return make_event(title=f"Day {n}", when=When.dates(date(2026, 4, n), date(2026, 4, n + 1)))

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str:
        element = {**event_element(self.alice.id), "date_start": "10/03/2026"}
        return str(self.vt.raw_record("Events", "alice", element)["id"])


class TestVtigerTasksContract(_VtigerContract):
    @pytest.fixture
    def side(
        self, client: VtigerClient, alice: EmulatedUser, vt: VtigerEmulator, php8: bool
    ) -> VtigerTasksSide:
        self.vt, self.alice = vt, alice
        return VtigerTasksSide(client, alice.id, alice.time_zone)

    def make(self, n: int) -> Task:
        status = TaskStatus.DONE if n == 3 else TaskStatus.OPEN
        return make_task(title=f"Task {n}", notes=f"n{n}", due=date(2026, 5, n), status=status)

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str:
        element = {
            "subject": "Odd",
            "assigned_user_id": self.alice.id,
            "activitytype": "Task",
            "date_start": "2026-03-10",
            "due_date": "someday",
            "taskstatus": "Not Started",
        }
        return str(self.vt.raw_record("Calendar", "alice", element)["id"])


def test_record_missing_a_field_is_invalid_item(
    events: VtigerEventsSide, vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """A record without a field the mapping needs is InvalidItem, never a KeyError."""
    element = {k: v for k, v in event_element(alice.id).items() if k != "due_date"}
    bad = vt.raw_record("Events", "alice", element)
    with pytest.raises(InvalidItem):
        events.get(bad["id"])


def test_vtql_snapshot_takes_in_the_rounds_own_creates(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    """On PHP 8, a record the side created after its listing is in the cursor stored at the
    end of the round, so the user deleting it before the next round is seen then."""
    vt.set_php8(True)
    events = VtigerEventsSide(client, alice.id, alice.time_zone)
    events.create(make_event(title="A"), "ka")
    listing = events.changes(None)
    made = events.create(make_event(title="B"), "kb")
    assert listing.cursor != listing.final_cursor()
    vt.client(alice).delete(made.id)  # the user, in vtiger's UI
    vt.advance(2)
    nxt = VtigerEventsSide(client, alice.id, alice.time_zone)
    assert nxt.changes(listing.final_cursor()).deleted == [made.id]
    vt.set_php8(False)


def _quiet_round_requests(vt: VtigerEmulator, alice: EmulatedUser, n: int) -> int:
    """Return the webservice requests of a quiet round on PHP 8 with `n` events stored."""
    vt.control("reset")
    vt.set_php8(True)
    user = vt.add_user(alice.user_name, time_zone=alice.time_zone)
    for i in range(n):
        vt.raw_record("Events", user.user_name, event_element(user.id, subject=f"e{i}"))
    vt.advance(2)
    client = vt.client(user)
    events = VtigerEventsSide(client, user.id, user.time_zone)
    cursor = events.changes(None).final_cursor()
    vt.advance(2)
    before = int(vt.stats()["total"])
    quiet = events.changes(cursor)
    assert quiet.items == [] and quiet.deleted == [] and not quiet.full
    return int(vt.stats()["total"]) - before


def test_quiet_vtql_round_costs_the_same_whatever_the_number_of_events(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """A quiet round checks that the number of records is unchanged instead of listing every
    id (100 per request): its cost does not grow with the calendar."""
    small, large = _quiet_round_requests(vt, alice, 3), _quiet_round_requests(vt, alice, 350)
    assert small == large <= 3
    vt.set_php8(False)


def test_vtql_round_lists_every_id_when_the_count_changed(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    """A deletion changes the count: the ids are listed and the deleted one is found."""
    vt.set_php8(True)
    ids = [
        vt.raw_record("Events", alice.user_name, event_element(alice.id, subject=f"e{i}"))["id"]
        for i in range(150)
    ]
    vt.advance(2)
    events = VtigerEventsSide(client, alice.id, alice.time_zone)
    cursor = events.changes(None).final_cursor()
    vt.advance(2)
    vt.client(alice).delete(ids[7])
    vt.client(alice).create("Events", event_element(alice.id, subject="new"))
    before = vt.stats()["calls"].get("query", 0)
    inc = events.changes(cursor)
    assert inc.deleted == [ids[7]] and [r.item.title for r in inc.items] == ["new"]
    assert vt.stats()["calls"]["query"] - before == 1 + 1 + 2  # changes, count, two id pages
    vt.set_php8(False)
