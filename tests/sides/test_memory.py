"""The in-memory Side behaves like a real one: the shared Side contract in its Google-like and
CRM-like set-ups, plus its fault plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from calsync.errors import AlreadyExists, InvalidSyncToken, PreconditionFailed, TransientError
from calsync.model import Attendee, Event, EventStatus, Item, Task, TaskStatus, When
from calsync.sides.base import Side
from calsync.sides.memory import BatchMemorySide, MemorySide, key_to_id
from tests.engine.helpers import make_event
from tests.sides.contract import SideContract

WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
BLIND = frozenset({"attendees", "recurrence", "transparency", "status"})


def _event(n: int) -> Event:
    start = datetime(2026, 4, n, 9, 30, tzinfo=UTC)
    return Event(f"Event {n}", When(start, start + timedelta(hours=1), "UTC"))


class _MemoryContract(SideContract):
    def expire(self, side: Side[Any], cursor: str) -> str:
        assert isinstance(side, MemorySide)
        side.expire_cursors()
        return cursor


class TestMemoryGoogleCalendarContract(_MemoryContract):
    """Set up as calsync's Google calendar: key-derived ids, our key kept, a listing window."""

    stores_key = True
    deterministic_ids = True
    batch_reads = True
    window_listing = True
    holds_series = True

    @pytest.fixture
    def side(self) -> MemorySide[Event]:
        return BatchMemorySide("google", key_ids=True, window=lambda: WINDOW)

    def make(self, n: int) -> Event:
        return _event(n)

    def outside_window(self) -> Item:
        start = datetime(2025, 1, 10, 9, 30, tzinfo=UTC)
        return Event("Old", When(start, start + timedelta(hours=1), "UTC"))


class TestMemoryVtigerContract(_MemoryContract):
    """Set up as vtiger: server ids, no place for our key, blind fields, one record per date."""

    blind = BLIND

    @pytest.fixture
    def side(self) -> MemorySide[Event]:
        return MemorySide("crm", store_keys=False, blind=BLIND)

    def make(self, n: int) -> Event:
        return _event(n)


class TestMemoryTasksContract(_MemoryContract):
    """Set up as Google Tasks: server ids, no place for our key, batch reads."""

    batch_reads = True

    @pytest.fixture
    def side(self) -> MemorySide[Task]:
        return BatchMemorySide("google", store_keys=False)

    def make(self, n: int) -> Task:
        status = TaskStatus.DONE if n == 3 else TaskStatus.OPEN
        return Task(f"Task {n}", notes=f"n{n}", due=date(2026, 5, n), status=status)


def test_blind_fields_are_not_kept() -> None:
    s: MemorySide[Event] = MemorySide("crm", blind=BLIND)
    rich = _event(1).with_(
        attendees=(Attendee("b@x.org"),), status=EventStatus.TENTATIVE, title="kept"
    )
    made = s.create(rich, "k")
    assert made.item == _event(1).with_(title="kept")
    s.edit(made.id, rich)
    assert s.live()[made.id].item.attendees == ()


def test_etags_guard_updates_and_deletes() -> None:
    s: MemorySide[Event] = MemorySide("google")
    r = s.create(make_event("a"), "k1")
    r2 = s.update(r.id, make_event("b"), r.etag)
    assert r2.etag != r.etag
    with pytest.raises(PreconditionFailed):
        s.update(r.id, make_event("c"), r.etag)
    with pytest.raises(PreconditionFailed):
        s.delete(r.id, r.etag)
    s.delete(r.id, r2.etag)
    s.delete(r.id, None)  # deleting a deleted item is no error
    assert s.get(r.id) is None


def test_cursor_lists_changes_and_deletions_and_expires() -> None:
    s: MemorySide[Event] = MemorySide("crm")
    a = s.put(make_event("a"))
    full = s.changes(None)
    assert full.full and [r.id for r in full.items] == [a]
    b = s.put(make_event("b"))
    s.remove(a)
    inc = s.changes(full.cursor)
    assert [r.id for r in inc.items] == [b] and inc.deleted == [a] and not inc.full
    s.expire_cursors()
    with pytest.raises(InvalidSyncToken):
        s.changes(inc.cursor)


def test_key_ids_make_a_retried_insert_hit_already_exists_even_after_delete() -> None:
    s: MemorySide[Event] = MemorySide("google", key_ids=True)
    r = s.create(make_event("a"), "c.1")
    assert r.id == key_to_id("c.1") and r.key == "c.1"
    s.delete(r.id, None)
    with pytest.raises(AlreadyExists) as err:
        s.create(make_event("a"), "c.1")
    assert err.value.existing_id == r.id


def test_fault_plan_applied_reply_lost() -> None:
    s: MemorySide[Event] = MemorySide("google")
    s.fail_next(1, TransientError, "create", applied=True)
    with pytest.raises(TransientError):
        s.create(make_event("a"), "k")
    assert len(s.live()) == 1
