"""Embedded CRM side contract: create, update, delete, changes since a cursor, tombstones, etags."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from calsync.errors import (
    AlreadyExists,
    InvalidItem,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
)
from calsync.model import (
    Attendee,
    Event,
    Override,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Transparency,
    Visibility,
    When,
    content_hash,
)
from calsync.sides.base import Remote, Side
from calsync.sides.local import LocalCrm, LocalCrmError, LocalSide
from calsync.sides.local import tables as t
from calsync.sides.local.side import next_seq
from tests.sides.contract import SideContract

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalCrm]:
    c = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}", now=Clock())
    c.create_user("alice", password="pw", time_zone="Europe/Rome")
    c.create_user("bob", time_zone="America/New_York")
    yield c
    c.close()


def rich_event() -> Event:
    start = datetime(2026, 3, 29, 1, 30)  # the night Rome switches to summer time
    return Event(
        "Review <draft>",
        When.timed(start, start + timedelta(hours=2), "Europe/Rome"),
        description="<p>Agenda <b>bold</b></p>",
        location="Room 2",
        visibility=Visibility.PRIVATE,
        transparency=Transparency.FREE,
        reminders=(Reminder(10), Reminder(60, "email")),
        attendees=(Attendee("b@x.org", "B", "accepted"),),
        recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20260405T013000Z")),
    )


def test_side_protocol(crm: LocalCrm) -> None:
    side: Side[Event] = crm.events_side("alice")
    assert side.name == "crm"
    with pytest.raises(LocalCrmError):
        crm.events_side("nobody")


def test_event_round_trip_every_field(crm: LocalCrm) -> None:
    side = crm.events_side("alice")
    made = side.create(rich_event(), "key-1")
    assert made.key == "key-1" and made.etag == "1"
    got = side.get(made.id)
    assert got is not None and got.item == rich_event() and got.item.updated is not None
    assert content_hash(got.item) == content_hash(rich_event())
    allday = Event("Fair", When.dates(date(2026, 3, 7), date(2026, 3, 9), "Europe/Rome"))
    made2 = side.create(allday)
    assert made2.key is None  # CRM-born: no link key until calsync stores one
    got2 = side.get(made2.id)
    assert got2 is not None and got2.item == allday and got2.item.when.all_day


def test_task_round_trip(crm: LocalCrm) -> None:
    side = crm.tasks_side("alice")
    task = Task("Call back", notes="<i>soon</i>", due=date(2026, 3, 3), status=TaskStatus.DONE)
    made = side.create(task, "t-key")
    got = side.get(made.id)
    assert got is not None and got.item == task and got.key == "t-key"
    assert side.update(made.id, task.with_(due=None), made.etag).item.due is None


def test_update_bumps_the_etag_and_stale_etag_fails(crm: LocalCrm) -> None:
    side = crm.events_side("alice")
    made = side.create(rich_event())
    v2 = side.update(made.id, made.item.with_(title="New"), made.etag)
    assert v2.etag != made.etag and v2.item.title == "New"
    with pytest.raises(PreconditionFailed):
        side.update(made.id, made.item.with_(title="Lost"), made.etag)
    with pytest.raises(PreconditionFailed):
        side.delete(made.id, made.etag)
    assert side.get(made.id).item.title == "New"  # type: ignore[union-attr]
    forced = side.update(made.id, made.item.with_(title="Forced"), None)
    assert forced.item.title == "Forced"


def test_missing_deleted_and_foreign_items(crm: LocalCrm) -> None:
    side = crm.events_side("alice")
    made = side.create(rich_event())
    bobs = crm.events_side("bob")
    assert bobs.get(made.id) is None
    with pytest.raises(NotFound):
        bobs.update(made.id, rich_event(), None)
    bobs.delete(made.id, None)  # not bob's: nothing happens
    assert side.get(made.id) is not None
    side.delete(made.id, made.etag)
    assert side.get(made.id) is None
    side.delete(made.id, None)  # already deleted: no error
    side.delete("999", None)
    side.delete("not-an-id", None)
    with pytest.raises(NotFound):
        side.update(made.id, rich_event(), None)
    assert side.get("not-an-id") is None


def test_a_second_create_with_a_live_key_is_already_exists(crm: LocalCrm) -> None:
    """A create retried after a crash finds its first copy, even when a listing hid it."""
    side = crm.events_side("alice")
    first = side.create(rich_event(), "c.1")
    with pytest.raises(AlreadyExists) as err:
        side.create(rich_event().with_(title="again"), "c.1")
    assert err.value.existing_id == first.id
    crm.events_side("bob").create(rich_event(), "c.1")  # another user's key space
    side.delete(first.id, None)
    assert side.create(rich_event(), "c.1").key == "c.1"  # a deleted copy holds no key
    assert side.create(rich_event(), None).key is None  # CRM-born items carry no key


def test_changes_since_cursor_with_tombstones(crm: LocalCrm) -> None:
    side: LocalSide[Event] = crm.events_side("alice")
    a = side.create(rich_event().with_(title="A"))
    b = side.create(rich_event().with_(title="B"))
    crm.events_side("bob").create(rich_event().with_(title="bob's"))
    full = side.changes(None)
    assert full.full and [r.item.title for r in full.items] == ["A", "B"] and not full.deleted
    cursor = full.cursor
    assert cursor is not None
    empty = side.changes(cursor)
    assert not empty.full and empty.items == [] and empty.deleted == []
    assert empty.cursor == cursor
    side.update(a.id, a.item.with_(title="A2"), a.etag)
    side.delete(b.id, None)
    c = side.create(rich_event().with_(title="C"))
    crm.events_side("bob").create(rich_event().with_(title="bob's 2"))
    since = side.changes(cursor)
    assert [r.item.title for r in since.items] == ["A2", "C"]
    assert since.deleted == [b.id]
    assert since.cursor is not None and int(since.cursor) > int(cursor)
    again = side.changes(since.cursor)
    assert again.items == [] and again.deleted == []
    # Tombstones are left out of full listings; tasks have their own rows.
    assert [r.id for r in side.changes(None).items] == [a.id, c.id]
    assert crm.tasks_side("alice").changes(cursor).items == []


def test_bad_cursors_need_a_full_read(crm: LocalCrm) -> None:
    side = crm.events_side("alice")
    side.create(rich_event())
    for bad in ("abc", "-1", "999999"):
        with pytest.raises(InvalidSyncToken):
            side.changes(bad)
    assert len(side.changes("0").items) == 1


def test_purged_tombstones_invalidate_older_cursors(crm: LocalCrm) -> None:
    side = crm.events_side("alice")
    made = side.create(rich_event())
    old = side.changes(None).cursor
    assert old is not None
    side.delete(made.id, None)
    assert side.changes(old).deleted == [made.id]
    assert crm.purge_tombstones() == 1
    with pytest.raises(InvalidSyncToken):
        side.changes(old)
    now = crm.current_seq()
    assert side.changes(str(now)).deleted == []


def test_admin_functions(crm: LocalCrm) -> None:
    assert [u.name for u in crm.list_users()] == ["alice", "bob"]
    assert crm.verify_password("alice", "pw") and not crm.verify_password("alice", "x")
    assert not crm.verify_password("bob", "")
    crm.set_password("bob", "b")
    assert crm.verify_password("bob", "b")
    with pytest.raises(LocalCrmError):
        crm.create_user("alice")
    with pytest.raises(LocalCrmError):
        crm.set_password("nobody", "x")
    made = crm.add_event("alice", rich_event())
    edited = crm.edit_event("alice", made.id, title="Edited", location="")
    assert edited.item.title == "Edited" and edited.item.description == rich_event().description
    crm.delete_event("alice", made.id)
    assert crm.get_event("alice", made.id) is None and crm.list_events("alice") == []
    with pytest.raises(NotFound):
        crm.edit_event("alice", made.id, title="x")
    task = crm.add_task("bob", Task("Do it"))
    crm.edit_task("bob", task.id, status=TaskStatus.DONE)
    assert crm.get_task("bob", task.id).item.status is TaskStatus.DONE  # type: ignore[union-attr]
    crm.delete_task("bob", task.id)
    assert crm.list_tasks("bob") == []


def weekly_at_nine() -> Event:
    start = datetime(2026, 3, 23, 9)  # Rome switches to summer time on the 29th
    return Event(
        "Weekly",
        When.timed(start, start + timedelta(hours=1), "Europe/Rome"),
        recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=4",)),
    )


def test_occurrences_edited_and_cancelled_are_exceptions_of_one_series(crm: LocalCrm) -> None:
    """An occurrence edited or cancelled in the CRM is an override keyed by its original start
    (09:00 Rome, across the DST switch), never a second event; a date that is no occurrence
    is refused; the calendar shows the series with its exceptions in place."""
    made = crm.add_event("alice", weekly_at_nine())
    crm.edit_occurrence("alice", made.id, date(2026, 3, 30), title="Weekly (moved)",
                        when=When.timed(datetime(2026, 3, 31, 15), datetime(2026, 3, 31, 16),
                                        "Europe/Rome"))  # fmt: skip
    done = crm.cancel_occurrence("alice", made.id, date(2026, 4, 6))
    assert done.etag != made.etag and [r.id for r in crm.list_events("alice")] == [made.id]
    moved, cancelled = done.item.overrides
    assert moved.original_start == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert cancelled == Override(datetime(2026, 4, 6, 7, tzinfo=UTC))
    with pytest.raises(LocalCrmError):
        crm.edit_occurrence("alice", made.id, date(2026, 3, 31), title="not an occurrence")
    rome = ZoneInfo("Europe/Rome")
    lo, hi = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    shown = [
        (e.title, e.when.start.astimezone(rome).strftime("%m-%d %H:%M"))
        for e in crm.occurrences("alice", made.id, lo, hi)
        if isinstance(e.when.start, datetime)
    ]
    assert shown == [
        ("Weekly", "03-23 09:00"),
        ("Weekly (moved)", "03-31 15:00"),
        ("Weekly", "04-13 09:00"),
    ]
    # A master edit keeps the exceptions; cutting the rule short drops the ones past its end.
    crm.edit_event("alice", made.id, title="Weekly sync")
    got = crm.get_event("alice", made.id)
    assert got is not None and len(got.item.overrides) == 2
    short = got.item.with_(recurrence=Recurrence(("RRULE:FREQ=WEEKLY;UNTIL=20260401T000000Z",)))
    crm.edit_event("alice", made.id, short)
    got = crm.get_event("alice", made.id)
    assert got is not None and [o.ident() for o in got.item.overrides] == [moved.ident()]


def test_a_database_from_before_series_had_exceptions_keeps_its_data(tmp_path: Path) -> None:
    """The embedded CRM's schema grows on open: a database made before the exceptions table
    existed keeps every event, and its series take exceptions from then on."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = LocalCrm(url)
    old.create_user("alice", time_zone="Europe/Rome")
    made = old.add_event("alice", weekly_at_nine())
    single = old.add_event("alice", rich_event().with_(recurrence=None), key="c.7")
    with old.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE crm_event_overrides"))
    old.close()
    crm = LocalCrm(url)
    assert sorted((r.id, r.etag, r.key) for r in crm.list_events("alice")) == sorted(
        (r.id, r.etag, r.key) for r in (made, single)
    )
    done = crm.cancel_occurrence("alice", made.id, date(2026, 4, 6))
    assert len(done.item.overrides) == 1
    crm.close()


def test_in_memory_database() -> None:
    crm = LocalCrm("sqlite://")
    crm.create_user("alice")
    crm.add_event("alice", rich_event())
    assert len(crm.list_events("alice")) == 1
    crm.close()


def test_concurrent_writers_get_distinct_sequence_numbers(crm: LocalCrm) -> None:
    """Writers in several threads never share a sequence number, and no change is missed."""
    import threading

    side = crm.events_side("alice")
    start = side.changes(None).cursor
    made: list[str] = []

    def work(n: int) -> None:
        for i in range(10):
            r = side.create(rich_event().with_(title=f"{n}-{i}"))
            side.update(r.id, r.item.with_(title=f"{n}-{i}!"), r.etag)
            made.append(r.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    since = side.changes(start)
    assert sorted(r.id for r in since.items) == sorted(made)
    assert all(r.item.title.endswith("!") for r in since.items)
    assert since.cursor == str(crm.current_seq()) == str(int(start or 0) + 80)


class _LocalContract(SideContract):
    stores_key = True
    holds_series = True
    crm: LocalCrm

    def expire(self, side: Side[Any], cursor: str) -> str:
        # Purged tombstones move the sequence's floor past every older cursor.
        self.crm.purge_tombstones()
        return cursor

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str:
        # A status the CRM's own UI might write in a later version, unknown to this codec.
        table = t.events if isinstance(made.item, Event) else t.todos
        with self.crm.engine.begin() as conn:
            conn.execute(
                table.update()
                .where(table.c.id == int(made.id))
                .values(status="postponed", version=table.c.version + 1, seq=next_seq(conn))
            )
        return made.id


class TestLocalEventsContract(_LocalContract):
    @pytest.fixture
    def side(self, crm: LocalCrm) -> LocalSide[Event]:
        self.crm = crm
        return crm.events_side("alice")

    def make(self, n: int) -> Event:
        if n % 2:
            start = datetime(2026, 4, n, 9, 30)
            return Event(f"Event {n}", When.timed(start, start + timedelta(hours=1), "Europe/Rome"))
        return Event(f"Day {n}", When.dates(date(2026, 4, n), date(2026, 4, n + 1)))


class TestLocalTasksContract(_LocalContract):
    @pytest.fixture
    def side(self, crm: LocalCrm) -> LocalSide[Task]:
        self.crm = crm
        return crm.tasks_side("alice")

    def make(self, n: int) -> Task:
        status = TaskStatus.DONE if n == 3 else TaskStatus.OPEN
        return Task(f"Task {n}", notes=f"n{n}", due=date(2026, 5, n), status=status)


def test_unreadable_row_is_invalid_item_on_get_and_skipped_in_listings(crm: LocalCrm) -> None:
    """A row another program broke (an unknown visibility) is InvalidItem when read by id and
    skipped, not deleted, in a listing; the rows beside it still read."""
    side = crm.events_side("alice")
    good = side.create(Event("ok", When.timed(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10))))
    bad = side.create(Event("odd", When.timed(datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 10))))
    with crm.engine.begin() as conn:
        conn.execute(t.events.update().where(t.events.c.id == int(bad.id)).values(
            visibility="secret"))  # fmt: skip
    with pytest.raises(InvalidItem, match=bad.id):
        side.get(bad.id)
    full = side.changes(None)
    assert [r.id for r in full.items] == [good.id]
    assert full.skipped == [bad.id] and full.deleted == []
