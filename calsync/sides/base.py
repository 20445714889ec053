"""The one small interface every side (CRM or Google) implements; errors are in `calsync.errors`.

Terminology:
- *id*: the side's own identifier of an item (a vtiger ws id, a Google event id).
- *etag*: an opaque version string; it changes whenever the item changes on that side.
  For sides without etags it is the modification time as text.
- *cursor*: an opaque resume point for `changes()` (a Google sync token, a vtiger epoch, the
  embedded CRM's change sequence). `None` asks for a full listing.
- *key*: the stable link key calsync derives for a CRM item; a side that can store it
  (Google: `extendedProperties.private`) does, so a wiped state can re-link instead of duplicating.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, runtime_checkable

from calsync.errors import CalsyncError
from calsync.model import Item

T = TypeVar("T", bound=Item)


@dataclass(frozen=True, slots=True)
class Remote(Generic[T]):
    """An item as read from a side, with its id and version."""

    id: str
    etag: str
    item: T
    key: str | None = None
    """Our link key found on the item (Google extended property), if any."""
    series: str | None = None
    """For one occurrence of a recurring series listed occurrence by occurrence (Google's
    `singleEvents`): the series' id on that side. None for anything else."""
    first_id: str | None = None
    """The id the item was first made under, when the side can tell and it differs from `id`
    (Google: an event deleted in one calendar and re-created in another keeps the iCalUID
    `<first id>@google.com`). None for anything else."""


@dataclass(slots=True)
class ChangeSet(Generic[T]):
    """What `changes()` returns: items changed since the cursor, ids deleted, the next cursor."""

    items: list[Remote[T]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cursor: str | None = None
    full: bool = False
    """True when this is a complete listing (first sync or after a 410), not an increment."""
    skipped: list[str] = field(default_factory=list)
    """Ids seen on the side but unreadable (bad record, logged): neither changed nor deleted.
    A full listing that skipped an id must not be read as that item having been deleted."""
    skip_reasons: dict[str, str] = field(default_factory=dict)
    """Why each skipped id was skipped, in words for the user's sync log."""
    after_round: Callable[[], str | None] | None = None
    """Set by a side whose cursor must also cover what the round itself writes to it (vtiger's
    snapshot of known ids must hold the records calsync creates, or their deletion goes
    unseen): returns the cursor to store once the round's writes are done."""

    reread: Callable[[str], bool] | None = None
    """Set on an increment by a side that lists a changed series occurrence by occurrence:
    tells whether an id the increment does not hold must still be read by id, because it is
    an occurrence of a series listed in it whose rule may no longer make it (a "this and
    following" split ends the old series without listing its lost occurrences as deleted)."""

    def final_cursor(self) -> str | None:
        """Return the cursor to store at the end of the round."""
        return self.after_round() if self.after_round is not None else self.cursor

    def skip(self, id: str, reason: str) -> None:
        """Record `id` as unreadable for `reason`."""
        self.skipped.append(id)
        self.skip_reasons[id] = reason


class Side(Protocol[T]):
    """One calendar (or task list) of one user on one side."""

    name: str
    """`crm` or `google`; used in logs and the conflict log."""

    def changes(self, cursor: str | None) -> ChangeSet[T]:
        """Return changes since `cursor` (everything when None); may raise InvalidSyncToken."""
        ...

    def get(self, id: str) -> Remote[T] | None:
        """Return the item `id`, or None when it does not exist or was deleted."""
        ...

    def create(self, item: T, key: str) -> Remote[T]:
        """Create `item`; sides that can store `key` do, and derive stable ids from it."""
        ...

    def update(self, id: str, item: T, etag: str | None) -> Remote[T]:
        """Write the owned fields of `item` over `id`; PreconditionFailed if `etag` is stale."""
        ...

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id`; deleting an already deleted item is not an error."""
        ...


@runtime_checkable
class BatchSide(Side[T], Protocol[T]):
    """A side that can also fetch many items in one call (Google batch).

    The engine reads linked items by id through `get_many` when a side offers it.
    """

    def get_many(self, ids: Sequence[str]) -> dict[str, Remote[T] | None]:
        """Return the items for `ids` (None for gone ones)."""
        ...


@runtime_checkable
class MovableSide(Side[T], Protocol[T]):
    """A side whose items can move between the user's synced collections (Google: an event
    moved to another chosen calendar). Its `name`'s collections are told apart by scope."""

    def get_in(self, scope: str, id: str) -> Remote[T] | None:
        """Return the item `id` of the user's collection `scope`, None when missing or gone."""
        ...

    def locate(self, id: str) -> tuple[str, Remote[T]] | None:
        """Return (scope, item) of the item `id`, gone from this collection, in the other
        synced collection it moved to; None when it is in none of them."""


class WriteOp(enum.StrEnum):
    """What one write of `write_many` does, as the single call of the same name."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Write(Generic[T]):
    """One write of a `write_many` call: `create(item, key)`, `update(id, item, etag)` or
    `delete(id, etag)`."""

    op: WriteOp
    item: T | None = None
    key: str = ""
    """The link key (create)."""
    id: str = ""
    """The item written (update, delete)."""
    etag: str | None = None


WriteResult = Remote[T] | None | CalsyncError
"""The outcome of one write: the new state (create, update), None (delete), or the error the
single call would have raised (e.g. AlreadyExists naming the id, PreconditionFailed)."""


@runtime_checkable
class BatchWriteSide(Side[T], Protocol[T]):
    """A side that can also send many writes in one round trip (Google batch).

    The engine groups the round's writes to such a side into runs of `batch_size` and
    commits each write's state on its own once the run's answers are in. Every part is
    answered on its own: one failing part fails that write only.
    """

    batch_size: int
    """How many writes one `write_many` call should carry (one round trip)."""

    def write_many(self, writes: Sequence[Write[T]]) -> list[WriteResult[T]]:
        """Send `writes` and return one result per write, in order.

        Raises only when the whole request failed (nothing known of any part's outcome).
        """
        ...


_OFFERED: dict[tuple[type, type], bool] = {}


def offers(side: object, protocol: type) -> bool:
    """True when `side` implements the runtime-checkable `protocol` (e.g. `BatchWriteSide`).

    Checked once per class: on Python 3.11 an `isinstance` against a protocol costs ~100 µs,
    and a quiet round asked it seven times per user. Sides declare what they offer in their
    class (methods and class-level attributes), never per instance.
    """
    key = (type(side), protocol)
    found = _OFFERED.get(key)
    if found is None:
        found = _OFFERED[key] = isinstance(side, protocol)
    return found
