"""A view of a side restricted to some of its items (a CRM seen from one secondary calendar).

Secondary (e.g. shared) Google calendars bring their events into the CRM, but CRM-born
events belong to the user's main calendar only: from a secondary calendar's round the CRM
shows just the items linked to that calendar, plus what the round itself creates.
"""

from __future__ import annotations

from typing import Generic

from calsync.sides.base import ChangeSet, Remote, Side, T


class ScopedSide(Generic[T]):
    """`inner`, showing only the ids in `only` (when given; plus the ones created through this
    view) and never the ids in `hide`."""

    def __init__(
        self, inner: Side[T], only: set[str] | None = None, hide: set[str] | None = None
    ) -> None:
        self.inner = inner
        self.only = set(only) if only is not None else None
        self.hide = set(hide or ())
        self.name = inner.name

    def _shown(self, id: str) -> bool:
        return id not in self.hide and (self.only is None or id in self.only)

    def changes(self, cursor: str | None) -> ChangeSet[T]:
        cs = self.inner.changes(cursor)
        return ChangeSet(
            items=[r for r in cs.items if self._shown(r.id)],
            deleted=[i for i in cs.deleted if self._shown(i)],
            cursor=cs.cursor,
            full=cs.full,
            skipped=[i for i in cs.skipped if self._shown(i)],
            skip_reasons={i: r for i, r in cs.skip_reasons.items() if self._shown(i)},
            after_round=cs.after_round,
            reread=cs.reread,
        )

    def get(self, id: str) -> Remote[T] | None:
        return self.inner.get(id)

    def create(self, item: T, key: str) -> Remote[T]:
        made = self.inner.create(item, key)
        if self.only is not None:
            self.only.add(made.id)
        return made

    def update(self, id: str, item: T, etag: str | None) -> Remote[T]:
        return self.inner.update(id, item, etag)

    def delete(self, id: str, etag: str | None) -> None:
        self.inner.delete(id, etag)
