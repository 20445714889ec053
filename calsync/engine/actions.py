"""The planner's output: small command classes, each one write (or none) plus its state change.

Public API: `Action` and its kinds `Create`, `Update`, `Delete`, `Link`, `Drop`, `Skip`,
`Fetch`; `Env` (what `apply` needs); `SideName`; the link-key helpers `crm_key`,
`google_key`, `next_key`, `key_origin`. An action touches the world only through the Side and
PairStore protocols handed to it in `Env`; the runner commits after each one and, when one
fails, rolls back and marks the action's `failure_row()` dirty (per-item rollback).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from calsync.engine.intents import intent_hash
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.store import Conflict, LogEntry, PairStore
from calsync.errors import AlreadyExists, CalsyncError
from calsync.model import Item, content_hash
from calsync.sides.base import Remote, Side, Write, WriteOp, WriteResult

MAX_GENERATIONS = 50
"""How many deleted generations of one item a re-creation steps over before giving up."""


class SideName(enum.StrEnum):
    CRM = "crm"
    GOOGLE = "google"

    @property
    def other(self) -> SideName:
        return SideName.GOOGLE if self is SideName.CRM else SideName.CRM


# -- link keys -------------------------------------------------------------------------------
# A key names the item a pair was born from: "c.<crm id>" or "g.<google id>", plus "~<n>" for
# the n-th re-creation on Google (Google keeps deleted ids as cancelled, and ids derive from
# keys there, so a re-created copy needs a fresh key). Keys hold opaque ids only, no content.


def crm_key(crm_id: str) -> str:
    """Return the link key of an item born in the CRM."""
    return f"c.{crm_id}"


def google_key(google_id: str) -> str:
    """Return the link key of an item born on Google."""
    return f"g.{google_id}"


def next_key(key: str) -> str:
    """Return the key of the next generation (a re-creation on Google)."""
    base, _, gen = key.partition("~")
    return f"{base}~{int(gen or 0) + 1}"


def key_origin(key: str) -> tuple[SideName, str] | None:
    """Return (side, id) of the item the key was derived from, or None for a foreign key."""
    base = key.partition("~")[0]
    head, dot, rest = base.partition(".")
    if not dot or not rest:
        return None
    if head == "c":
        return SideName.CRM, rest
    if head == "g":
        return SideName.GOOGLE, rest
    return None


# -- pair rows -------------------------------------------------------------------------------


def with_side(row: Pair, side: SideName, remote: Remote[Any] | None) -> Pair:
    """Return `row` with `side`'s id, etag and hash taken from `remote` (None: not there)."""
    if side is SideName.CRM:
        if remote is None:
            return row.with_(crm_id=None, crm_etag=None, crm_hash=None)
        return row.with_(crm_id=remote.id, crm_etag=remote.etag, crm_hash=content_hash(remote.item))
    if remote is None:
        return row.with_(google_id=None, google_etag=None, google_hash=None, google_item=None)
    return row.with_(
        google_id=remote.id,
        google_etag=remote.etag,
        google_hash=content_hash(remote.item),
        google_item=remote.item,
    )


def side_id(row: Pair, side: SideName) -> str | None:
    return row.crm_id if side is SideName.CRM else row.google_id


def side_etag(row: Pair, side: SideName) -> str | None:
    return row.crm_etag if side is SideName.CRM else row.google_etag


@dataclass
class Env:
    """What actions need to run: both sides, the store, and who/when."""

    user: str
    kind: Kind
    now: datetime
    crm: Side[Any]
    google: Side[Any]
    store: PairStore

    def side(self, name: SideName) -> Side[Any]:
        return self.crm if name is SideName.CRM else self.google

    def log(self, action: str, side: str, key: str, title: str = "", **kw: Any) -> None:
        self.store.add_log(
            LogEntry(self.user, self.now, action, side=side, key=key, title=title, **kw)
        )


@dataclass(frozen=True)
class Action:
    """One step of a plan for one pair (or one unlinked item)."""

    key: str
    side: SideName | None = None
    """The side this action writes, if any."""
    before: Pair | None = None
    """The row as stored before the round (None for an item not linked yet)."""
    observed: str = ""
    """Fingerprint of the contents seen, kept with a failure so quarantine can tell changes."""
    verb: ClassVar[str] = "action"

    @property
    def writes(self) -> bool:
        return False

    def describe(self) -> str:
        where = f" {self.side.value}" if self.side else ""
        return f"{self.verb:<7}{where:<8} {self.key}"

    def apply(self, env: Env) -> None:
        """Do the action and stage its state change (the runner commits)."""

    def failure_row(self) -> Pair | None:
        """Return the row to mark dirty when the action fails (None: nothing to keep)."""
        return self.before


@dataclass(frozen=True)
class Skip(Action):
    """Nothing to do now, for a stated reason (out of scope, quarantined, orphan copy)."""

    reason: str = ""
    row: Pair | None = None
    """A row to keep all the same (a held change: see `PairStatus.HELD`); writes no side."""
    verb: ClassVar[str] = "skip"

    def apply(self, env: Env) -> None:
        if self.row is not None:
            env.store.put_pair(self.row)

    def describe(self) -> str:
        return f"{super().describe()}  ({self.reason})"


@dataclass(frozen=True)
class Link(Action):
    """Store `row` (a re-link, or fresh metadata after churn); no side is written."""

    row: Pair | None = None
    verb: ClassVar[str] = "link"

    def apply(self, env: Env) -> None:
        assert self.row is not None
        env.store.put_pair(self.row)


@dataclass(frozen=True)
class Note(Action):
    """Record a decision in the sync log (e.g. two copies matched by content); writes nothing."""

    what: str = "match"
    message: str = ""
    level: str = "info"
    title: str = ""
    verb: ClassVar[str] = "note"

    def apply(self, env: Env) -> None:
        env.log(self.what, "", self.key, self.title, message=self.message, level=self.level)

    def describe(self) -> str:
        return f"{super().describe()}  ({self.message})"


@dataclass(frozen=True)
class Drop(Action):
    """Forget the pair: both copies are gone, or the link can no longer carry anything."""

    reason: str = ""
    verb: ClassVar[str] = "unlink"

    def apply(self, env: Env) -> None:
        env.store.delete_pair(env.user, env.kind, self.key)
        if self.reason:
            env.log("unlink", "", self.key, message=self.reason)


@dataclass(frozen=True)
class Fetch(Action):
    """Read the pair's copies on `sides` by id, then plan the pair again (resolved by the runner).

    Used when a full listing lacks a linked copy (absence is no proof of deletion), when a pair
    is dirty from an earlier failure, and when planning needs content the increment lacked.
    """

    sides: tuple[SideName, ...] = ()
    crm: Remote[Any] | None = None
    google: Remote[Any] | None = None
    crm_gone: bool = False
    google_gone: bool = False
    verb: ClassVar[str] = "fetch"


@dataclass(frozen=True)
class _Write(Action):
    item: Item | None = None
    conflict: Conflict | None = None

    @property
    def writes(self) -> bool:
        return True

    def describe(self) -> str:
        title = self.item.title if self.item is not None else ""
        extra = f"  conflict, {self.conflict.winner} wins" if self.conflict else ""
        return f"{super().describe()}  {title!r}{extra}"

    def _record(self, env: Env) -> None:
        if self.conflict is not None:
            env.store.add_conflict(self.conflict)
            env.log("conflict", self.conflict.winner, self.key, message=self.conflict.reason)

    def prepare(self, env: Env) -> None:
        """Stage what must be durable before the write is sent (the runner commits it)."""
        env.store.prove()

    def write(self) -> Write[Any]:
        """Return the side write this action sends (for a side's `write_many`)."""
        raise NotImplementedError

    def settle(self, env: Env, outcome: WriteResult[Any]) -> None:
        """Stage the state change for the write's `outcome`; raise the error it carries."""
        raise NotImplementedError

    def send(self, env: Env) -> WriteResult[Any]:
        """Send the write on its own and return its outcome (errors raised, as the side's)."""
        raise NotImplementedError

    def apply(self, env: Env) -> None:
        self.prepare(env)
        self.settle(env, self.send(env))


@dataclass(frozen=True)
class Create(_Write):
    """Create the projection on `side`; `row` is the pair to store (target id still None).

    An intent row (status PENDING) is committed before the call (which also proves the
    round still holds the user's lease), so a crash or a lost reply
    is found again next round and adopted instead of creating a duplicate: by its key on a
    side that stores keys, by `intent_hash` (kept in the target side's hash column, since the
    target has no copy yet) on one that cannot.
    """

    row: Pair | None = None
    replaces: str | None = None
    """Key of the row this one supersedes (a re-creation under the next generation)."""
    verb: ClassVar[str] = "create"

    def intent(self) -> Pair:
        assert self.row is not None and self.item is not None
        asked = intent_hash(self.item)
        target = {"crm_hash": asked} if self.side is SideName.CRM else {"google_hash": asked}
        return self.row.with_(status=PairStatus.PENDING, **target)

    def failure_row(self) -> Pair | None:
        return self.intent()

    def prepare(self, env: Env) -> None:
        assert self.row is not None
        if self.replaces is not None and self.replaces != self.row.key:
            env.store.delete_pair(env.user, env.kind, self.replaces)
        env.store.put_pair(self.intent())

    def write(self) -> Write[Any]:
        assert self.row is not None
        return Write(WriteOp.CREATE, self.item, key=self.row.key)

    def send(self, env: Env) -> WriteResult[Any]:
        assert self.row is not None and self.item is not None and self.side is not None
        env.store.commit()  # the intent is durable before the side is asked
        try:
            return env.side(self.side).create(self.item, self.row.key)
        except AlreadyExists as err:
            return err

    def settle(self, env: Env, outcome: WriteResult[Any]) -> None:
        assert self.row is not None and self.item is not None and self.side is not None
        key = self.row.key
        if isinstance(outcome, AlreadyExists):
            key, outcome = self._adopt(env.side(self.side), key, outcome)
        elif isinstance(outcome, CalsyncError):
            raise outcome
        assert outcome is not None
        row = with_side(self.row.with_(key=key), self.side, outcome)
        if key != self.row.key:
            env.store.delete_pair(env.user, env.kind, self.row.key)
        env.store.put_pair(row.cleared(synced_at=env.now))
        self._record(env)
        env.log("create", self.side.value, key, self.item.title)

    def _adopt(self, side: Side[Any], key: str, err: AlreadyExists) -> tuple[str, Remote[Any]]:
        assert self.item is not None
        for _ in range(MAX_GENERATIONS):
            found = side.get(err.existing_id) if err.existing_id else None
            if found is not None and found.key == key:
                # A retried insert after a crash or a lost reply: ours, since it has our key.
                if content_hash(found.item) != content_hash(self.item):
                    found = side.update(found.id, self.item, found.etag)
                return key, found
            if found is not None or not err.existing_id:
                raise err
            # The id is held by a deleted copy (Google keeps it cancelled): next generation.
            key = next_key(key)
            try:
                return key, side.create(self.item, key)
            except AlreadyExists as again:
                err = again
        raise err


@dataclass(frozen=True)
class Update(_Write):
    """Write the projection over the copy on `side`, guarded by the etag last seen."""

    target_id: str = ""
    etag: str | None = None
    row: Pair | None = None
    """The pair with the source side refreshed; the target side is filled in after the write."""
    verb: ClassVar[str] = "update"

    def _adopts(self) -> bool:
        """True when `before` is an intent row that adopted its copy this round (not stored)."""
        b = self.before
        return (
            b is not None and b.status is PairStatus.PENDING and None not in (b.crm_id, b.google_id)
        )

    def prepare(self, env: Env) -> None:
        super().prepare(env)
        if self._adopts():
            # The adoption is made durable before a copy changes: a copy adopted by the
            # content its intent asked for no longer shows that content once updated, so
            # after a crash only its stored id would find it again.
            assert self.before is not None
            env.store.put_pair(self.before)

    def write(self) -> Write[Any]:
        return Write(WriteOp.UPDATE, self.item, id=self.target_id, etag=self.etag)

    def send(self, env: Env) -> WriteResult[Any]:
        assert self.item is not None and self.side is not None
        if self._adopts():
            env.store.commit()  # the adoption is durable before the side is asked
        return env.side(self.side).update(self.target_id, self.item, self.etag)

    def settle(self, env: Env, outcome: WriteResult[Any]) -> None:
        assert self.row is not None and self.item is not None and self.side is not None
        if isinstance(outcome, CalsyncError):
            raise outcome
        assert outcome is not None
        row = with_side(self.row, self.side, outcome)
        env.store.put_pair(row.cleared(synced_at=env.now))
        self._record(env)
        env.log("update", self.side.value, self.key, self.item.title)


@dataclass(frozen=True)
class Delete(_Write):
    """Delete the copy on `side` (the other copy is gone) and forget the pair."""

    target_id: str = ""
    etag: str | None = None
    title: str = ""
    verb: ClassVar[str] = "delete"

    def describe(self) -> str:
        return f"{Action.describe(self)}  {self.title!r}"

    def write(self) -> Write[Any]:
        return Write(WriteOp.DELETE, id=self.target_id, etag=self.etag)

    def send(self, env: Env) -> WriteResult[Any]:
        assert self.side is not None
        env.side(self.side).delete(self.target_id, self.etag)
        return None

    def settle(self, env: Env, outcome: WriteResult[Any]) -> None:
        assert self.side is not None
        if isinstance(outcome, CalsyncError):
            raise outcome
        env.store.delete_pair(env.user, env.kind, self.key)
        self._record(env)
        env.log("delete", self.side.value, self.key, self.title)


@dataclass
class Plan:
    """A printable list of actions (dry-run output)."""

    actions: list[Action] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return one line per action."""
        return [a.describe() for a in self.actions]

    def __str__(self) -> str:
        return "\n".join(self.lines()) or "(nothing to do)"
