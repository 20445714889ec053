"""What the engine needs from a state store: pairs, cursors, logs (implemented in calsync.state).

Kept as a protocol so the engine stays free of SQLAlchemy; tests use an in-memory store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from calsync.engine.pairs import Kind, Pair
from calsync.model import Item


@dataclass(frozen=True, slots=True)
class Conflict:
    """Both versions of an item changed on both sides, and which one won."""

    user: str
    kind: Kind
    key: str
    winner: str
    """`crm` or `google`."""
    crm_version: dict[str, Any] | None
    """The CRM copy as read (model.as_dict), None when it was deleted."""
    google_version: dict[str, Any] | None
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a user's sync log."""

    user: str
    at: datetime
    action: str
    """e.g. create, update, delete, skip, conflict, error, blocked."""
    side: str = ""
    """The side written (`crm` | `google`), or empty."""
    key: str = ""
    title: str = ""
    message: str = ""
    level: str = "info"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Touching:
    """What an incremental round listed: the pairs it needs are the ones these name.

    A pair matters to such a round when it holds one of the listed (or deleted) ids on its
    side or one of the listed keys (an intent row adopted by key), when it is dirty (read
    again by id), or when a copy's id is missing (adopted by content or planned alone). The
    other rows of a quiet round are never read.
    """

    crm_ids: frozenset[str] = frozenset()
    google_ids: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.crm_ids) + len(self.google_ids) + len(self.keys)

    def matches(self, pair: Pair) -> bool:
        """Return True when `pair` is one the round needs."""
        return (
            pair.dirty
            or pair.crm_id is None
            or pair.google_id is None
            or pair.crm_id in self.crm_ids
            or pair.google_id in self.google_ids
            or pair.key in self.keys
        )


class PairStore(Protocol):
    """Durable state of one or more users' syncs."""

    def pairs(self, user: str, kind: Kind) -> list[Pair]:
        """Return every linked pair of `user` and `kind`."""
        ...

    def pairs_touching(self, user: str, kind: Kind, touching: Touching) -> list[Pair]:
        """Return the pairs of `user` and `kind` that `touching` matches, in every scope (a
        Google calendar or task list), by key."""
        ...

    def count_pairs(self, user: str, kind: Kind, scope: str) -> int:
        """Return how many pairs of `user` and `kind` are in `scope`."""
        ...

    def put_pair(self, pair: Pair) -> None:
        """Insert or replace the pair with the same (user, kind, key)."""
        ...

    def delete_pair(self, user: str, kind: Kind, key: str) -> None:
        """Forget a pair (both copies are gone)."""
        ...

    def google_copies(self, user: str, kind: Kind, keys: Sequence[str]) -> dict[str, Item]:
        """Return Google's copy as last synced of each pair in `keys` that has one kept."""
        ...

    def cursor(self, user: str, name: str) -> str | None:
        """Return the stored cursor `name` (e.g. `google:primary`, `crm:event`)."""
        ...

    def set_cursor(self, user: str, name: str, value: str | None) -> None:
        """Store (or clear, with None) the cursor `name`."""
        ...

    def add_conflict(self, conflict: Conflict) -> None:
        """Keep both versions of a conflict."""
        ...

    def add_log(self, entry: LogEntry) -> None:
        """Append a line to the sync log."""
        ...

    def commit(self) -> None:
        """Make everything written so far durable (called after each applied action).

        Raises LeaseLost, writing nothing, when the round no longer holds the user's lease.
        """
        ...

    def rollback(self) -> None:
        """Drop everything written since the last commit."""
        ...

    def prove(self) -> None:
        """Raise LeaseLost when the round no longer holds the user's lease (before a side
        write, so a round that lost it sends nothing more); otherwise do nothing."""
        ...
