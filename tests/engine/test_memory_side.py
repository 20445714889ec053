"""The in-memory Side behaves like a real one: etags, cursors, tombstones, key-derived ids."""

import pytest

from calsync.errors import AlreadyExists, InvalidSyncToken, PreconditionFailed, TransientError
from calsync.sides.memory import MemorySide, key_to_id
from tests.engine.helpers import make_event


def test_etags_guard_updates_and_deletes() -> None:
    s: MemorySide = MemorySide("google")
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
    s: MemorySide = MemorySide("crm")
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
    s: MemorySide = MemorySide("google", key_ids=True)
    r = s.create(make_event("a"), "c.1")
    assert r.id == key_to_id("c.1") and r.key == "c.1"
    s.delete(r.id, None)
    with pytest.raises(AlreadyExists) as err:
        s.create(make_event("a"), "c.1")
    assert err.value.existing_id == r.id


def test_fault_plan_applied_reply_lost() -> None:
    s: MemorySide = MemorySide("google")
    s.fail_next(1, TransientError, "create", applied=True)
    with pytest.raises(TransientError):
        s.create(make_event("a"), "k")
    assert len(s.live()) == 1
