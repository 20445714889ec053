"""An in-memory PairStore with real commit/rollback, for tests, benchmarks and dry runs.

Public API: `MemoryStore()`; `crash_after(n)` makes the n-th next commit fail with `Crash`
(everything since the last commit is lost, as when a process dies before its commit);
`lose_lease(user)` makes every later `prove` and every commit of state raise LeaseLost, as
when another round took the user's lease over.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from calsync.engine.pairs import Kind, Pair
from calsync.engine.store import Conflict, LogEntry, Touching
from calsync.errors import LeaseLost
from calsync.model import Item


class Crash(Exception):
    """The process died (test only): raised instead of a commit, after a rollback."""


@dataclass
class _State:
    pairs: dict[tuple[str, Kind, str], Pair] = field(default_factory=dict)
    cursors: dict[tuple[str, str], str] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)


class MemoryStore:
    """Durable state kept in a dict; `commit` snapshots, `rollback` restores."""

    def __init__(self) -> None:
        self._committed = _State()
        self._work = _State()
        self._crash_in: int | None = None
        self._lost: str | None = None
        self.commits = 0

    # -- PairStore -----------------------------------------------------------------------

    def pairs(self, user: str, kind: Kind) -> list[Pair]:
        return [p for (u, k, _), p in sorted(self._work.pairs.items()) if u == user and k == kind]

    def pairs_touching(self, user: str, kind: Kind, touching: Touching) -> list[Pair]:
        return [p for p in self.pairs(user, kind) if touching.matches(p)]

    def count_pairs(self, user: str, kind: Kind, scope: str) -> int:
        return sum(p.scope == scope for p in self.pairs(user, kind))

    def put_pair(self, pair: Pair) -> None:
        self._work.pairs[(pair.user, pair.kind, pair.key)] = pair

    def delete_pair(self, user: str, kind: Kind, key: str) -> None:
        self._work.pairs.pop((user, kind, key), None)

    def google_copies(self, user: str, kind: Kind, keys: Sequence[str]) -> dict[str, Item]:
        found = (self._work.pairs.get((user, kind, k)) for k in keys)
        return {p.key: p.google_item for p in found if p is not None and p.google_item is not None}

    def cursor(self, user: str, name: str) -> str | None:
        return self._work.cursors.get((user, name))

    def set_cursor(self, user: str, name: str, value: str | None) -> None:
        if value is None:
            self._work.cursors.pop((user, name), None)
        else:
            self._work.cursors[(user, name)] = value

    def add_conflict(self, conflict: Conflict) -> None:
        self._work.conflicts.append(conflict)

    def add_log(self, entry: LogEntry) -> None:
        self._work.log.append(entry)

    def commit(self) -> None:
        if self._lost is not None and (
            self._work.pairs != self._committed.pairs
            or self._work.cursors != self._committed.cursors
            or self._work.conflicts != self._committed.conflicts
        ):
            self.rollback()
            raise LeaseLost(self._lost, 0)
        if self._crash_in is not None:
            self._crash_in -= 1
            if self._crash_in <= 0:
                self._crash_in = None
                self.rollback()
                raise Crash("process died before the commit")
        self.commits += 1
        self._committed = copy.deepcopy(self._work)

    def rollback(self) -> None:
        self._work = copy.deepcopy(self._committed)

    def prove(self) -> None:
        if self._lost is not None:
            raise LeaseLost(self._lost, 0)

    # -- test helpers ----------------------------------------------------------------------

    def crash_after(self, n: int) -> None:
        """Make the n-th commit from now (1 = the next one) crash instead."""
        self._crash_in = n

    def lose_lease(self, user: str) -> None:
        """Act as if another round took `user`'s lease over."""
        self._lost = user

    def wipe(self) -> None:
        """Forget every pair and cursor (a restore, a migration, a reconnect)."""
        self._work = _State(conflicts=self._work.conflicts, log=self._work.log)
        self._committed = copy.deepcopy(self._work)

    @property
    def conflicts(self) -> list[Conflict]:
        return list(self._committed.conflicts)

    @property
    def log(self) -> list[LogEntry]:
        return list(self._committed.log)

    def snapshot(self) -> dict[tuple[str, Kind, str], Pair]:
        """Return the committed pairs."""
        return dict(self._committed.pairs)
