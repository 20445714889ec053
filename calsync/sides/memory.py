"""An in-memory Side (events or tasks) with etags, a change cursor, tombstones and a fault plan.

A real implementation of `calsync.sides.base.Side`, not a mock: the engine's property tests run
against two of these (as vdirsyncer's memory storage). Google-like behaviour is switchable:
`key_ids=True` derives ids from our link key (base32hex, like calsync's client-chosen Google
ids) so a re-create with the same key hits AlreadyExists, even after a delete (tombstones keep
ids); `store_keys=True` keeps the key on the item (Google's `extendedProperties.private`).
A side that stores keys without deriving ids from them (the embedded CRM) holds one live item
per key: a second create with it is AlreadyExists. CRM-like limits too: `store_keys=False`
(vtiger has no place for our key), `blind` event fields the side cannot hold (reset to their
defaults on every write, as vtiger drops attendees), and
`window`, which bounds full listings in time as calsync's Google listings are bounded by the
sync window (increments still report every change, as a sync token does), `degrade`, what a
CRM makes of the text it stores (vtiger's 3-byte utf8 turns emoji into `??`), and `stores`,
what it makes of a whole item (vtiger keeps one reminder).

Public API: `MemorySide(name, clock=..., key_ids=..., store_keys=...)` with the Side methods,
and `BatchMemorySide` with `get_many` and `write_many` too (batches, as Google's); user-side
edits that bypass faults (`put`, `edit`, `touch`, `remove`); the fault plan (`fail_next`,
`list_empty_next`, `expire_cursors`, `clear_faults`); `live()`; `writes`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from calsync.errors import (
    AdapterError,
    AlreadyExists,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
)
from calsync.model import Event, Item, Task
from calsync.sides.base import ChangeSet, Remote, Write, WriteOp, WriteResult

TEXT_FIELDS = ("title", "description", "location")
"""Text fields of an event (a task's are title and notes)."""

T = TypeVar("T", bound=Item)


def key_to_id(key: str) -> str:
    """Return the base32hex id derived from `key` (Google's alphabet: 0-9, a-v)."""
    return base64.b32hexencode(key.encode()).decode().lower().rstrip("=")


@dataclass(slots=True)
class _Entry(Generic[T]):
    item: T
    etag: str
    seq: int
    key: str | None
    deleted: bool = False
    series: str | None = None


@dataclass(slots=True)
class Fault:
    """One planned failure: the next call of `op` (any op when None) raises `error`."""

    error: type[AdapterError]
    op: str | None = None
    applied: bool = False
    """Do the call, then raise: "applied, reply lost"."""


class ReadOnlyViolation(AssertionError):
    """A write reached a side the test declared read-only (direction is absolute)."""


@dataclass
class MemorySide(Generic[T]):
    """One calendar or task list kept in memory."""

    name: str
    clock: Callable[[], datetime] = field(default=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    key_ids: bool = False
    store_keys: bool = True
    read_only: bool = False
    """When True any protocol write raises ReadOnlyViolation (a test guard, not a feature)."""
    blind: frozenset[str] = frozenset()
    """Event fields this side cannot hold: every write stores their default instead."""
    window: Callable[[], tuple[datetime, datetime]] | None = None
    """When set, a full listing holds only events overlapping this (start, end) range."""
    degrade: Callable[[str], str] | None = None
    """What the side makes of the text it stores (a CRM on a 3-byte utf8 database turns
    emoji into `??`), applied to every text field written, by calsync or by a user."""
    stores: Callable[[T], T] | None = None
    """What the side makes of an item it stores, when it holds some fields lossily (vtiger
    keeps one reminder), applied to every write, by calsync or by a user."""
    entries: dict[str, _Entry[T]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    writes: int = 0
    """Protocol writes (create/update/delete) that reached the store."""
    calls: list[str] = field(default_factory=list)
    before_write: list[Callable[[], None]] = field(default_factory=list)
    """Callbacks run just before the next protocol write (a concurrent user edit)."""
    _seq: int = 0
    _ids: int = 0
    _epoch: int = 0
    _empty_next: bool = False

    # -- the Side protocol -------------------------------------------------------------

    def changes(self, cursor: str | None) -> ChangeSet[T]:
        """Return items changed since `cursor` (all live items when None)."""
        self._fault("changes")
        if self._empty_next:
            self._empty_next = False
            # A glitch, not a lie: the cursor handed out still covers what was not listed.
            return ChangeSet(items=[], deleted=[], cursor=f"{self._epoch}:0", full=True)
        since = -1
        if cursor is not None:
            epoch, _, seq = cursor.partition(":")
            if not seq.isdigit() or epoch != str(self._epoch):
                raise InvalidSyncToken(f"{self.name}: cursor {cursor!r} is no longer valid")
            since = int(seq)
        out: ChangeSet[T] = ChangeSet(cursor=self._cursor(), full=cursor is None)
        for id_, e in sorted(self.entries.items(), key=lambda kv: kv[1].seq):
            if e.seq <= since:
                continue
            if e.deleted:
                if cursor is not None:
                    out.deleted.append(id_)
            elif cursor is not None or self._in_window(e.item):
                out.items.append(self._remote(id_, e))
        return out

    def get(self, id: str) -> Remote[T] | None:
        """Return the live item `id`, or None."""
        self._fault("get")
        e = self.entries.get(id)
        return None if e is None or e.deleted else self._remote(id, e)

    def create(self, item: T, key: str) -> Remote[T]:
        """Create `item`; with key_ids the id comes from `key` and must be unused (even deleted)."""
        fault = self._fault("create")
        self._guard()
        if self.key_ids:
            id_ = key_to_id(key)
            if id_ in self.entries:
                raise AlreadyExists(f"{self.name}: {id_} already exists", existing_id=id_)
        else:
            # A side that stores our key holds at most one live item per key (the embedded CRM).
            held = self.store_keys and next(
                (i for i, e in self.entries.items() if e.key == key and not e.deleted), None
            )
            if held:
                raise AlreadyExists(f"{self.name}: {held} already holds {key}", existing_id=held)
            self._ids += 1
            id_ = f"{self.name[0]}{self._ids}"
        e = self._store(id_, item, key if self.store_keys else None)
        return self._reply(fault, id_, e)

    def update(self, id: str, item: T, etag: str | None) -> Remote[T]:
        """Replace the content of `id`; PreconditionFailed when `etag` is stale."""
        fault = self._fault("update")
        self._guard()
        e = self._live(id)
        if etag is not None and etag != e.etag:
            raise PreconditionFailed(f"{self.name}: {id} changed since {etag}")
        e = self._store(id, item, e.key, e.series)
        return self._reply(fault, id, e)

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id` (a tombstone keeps the id); deleting a deleted item is no error."""
        fault = self._fault("delete")
        self._guard()
        e = self.entries.get(id)
        if e is None or e.deleted:
            return
        if etag is not None and etag != e.etag:
            raise PreconditionFailed(f"{self.name}: {id} changed since {etag}")
        self._tombstone(id)
        if fault is not None:
            raise fault.error(f"{self.name}: delete applied, reply lost")

    # -- what a user does on that side (never faulted, never counted as sync writes) -----

    def put(self, item: T, id: str | None = None, series: str | None = None) -> str:
        """Create an item as a user would (no link key); `series` lists it as one occurrence
        of that series (as Google lists a series with `singleEvents`)."""
        if id is None:
            self._ids += 1
            id = f"{self.name[0]}u{self._ids}"
        self._store(id, item, None).series = series
        return id

    def edit(self, id: str, item: T) -> None:
        """Change an item's content as a user would (the link key survives)."""
        e = self._live(id)
        self._store(id, item, e.key, e.series)

    def touch(self, id: str) -> None:
        """Bump the etag and `updated` without changing content (metadata churn)."""
        e = self._live(id)
        self._store(id, e.item, e.key, e.series)

    def remove(self, id: str) -> None:
        """Delete an item as a user would."""
        self._live(id)
        self._tombstone(id)

    def live(self) -> dict[str, Remote[T]]:
        """Return every live item by id."""
        return {i: self._remote(i, e) for i, e in self.entries.items() if not e.deleted}

    # -- fault plan ------------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        error: type[AdapterError],
        op: str | None = None,
        applied: bool = False,
    ) -> None:
        """Make the next `n` matching calls fail with `error` (after applying, if `applied`)."""
        self.faults.extend(Fault(error, op, applied) for _ in range(n))

    def list_empty_next(self) -> None:
        """Make the next `changes()` return an empty full listing (a flaky backend)."""
        self._empty_next = True

    @property
    def empty_pending(self) -> bool:
        """True while an empty listing asked for by `list_empty_next` has not been served."""
        return self._empty_next

    def expire_cursors(self) -> None:
        """Invalidate every cursor handed out so far (Google's 410)."""
        self._epoch += 1

    def clear_faults(self) -> None:
        """Drop every planned fault."""
        self.faults.clear()
        self._empty_next = False

    # -- internals -------------------------------------------------------------------------

    def _cursor(self) -> str:
        return f"{self._epoch}:{self._seq}"

    def _fault(self, op: str) -> Fault | None:
        self.calls.append(op)
        for i, f in enumerate(self.faults):
            if f.op is None or f.op == op:
                del self.faults[i]
                if f.applied and op in ("create", "update", "delete"):
                    return f
                raise f.error(f"{self.name}: injected {f.error.__name__} on {op}")
        return None

    def _guard(self) -> None:
        while self.before_write:
            # A user edit that lands between the engine's read and its write (tests 412).
            self.before_write.pop(0)()
        if self.read_only:
            raise ReadOnlyViolation(f"{self.name} is read-only in this direction")
        self.writes += 1

    def _reply(self, fault: Fault | None, id_: str, e: _Entry[T]) -> Remote[T]:
        if fault is not None:
            raise fault.error(f"{self.name}: write applied, reply lost")
        return self._remote(id_, e)

    def _live(self, id: str) -> _Entry[T]:
        e = self.entries.get(id)
        if e is None or e.deleted:
            raise NotFound(f"{self.name}: no item {id}")
        return e

    def _stamp(self) -> datetime:
        # Each write gets a distinct, increasing `updated`, even with a frozen clock.
        self._seq += 1
        return self.clock() + timedelta(microseconds=self._seq)

    def _in_window(self, item: T) -> bool:
        if self.window is None or not isinstance(item, Event):
            return True
        low, high = self.window()
        return _instant(item.when.start) < high and _instant(item.when.end) > low

    def _store(self, id_: str, item: T, key: str | None, series: str | None = None) -> _Entry[T]:
        if self.blind and isinstance(item, Event):
            item = replace(item, **_defaults_of(self.blind))  # type: ignore[arg-type]
        if self.stores is not None:
            item = self.stores(item)
        if self.degrade is not None:
            texts = ("title", "notes") if isinstance(item, Task) else TEXT_FIELDS
            changes: dict[str, Any] = {f: self.degrade(getattr(item, f)) for f in texts}
            item = replace(item, **changes)
        stamped = replace(item, updated=self._stamp())
        e = _Entry(stamped, f'"{self.name}-{self._seq}"', self._seq, key, series=series)
        self.entries[id_] = e
        return e

    def _tombstone(self, id_: str) -> None:
        e = self.entries[id_]
        self._stamp()
        self.entries[id_] = _Entry(e.item, f'"{self.name}-{self._seq}"', self._seq, e.key, True)

    def _remote(self, id_: str, e: _Entry[T]) -> Remote[T]:
        return Remote(id=id_, etag=e.etag, item=e.item, key=e.key, series=e.series)


def _instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), UTC)


def _defaults_of(names: frozenset[str]) -> dict[str, object]:
    """Return the default value of each Event field in `names`."""
    out: dict[str, object] = {}
    for f in fields(Event):
        if f.name in names:
            assert f.default is not MISSING, f"{f.name} has no default"
            out[f.name] = f.default
    return out


@dataclass
class BatchMemorySide(MemorySide[T]):
    """A MemorySide that also reads and writes many ids in one call, as Google's batch
    endpoint does (each write answered on its own, faults hitting single parts)."""

    batch_size: int = 50
    batches: int = 0
    """`write_many` calls made (round trips of writes)."""

    def write_many(self, writes: Sequence[Write[T]]) -> list[WriteResult[T]]:
        """Apply `writes` one by one and return each outcome (an error stays with its part)."""
        self.batches += 1
        out: list[WriteResult[T]] = []
        for w in writes:
            try:
                if w.op is WriteOp.CREATE:
                    assert w.item is not None
                    out.append(self.create(w.item, w.key))
                elif w.op is WriteOp.UPDATE:
                    assert w.item is not None
                    out.append(self.update(w.id, w.item, w.etag))
                else:
                    self.delete(w.id, w.etag)
                    out.append(None)
            except AdapterError as err:
                out.append(err)
        return out

    def get_many(self, ids: Sequence[str]) -> dict[str, Remote[T] | None]:
        """Return the live items `ids` (None for gone ones) in one call, as Google's batch."""
        self._fault("get_many")
        out: dict[str, Remote[T] | None] = {}
        for id_ in ids:
            e = self.entries.get(id_)
            out[id_] = None if e is None or e.deleted else self._remote(id_, e)
        return out
