"""One contract every Side implementation passes, whatever it talks to.

Each side's test module subclasses `SideContract` in a few lines: a `side` fixture, `make(n)`,
the capability flags that say what the side can do, and the hooks that reach behind the side
(an emulator's control API, the embedded CRM's database) to plant an unreadable item or
expire a cursor. Items are compared by content hash over the fields the side can hold, since
a side may normalise what it stores (the zone of all-day dates, fields it has no place for).

The rules checked here are the ones the engine relies on:
- reads and writes carry versions: a stale etag is refused with PreconditionFailed;
- a full listing then an increment report every change and deletion since the cursor;
- deleting twice is no error, a missing item reads as None;
- a side that can store our key returns it, one that derives ids from it refuses a second create;
- an item the side cannot read is `InvalidItem` on `get` (never a ValueError or KeyError) and
  `skipped` in a listing (never an item, never a deletion);
- a cursor the side can no longer use is `InvalidSyncToken` or a full listing;
- batch reads, window-bounded listings and series behave as the flags say.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import pytest

from calsync.errors import AlreadyExists, InvalidItem, InvalidSyncToken, PreconditionFailed
from calsync.model import Event, Item, Override, Recurrence, When, content_hash
from calsync.sides.base import Remote, Side
from calsync.sides.series import occurrence_at, occurrences, original_of


class SideContract:
    """Behaviour shared by every side: CRUD with etags, changes with cursors, idempotent delete."""

    stores_key: ClassVar[bool] = False
    """The side keeps our key on the item and returns it as `Remote.key`."""
    deterministic_ids: ClassVar[bool] = False
    """`create` derives the id from the key, so a second create raises AlreadyExists."""
    checks_etags: ClassVar[bool] = True
    """`update`/`delete` with a stale etag raise PreconditionFailed."""
    batch_reads: ClassVar[bool] = False
    """The side has `get_many` (one call for many ids)."""
    window_listing: ClassVar[bool] = False
    """A full listing holds only items inside the side's time window; `get` still finds the
    others. Such a listing is no proof that a missing item was deleted."""
    holds_series: ClassVar[bool] = False
    """A recurring event is one item that keeps its rule (not one item per occurrence)."""
    blind: ClassVar[frozenset[str]] = frozenset()
    """Fields the side has no place for; they are left out of content comparisons."""

    # -- what each side's module provides --------------------------------------------------

    def make(self, n: int) -> Item:
        """Return the n-th distinct item of the side's kind (n from 1 to 9)."""
        raise NotImplementedError

    def outside_window(self) -> Item:
        """Return an item outside the side's listing window (window_listing sides)."""
        raise NotImplementedError

    def plant_unreadable(self, side: Side[Any], made: Remote[Any]) -> str | None:
        """Plant an item the side cannot read, behind its back; return its id.

        A side may corrupt `made` in place (its database, an emulator's raw edit) or store a
        new bad record (vtiger's raw records).

        None when the side cannot hold an unreadable item (it stores domain objects).
        """
        return None

    def expire(self, side: Side[Any], cursor: str) -> str | None:
        """Make `cursor` unusable behind the side's back and return the cursor to try.

        None when the side's cursors never expire.
        """
        return None

    def tick(self) -> None:
        """Let the side's clock move on between writes (sides with coarse modification times)."""

    def _hash(self, item: Item) -> str:
        return content_hash(item, self.blind)

    # -- CRUD --------------------------------------------------------------------------------

    def test_create_then_get(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        got = side.get(made.id)
        assert got is not None and got.id == made.id and got.etag == made.etag
        assert self._hash(got.item) == self._hash(self.make(1))
        if self.stores_key:
            assert made.key == got.key == "k1"
        else:
            assert got.key is None

    def test_get_missing_is_none(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        side.delete(made.id, made.etag)
        assert side.get(made.id) is None

    def test_update_guarded_by_etag(self, side: Side[Any]) -> None:
        made = side.create(self.make(1), "k1")
        self.tick()
        updated = side.update(made.id, self.make(2), made.etag)
        assert updated.etag != made.etag
        assert self._hash(updated.item) == self._hash(self.make(2))
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

    # -- listings ----------------------------------------------------------------------------

    def test_full_then_incremental_changes(self, side: Side[Any]) -> None:
        a = side.create(self.make(1), "k1")
        b = side.create(self.make(2), "k2")
        full = side.changes(None)
        assert full.full
        assert {a.id, b.id} <= {r.id for r in full.items}
        self.tick()
        side.update(a.id, self.make(3), a.etag)
        side.delete(b.id, b.etag)
        self.tick()
        inc = side.changes(full.cursor)
        assert not inc.full
        assert a.id in {r.id for r in inc.items} and b.id in inc.deleted
        changed = next(r for r in inc.items if r.id == a.id)
        assert self._hash(changed.item) == self._hash(self.make(3))

    def test_expired_cursor_is_invalid_or_full(self, side: Side[Any]) -> None:
        a = side.create(self.make(1), "k1")
        b = side.create(self.make(2), "k2")
        cursor = side.changes(None).cursor
        assert cursor is not None
        side.delete(b.id, None)
        self.tick()
        stale = self.expire(side, cursor)
        if stale is None:
            pytest.skip("this side's cursors never expire")
        try:
            again = side.changes(stale)
        except InvalidSyncToken:
            return
        # A side may answer a cursor it cannot use with everything it has, said so.
        assert again.full
        assert a.id in {r.id for r in again.items} and b.id not in {r.id for r in again.items}

    def test_window_bounded_full_listing(self, side: Side[Any]) -> None:
        inside = side.create(self.make(1), "k1")
        if not self.window_listing:
            far = side.create(self.far_item(), "k2")
            assert {inside.id, far.id} <= {r.id for r in side.changes(None).items}
            return
        outside = side.create(self.outside_window(), "k2")
        listed = {r.id for r in side.changes(None).items}
        assert inside.id in listed and outside.id not in listed
        # Absent from the listing is not gone: a read by id still finds it.
        assert side.get(outside.id) is not None

    def far_item(self) -> Item:
        """Return an item years away from today (sides without a window list it anyway)."""
        item = self.make(4)
        if isinstance(item, Event):
            start = datetime(2019, 1, 7, 8, tzinfo=UTC)
            return item.with_(when=When(start, start + timedelta(hours=1), "UTC"))
        return item.with_(due=date(2019, 1, 7))

    # -- reads -------------------------------------------------------------------------------

    def test_batch_reads(self, side: Side[Any]) -> None:
        a = side.create(self.make(1), "k1")
        b = side.create(self.make(2), "k2")
        side.delete(b.id, None)
        if not self.batch_reads:
            assert not hasattr(side, "get_many")
            return
        found = side.get_many([a.id, b.id])  # type: ignore[attr-defined]
        assert found[b.id] is None
        assert found[a.id] is not None and found[a.id].etag == side.get(a.id).etag  # type: ignore[union-attr]

    def test_unreadable_item_is_invalid_item(self, side: Side[Any]) -> None:
        good = side.create(self.make(1), "k1")
        made = side.create(self.make(2), "k2")
        cursor = side.changes(None).cursor
        self.tick()
        bad = self.plant_unreadable(side, made)
        if bad is None:
            pytest.skip("this side holds domain objects: nothing in it can be unreadable")
        self.tick()
        full = side.changes(None)
        assert bad in full.skipped and bad not in {r.id for r in full.items}
        assert good.id in {r.id for r in full.items}
        inc = side.changes(cursor)
        assert bad not in {r.id for r in inc.items} and bad not in inc.deleted
        with pytest.raises(InvalidItem):
            side.get(bad)
        if self.batch_reads:
            # One unreadable item may fail the batch, but only as InvalidItem.
            try:
                found = side.get_many([good.id, bad])  # type: ignore[attr-defined]
            except InvalidItem:
                pass
            else:
                assert found[good.id] is not None

    # -- series --------------------------------------------------------------------------------

    def test_series_is_one_item(self, side: Side[Any]) -> None:
        item = self.make(1)
        if not isinstance(item, Event):
            pytest.skip("to-dos have no series")
        if not self.holds_series:
            assert "recurrence" in self.blind, "a side without series must not claim the rule"
            return
        series = item.with_(recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=3",)))
        made = side.create(series, "k1")
        got = side.get(made.id)
        assert got is not None and got.item.recurrence == series.recurrence
        assert [r.id for r in side.changes(None).items].count(made.id) == 1

    def test_series_keeps_its_exceptions(self, side: Side[Any]) -> None:
        """A moved and a cancelled occurrence are the series' overrides, keyed by original
        start; editing one, cancelling another and restoring a third write the series whole;
        the series stays one item with one version."""
        item = self.make(2)
        if not isinstance(item, Event) or not self.holds_series:
            pytest.skip("only sides that hold series keep exceptions")
        series = item.with_(recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=4",)))
        lo, hi = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
        second, third, fourth = (
            original_of(series, e.when.start) for e in occurrences(series, lo, hi)[1:]
        )
        moved = occurrence_at(series, second).with_(title="moved one", location="room 9")
        with_two = series.with_(overrides=(Override(second, moved), Override(third)))
        made = side.create(with_two, "k-series")
        cursor = side.changes(None).cursor
        got = side.get(made.id)
        assert got is not None and self._hash(got.item) == self._hash(with_two)
        assert sorted(o.ident() for o in got.item.overrides) == [
            Override(second).ident(),
            Override(third).ident(),
        ]
        edited = series.with_(
            overrides=(Override(second, moved.with_(title="moved again")), Override(fourth))
        )
        updated = side.update(made.id, edited, got.etag)
        assert updated.etag != got.etag, (updated.item.overrides, edited.overrides)
        assert self._hash(updated.item) == self._hash(edited), (
            updated.item.overrides,
            edited.overrides,
        )
        again = side.get(made.id)
        assert (
            again is not None
            and self._hash(again.item) == self._hash(edited)
            and again.etag == updated.etag
        )
        inc = side.changes(cursor)
        assert [r.id for r in inc.items] == [made.id]
        assert self._hash(inc.items[0].item) == self._hash(edited)
        if self.checks_etags:
            with pytest.raises(PreconditionFailed):
                side.update(made.id, with_two, got.etag)
