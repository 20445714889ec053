"""One contract every Side implementation passes (STYLE point 19).

Subclass `SideContract` in a test module, give it a `side` fixture and `make(n)`; set the
capability flags to what the side can do. Items are compared by content hash, since a side may
normalise what it stores (e.g. the zone of all-day dates).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from calsync.errors import AlreadyExists, PreconditionFailed
from calsync.model import Item, content_hash
from calsync.sides.base import Side


class SideContract:
    """Behaviour shared by every side: CRUD with etags, changes with cursors, idempotent delete."""

    stores_key: ClassVar[bool] = False
    """The side keeps our key on the item and returns it as `Remote.key`."""
    deterministic_ids: ClassVar[bool] = False
    """`create` derives the id from the key, so a second create raises AlreadyExists."""
    checks_etags: ClassVar[bool] = True
    """`update`/`delete` with a stale etag raise PreconditionFailed."""

    def make(self, n: int) -> Item:
        """Return the n-th distinct item of the side's kind."""
        raise NotImplementedError

    def test_create_then_get(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        got = side.get(made.id)
        assert got is not None and got.id == made.id and got.etag == made.etag
        assert content_hash(got.item) == content_hash(self.make(1))
        if self.stores_key:
            assert made.key == got.key == "k1"

    def test_get_missing_is_none(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        side.delete(made.id, made.etag)
        assert side.get(made.id) is None

    def test_update_guarded_by_etag(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        updated = side.update(made.id, self.make(2), made.etag)
        assert updated.etag != made.etag
        assert content_hash(updated.item) == content_hash(self.make(2))
        if self.checks_etags:
            with pytest.raises(PreconditionFailed):
                side.update(made.id, self.make(3), made.etag)
            with pytest.raises(PreconditionFailed):
                side.delete(made.id, made.etag)

    def test_delete_twice_is_fine(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        side.delete(made.id, made.etag)
        side.delete(made.id, None)

    def test_retried_create(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        if not self.deterministic_ids:
            pytest.skip("server-chosen ids")
        with pytest.raises(AlreadyExists):
            side.create(self.make(1), "k1")
        assert side.get(made.id) is not None

    def test_full_then_incremental_changes(self, side: Side[Any]) -> None:
        a = side.create(self.make(1), "k1")
        b = side.create(self.make(2), "k2")
        full = side.changes(None)
        assert full.full
        assert {a.id, b.id} <= {r.id for r in full.items}
        side.update(a.id, self.make(3), a.etag)
        side.delete(b.id, b.etag)
        inc = side.changes(full.cursor)
        assert not inc.full
        assert a.id in {r.id for r in inc.items} and b.id in inc.deleted
        changed = next(r for r in inc.items if r.id == a.id)
        assert content_hash(changed.item) == content_hash(self.make(3))
