"""The embedded CRM calendar seen as a `Side`: one user's events or to-dos.

Terminology (see calsync.sides.base): *id* is the row id as text; *etag* is the row's version;
*cursor* is the global change sequence number at the time of a read; *key* is the link key
given at create time, else None. A series is one item: its master row with its exceptions
(override rows, keyed by original start) inside `Event.overrides`. Deletions leave
tombstones, so `changes(cursor)` reports them; a cursor from the future, or older than
purged tombstones, is refused with InvalidSyncToken.

Public API: `LocalSide`, `next_seq`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from calsync.errors import (
    AlreadyExists,
    InvalidItem,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
    unreadable,
)
from calsync.model import Event, Item
from calsync.sides.base import ChangeSet, Remote, Side
from calsync.sides.local import tables as t
from calsync.sides.local.codec import Codec, override_from_row, override_values
from calsync.sides.series import kept

T = TypeVar("T", bound=Item)

_LOGGER = logging.getLogger(__name__)


def next_seq(conn: sa.Connection) -> int:
    """Bump the global change sequence and return its new value (serialises writers)."""
    value = conn.execute(
        t.sequence.update()
        .where(t.sequence.c.id == 1)
        .values(value=t.sequence.c.value + 1)
        .returning(t.sequence.c.value)
    ).scalar_one()
    return int(value)


def current_seq(conn: sa.Connection) -> tuple[int, int]:
    """Return the change sequence's (value, floor)."""
    row = conn.execute(sa.select(t.sequence.c.value, t.sequence.c.floor)).one()
    return int(row.value), int(row.floor)


@functools.cache
def _changed_since(table: sa.Table) -> sa.Select[Any]:
    """Return the change sequence's value and floor (`seq_now`, `seq_floor`) joined with the
    rows of `table` owned by `:owner` changed after `:since`, by sequence: one row with no
    item columns when none changed. Built once per table (building costs more than running)."""
    s = t.sequence.c
    changed = sa.and_(table.c.owner == sa.bindparam("owner"), table.c.seq > sa.bindparam("since"))
    return (
        sa.select(s.value.label("seq_now"), s.floor.label("seq_floor"), table)
        .select_from(t.sequence.outerjoin(table, changed))
        .order_by(table.c.seq)
    )


def _row_id(id: str) -> int | None:
    try:
        value = int(id)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


class LocalSide(Generic[T]):
    """One user's events (or to-dos) in the embedded CRM, behind the Side protocol."""

    name = "crm"

    def __init__(
        self, engine: sa.Engine, codec: Codec[T], user: str, now: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._table = codec.table
        self.user = user
        self._now = now

    def _remote(self, row: Any, overrides: Sequence[Any] = ()) -> Remote[T]:
        """Return the row as an item; InvalidItem when its columns do not make one.

        `overrides` are the rows of a series' exceptions; those the rule no longer makes (a
        series shortened by a split, a rule edited) or that change nothing are left out.
        """
        with unreadable(f"CRM {self._codec.kind} {row.id}"):
            item = self._codec.item(row)
            if isinstance(item, Event) and item.recurrence is not None and overrides:
                found = kept(item, (override_from_row(o) for o in overrides))
                item = item.with_(overrides=found)  # type: ignore[assignment]
        # Only a link key calsync stored is a key: a CRM-born item has none, like on vtiger.
        return Remote(str(row.id), str(row.version), item, row.link_key)

    def _overrides(self, conn: sa.Connection, rows: Sequence[Any]) -> dict[int, list[Any]]:
        """Return the override rows of the series among `rows`, by master id."""
        if self._table is not t.events:
            return {}
        ids = [r.id for r in rows if not r.deleted and r.recurrence]
        found: dict[int, list[Any]] = {}
        ov = t.event_overrides
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for o in conn.execute(sa.select(ov).where(ov.c.master_id.in_(chunk))).all():
                found.setdefault(o.master_id, []).append(o)
        return found

    def _store_overrides(self, conn: sa.Connection, master_id: int, item: T) -> None:
        """Replace the series' override rows with the item's overrides."""
        if self._table is not t.events:
            return
        ov = t.event_overrides
        conn.execute(ov.delete().where(ov.c.master_id == master_id))
        if isinstance(item, Event) and item.recurrence is not None and item.overrides:
            one_each = {o.ident(): o for o in item.overrides}  # one row per original start
            for o in one_each.values():
                conn.execute(ov.insert().values(master_id=master_id, **override_values(o)))

    def _collect(
        self, rows: Any, out: ChangeSet[T], overrides: dict[int, list[Any]]
    ) -> ChangeSet[T]:
        for row in rows:
            if row.deleted:
                out.deleted.append(str(row.id))
                continue
            try:
                out.items.append(self._remote(row, overrides.get(row.id, ())))
            except InvalidItem as err:
                # One odd row must neither stop the round nor read as deleted.
                _LOGGER.warning("%s skipped: %s", row.id, err)
                out.skip(str(row.id), str(err))
        return out

    def _row(self, conn: sa.Connection, id: str) -> Any:
        row_id = _row_id(id)
        if row_id is None:
            return None
        return conn.execute(
            sa.select(self._table).where(
                self._table.c.id == row_id, self._table.c.owner == self.user
            )
        ).first()

    def changes(self, cursor: str | None) -> ChangeSet[T]:
        """Return what changed since `cursor` (everything when None), tombstones included."""
        with self._engine.begin() as conn:
            if cursor is None:
                now_seq, _ = current_seq(conn)
                query = sa.select(self._table).where(self._table.c.owner == self.user)
                rows = conn.execute(
                    query.where(self._table.c.deleted == sa.false()).order_by(self._table.c.id)
                ).all()
                found = self._overrides(conn, rows)
                return self._collect(rows, ChangeSet(cursor=str(now_seq), full=True), found)
            since = _row_id(cursor) if cursor != "0" else 0
            if since is None:
                raise InvalidSyncToken(f"cursor {cursor!r} is not valid here")
            # One statement reads the sequence and the rows changed since (none, mostly).
            joined = conn.execute(
                _changed_since(self._table), {"owner": self.user, "since": since}
            ).all()
            now_seq, floor = int(joined[0].seq_now), int(joined[0].seq_floor)
            if since > now_seq or since < floor:
                raise InvalidSyncToken(f"cursor {cursor!r} is not valid here (now {now_seq})")
            rows = [r for r in joined if r.id is not None]  # no change: the sequence alone
            found = self._overrides(conn, rows)
        return self._collect(rows, ChangeSet(cursor=str(now_seq)), found)

    def get(self, id: str) -> Remote[T] | None:
        """Return the item `id`, or None when missing, deleted or someone else's."""
        with self._engine.begin() as conn:
            row = self._row(conn, id)
            if row is None or row.deleted:
                return None
            found = self._overrides(conn, [row])
        return self._remote(row, found.get(row.id, ()))

    def create(self, item: T, key: str | None = None) -> Remote[T]:
        """Create `item` (storing the link `key`, if any)."""
        values = self._codec.values(item)
        now = self._now()
        with self._engine.begin() as conn:
            if key is not None:
                # One live item per link key: a create retried after a crash or a lost reply
                # (whose copy a listing may not show) is told apart from a new one, as Google
                # does with our ids.
                held = conn.execute(
                    sa.select(self._table.c.id).where(
                        self._table.c.owner == self.user,
                        self._table.c.link_key == key,
                        self._table.c.deleted == sa.false(),
                    )
                ).first()
                if held is not None:
                    raise AlreadyExists(
                        f"{self._codec.kind} {held.id} already holds {key}",
                        existing_id=str(held.id),
                    )
            seq = next_seq(conn)
            result = conn.execute(
                self._table.insert().values(
                    owner=self.user,
                    link_key=key,
                    version=1,
                    seq=seq,
                    deleted=False,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            new_id = result.inserted_primary_key
            assert new_id is not None
            self._store_overrides(conn, new_id[0], item)
            row = conn.execute(sa.select(self._table).where(self._table.c.id == new_id[0])).one()
            found = self._overrides(conn, [row])
        return self._remote(row, found.get(row.id, ()))

    def update(self, id: str, item: T, etag: str | None) -> Remote[T]:
        """Replace the content of `id`; PreconditionFailed when `etag` is not its version."""
        values = self._codec.values(item)
        with self._engine.begin() as conn:
            row = self._row(conn, id)
            if row is None or row.deleted:
                raise NotFound(f"no {self._codec.kind} {id} for {self.user}")
            if etag is not None and etag != str(row.version):
                raise PreconditionFailed(f"{id} is at version {row.version}, not {etag}")
            self._write(conn, row, values)
            self._store_overrides(conn, row.id, item)
            row = conn.execute(sa.select(self._table).where(self._table.c.id == row.id)).one()
            found = self._overrides(conn, [row])
        return self._remote(row, found.get(row.id, ()))

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id`, leaving a tombstone; deleting a missing or deleted item is no error."""
        with self._engine.begin() as conn:
            row = self._row(conn, id)
            if row is None or row.deleted:
                return
            if etag is not None and etag != str(row.version):
                raise PreconditionFailed(f"{id} is at version {row.version}, not {etag}")
            self._write(conn, row, {"deleted": True})

    def _write(self, conn: sa.Connection, row: Any, values: dict[str, Any]) -> None:
        # The version check and the write happen in one transaction; the WHERE on version
        # keeps a concurrent writer (another process) from being overwritten silently.
        done = conn.execute(
            self._table.update()
            .where(self._table.c.id == row.id, self._table.c.version == row.version)
            .values(version=row.version + 1, seq=next_seq(conn), updated_at=self._now(), **values)
        )
        if done.rowcount != 1:
            raise PreconditionFailed(f"{row.id} changed while being written")


def _conforms(side: LocalSide[Event]) -> Side[Event]:
    # Lets mypy prove LocalSide implements the Side protocol.
    return side
