"""`Store`: the state database behind the engine (`PairStore`) and the CLI and web app.

Engine writes (`put_pair`, `delete_pair`, `set_cursor`, `add_conflict`, `add_log`) are staged
per thread and written in one transaction by `commit()`; `rollback()` drops them. Reads see
the thread's staged writes. No database lock is held between two calls, so the app-facing
methods (each one short committed transaction) never wait on a sync in progress.

    store = Store.open(settings.database_url, settings.data_dir)   # or a secret key string
    store.migrate()
    with store.user_lock("alice"):       # UserBusy if a sync of alice runs elsewhere
        ...                              # engine: store.put_pair(...); store.commit()

Public API: `Store` (see its methods and the mixins in accounts.py, activity.py,
sessions.py and budgets.py).
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from calsync.db import BUSY_TIMEOUT_MS
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.store import Conflict, LogEntry, PairStore, Touching
from calsync.errors import LeaseLost
from calsync.model import Item, ModelError, as_dict, from_dict, utcnow
from calsync.state import activity, leases
from calsync.state import tables as t
from calsync.state.accounts import AccountsMixin
from calsync.state.activity import ActivityMixin, conflict_row, log_row
from calsync.state.base import upsert, upsert_many
from calsync.state.budgets import BudgetsMixin
from calsync.state.channels import ChannelsMixin
from calsync.state.crypto import Secrets
from calsync.state.locks import Locker, lock_owner, locker_for
from calsync.state.migrate import make_engine
from calsync.state.migrate import migrate as run_migrations
from calsync.state.records import LockInfo, UserBusy
from calsync.state.sessions import SessionsMixin

if TYPE_CHECKING:
    from calsync.config import Settings

LOCK_TTL = timedelta(hours=6)
"""How long a lease's holder is shown as holding the lock (`lock_holder`); the lock itself
lasts as long as its holder."""

PairKey = tuple[str, str, str]

_PAIR_COLUMNS = [c for c in t.pairs.c if c.name != "google_item"]
"""A pair's columns but the kept Google copy, read only where a round needs it."""

_PAIR_KEYS = ("user_name", "kind", "key")
_DELETE_PAIR = t.pairs.delete().where(
    t.pairs.c.user_name == sa.bindparam("u"),
    t.pairs.c.kind == sa.bindparam("k"),
    t.pairs.c.key == sa.bindparam("key"),
)
_CURSORS = sa.select(t.cursors.c.name, t.cursors.c.value).where(
    t.cursors.c.user_name == sa.bindparam("u")
)
_CRM_IDS = sa.select(t.pairs.c.key, t.pairs.c.scope, t.pairs.c.crm_id).where(
    t.pairs.c.user_name == sa.bindparam("u"),
    t.pairs.c.kind == sa.bindparam("k"),
    t.pairs.c.crm_id.is_not(None),
)
_CRM_IDS_BESIDES = _CRM_IDS.where(t.pairs.c.scope != sa.bindparam("besides"))
"""Built once: a commit writes many pairs, and every round reads these; building statements
costs more than running them."""


@functools.cache
def _touching_query(lists: tuple[str, ...]) -> sa.Select[Any]:
    """Return the select of the pairs of `:u` and `:k` not in sync, or holding a CRM id in
    `:crm_ids`, a Google id in `:google_ids` or a key in `:keys` (of those named in `lists`,
    the ones given); built once per combination."""
    c = t.pairs.c
    # Held rows wait for a listing to name them, like rows in sync.
    settled = (PairStatus.OK.value, PairStatus.HELD.value)
    wanted = [c.status.not_in(settled), c.crm_id.is_(None), c.google_id.is_(None)]
    columns = {"crm_ids": c.crm_id, "google_ids": c.google_id, "keys": c.key}
    for name in lists:
        wanted.append(columns[name].in_(sa.bindparam(name, expanding=True)))
    return sa.select(*_PAIR_COLUMNS).where(
        c.user_name == sa.bindparam("u"), c.kind == sa.bindparam("k"), sa.or_(*wanted)
    )


@dataclass
class _Staged:
    """One thread's writes since its last commit or rollback."""

    pairs: dict[PairKey, Pair | None] = field(default_factory=dict)
    cursors: dict[tuple[str, str], str | None] = field(default_factory=dict)
    logs: list[LogEntry] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def users(self) -> set[str]:
        """Return the users whose sync state (pairs, cursors, conflicts) is staged."""
        return (
            {k[0] for k in self.pairs}
            | {k[0] for k in self.cursors}
            | {c.user for c in self.conflicts}
        )

    def drop_user(self, user: str, pairs: bool, cursors: bool) -> None:
        if pairs:
            self.pairs = {k: v for k, v in self.pairs.items() if k[0] != user}
        if cursors:
            self.cursors = {k: v for k, v in self.cursors.items() if k[0] != user}


def _pair(row: Any) -> Pair:
    return Pair(
        user=row.user_name,
        kind=Kind(row.kind),
        key=row.key,
        crm_id=row.crm_id,
        google_id=row.google_id,
        scope=row.scope,
        crm_etag=row.crm_etag,
        google_etag=row.google_etag,
        crm_hash=row.crm_hash,
        google_hash=row.google_hash,
        synced_at=row.synced_at,
        status=PairStatus(row.status),
        message=row.message,
        observed=row.observed,
        attempts=row.attempts,
    )


def _item(doc: Any) -> Item | None:
    """Return the kept Google copy, or None when there is none or it no longer reads (a
    copy that cannot be read back is only a read saved, never a reason to fail)."""
    if not isinstance(doc, dict):
        return None
    try:
        return from_dict(doc)
    except (ModelError, KeyError, TypeError, ValueError):
        return None


def _pair_row(pair: Pair) -> dict[str, Any]:
    row = _pair_fields(pair)
    if pair.google_item is not None:
        # Without one, the row keeps the copy stored (a use checks it against the hash).
        row["google_item"] = as_dict(pair.google_item)
    return row


def _pair_fields(pair: Pair) -> dict[str, Any]:
    return {
        "user_name": pair.user,
        "kind": pair.kind.value,
        "key": pair.key,
        "crm_id": pair.crm_id,
        "google_id": pair.google_id,
        "scope": pair.scope,
        "crm_etag": pair.crm_etag,
        "google_etag": pair.google_etag,
        "crm_hash": pair.crm_hash,
        "google_hash": pair.google_hash,
        "synced_at": pair.synced_at,
        "status": pair.status.value,
        "message": pair.message,
        "observed": pair.observed,
        "attempts": pair.attempts,
    }


class Store(AccountsMixin, ActivityMixin, SessionsMixin, ChannelsMixin, BudgetsMixin):
    """The state database; implements `calsync.engine.store.PairStore`."""

    def __init__(
        self,
        engine: sa.Engine,
        secrets: Secrets,
        *,
        now: Callable[[], datetime] = utcnow,
        locker: Locker | None = None,
    ) -> None:
        self._engine = engine
        self._secrets = secrets
        self._now = now
        self._locker = locker or locker_for(engine)
        self._local = threading.local()

    @classmethod
    def open(
        cls,
        url: str,
        secret_key_or_data_dir: str | Path | Secrets,
        *,
        now: Callable[[], datetime] = utcnow,
        **engine_options: Any,
    ) -> Store:
        """Return a store on the database at `url` (no I/O yet; call `migrate()` first).

        Secrets are encrypted with the key given as a string, with the key file in the data
        dir given as a Path (generated when missing), or with a ready `Secrets`.
        """
        if isinstance(secret_key_or_data_dir, Secrets):
            secrets = secret_key_or_data_dir
        elif isinstance(secret_key_or_data_dir, Path):
            secrets = Secrets.from_data_dir(secret_key_or_data_dir)
        else:
            secrets = Secrets.from_key(secret_key_or_data_dir)
        return cls(make_engine(url, **engine_options), secrets, now=now)

    @classmethod
    def from_settings(cls, settings: Settings, **engine_options: Any) -> Store:
        """Return a store as configured (database URL, secret key or data dir)."""
        key = settings.secret_key_value()
        return cls.open(settings.database_url, key or settings.data_dir, **engine_options)

    @property
    def parallel_safe(self) -> bool:
        """True when rounds may run in several threads at once: False for an in-memory
        SQLite database, whose one connection every thread would share (and interleave)."""
        return not isinstance(self._engine.pool, sa.StaticPool)

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to `revision` and check the secret key fits the stored secrets."""
        run_migrations(self._engine, revision)
        self.check_key()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- PairStore: staged writes ---------------------------------------------------------

    @property
    def _staged(self) -> _Staged:
        staged: _Staged | None = getattr(self._local, "staged", None)
        if staged is None:
            staged = self._local.staged = _Staged()
        return staged

    @property
    def _leases(self) -> dict[str, int]:
        """The generation of each user's lease this thread holds (see `user_lock`)."""
        held: dict[str, int] | None = getattr(self._local, "leases", None)
        if held is None:
            held = self._local.leases = {}
        return held

    @property
    def _given_up(self) -> set[tuple[str, int]]:
        """(user, generation) of the leases this thread gave up before their lock's end."""
        done: set[tuple[str, int]] | None = getattr(self._local, "given_up", None)
        if done is None:
            done = self._local.given_up = set()
        return done

    @property
    def _cursors(self) -> dict[str, dict[str, str]]:
        """The stored cursors of each user whose lease this thread holds, read once per
        round: while the lease holds, only this thread writes them."""
        cached: dict[str, dict[str, str]] | None = getattr(self._local, "cursors", None)
        if cached is None:
            cached = self._local.cursors = {}
        return cached

    def pairs(self, user: str, kind: Kind) -> list[Pair]:
        """Return every linked pair of `user` and `kind` (staged writes included), by key."""
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(*_PAIR_COLUMNS).where(
                    t.pairs.c.user_name == user, t.pairs.c.kind == kind.value
                )
            ).all()
        found = {r.key: _pair(r) for r in rows}
        for (u, k, key), pair in self._staged.pairs.items():
            if u == user and k == kind.value:
                if pair is None:
                    found.pop(key, None)
                else:
                    found[key] = pair
        return [found[k] for k in sorted(found)]

    def pairs_touching(self, user: str, kind: Kind, touching: Touching) -> list[Pair]:
        """Return the pairs of `user` and `kind` that `touching` matches, in every scope
        (staged writes included), by key: chosen by the database, the others never read."""
        lists = {
            "crm_ids": sorted(touching.crm_ids),
            "google_ids": sorted(touching.google_ids),
            "keys": sorted(touching.keys),
        }
        given = {name: values for name, values in lists.items() if values}
        query = _touching_query(tuple(given))
        with self._tx() as conn:
            rows = conn.execute(query, {"u": user, "k": kind.value, **given}).all()
        found = {r.key: _pair(r) for r in rows}
        for (u, k, key), pair in self._staged.pairs.items():
            if u != user or k != kind.value:
                continue
            if pair is not None and touching.matches(pair):
                found[key] = pair
            else:
                found.pop(key, None)
        return [found[k] for k in sorted(found)]

    def count_pairs(self, user: str, kind: Kind, scope: str) -> int:
        """Return how many pairs of `user` and `kind` are in `scope` (staged writes included)."""
        staged = {
            key: pair
            for (u, k, key), pair in self._staged.pairs.items()
            if u == user and k == kind.value
        }
        c = t.pairs.c
        where = [c.user_name == user, c.kind == kind.value, c.scope == scope]
        if staged:
            where.append(c.key.not_in(sorted(staged)))
        with self._tx() as conn:
            stored = conn.execute(sa.select(sa.func.count()).where(*where)).scalar() or 0
        return int(stored) + sum(p is not None and p.scope == scope for p in staged.values())

    def crm_ids_by_scope(
        self, user: str, kind: Kind, *, besides: str | None = None
    ) -> dict[str, set[str]]:
        """Return the CRM ids linked in each scope of `user` and `kind` (staged writes
        included), leaving out the scope `besides`: two columns read, never whole rows."""
        query, params = _CRM_IDS, {"u": user, "k": kind.value}
        if besides is not None:
            query, params = _CRM_IDS_BESIDES, {**params, "besides": besides}
        with self._tx() as conn:
            linked = {r.key: (r.scope, r.crm_id) for r in conn.execute(query, params)}
        for (u, k, key), pair in self._staged.pairs.items():
            if u != user or k != kind.value:
                continue
            if pair is None or pair.crm_id is None or pair.scope == besides:
                linked.pop(key, None)
            else:
                linked[key] = (pair.scope, pair.crm_id)
        out: dict[str, set[str]] = {}
        for scope, crm_id in linked.values():
            out.setdefault(scope, set()).add(crm_id)
        return out

    def pair(self, user: str, kind: Kind, key: str) -> Pair | None:
        """Return the pair with this key, or None."""
        staged = self._staged.pairs
        if (user, kind.value, key) in staged:
            return staged[(user, kind.value, key)]
        with self._tx() as conn:
            row = conn.execute(
                sa.select(*_PAIR_COLUMNS).where(
                    t.pairs.c.user_name == user, t.pairs.c.kind == kind.value, t.pairs.c.key == key
                )
            ).first()
        return _pair(row) if row else None

    def pair_by(
        self, user: str, kind: Kind, *, crm_id: str | None = None, google_id: str | None = None
    ) -> Pair | None:
        """Return the pair holding this CRM id or Google id, or None."""
        if (crm_id is None) == (google_id is None):
            raise ValueError("give exactly one of crm_id and google_id")
        for pair in self._staged.pairs.values():
            if pair is None or pair.user != user or pair.kind is not kind:
                continue
            if (crm_id and pair.crm_id == crm_id) or (google_id and pair.google_id == google_id):
                return pair
        column = t.pairs.c.crm_id if crm_id is not None else t.pairs.c.google_id
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(*_PAIR_COLUMNS).where(
                    t.pairs.c.user_name == user,
                    t.pairs.c.kind == kind.value,
                    column == (crm_id if crm_id is not None else google_id),
                )
            ).all()
        staged = self._staged.pairs
        for row in rows:
            if (user, kind.value, row.key) not in staged:
                return _pair(row)
        return None

    def google_copies(self, user: str, kind: Kind, keys: Sequence[str]) -> dict[str, Item]:
        """Return Google's copy as last synced of each pair in `keys` that has one kept."""
        found: dict[str, Item] = {}
        staged = self._staged.pairs
        wanted = []
        for key in keys:
            pair = staged.get((user, kind.value, key))
            if pair is not None and pair.google_item is not None:
                found[key] = pair.google_item
            else:
                wanted.append(key)
        with self._tx() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(t.pairs.c.key, t.pairs.c.google_item).where(
                        t.pairs.c.user_name == user,
                        t.pairs.c.kind == kind.value,
                        t.pairs.c.key.in_(wanted[start : start + 500]),
                    )
                ).all()
                for row in rows:
                    item = _item(row.google_item)
                    if item is not None:
                        found[row.key] = item
        return found

    def put_pair(self, pair: Pair) -> None:
        """Insert or replace the pair with the same (user, kind, key) at the next commit."""
        self._staged.pairs[(pair.user, pair.kind.value, pair.key)] = pair

    def delete_pair(self, user: str, kind: Kind, key: str) -> None:
        """Forget a pair at the next commit."""
        self._staged.pairs[(user, kind.value, key)] = None

    def cursor(self, user: str, name: str) -> str | None:
        """Return the stored cursor `name` (staged value first).

        Within a round (this thread holds the user's lease) every cursor of the user is read
        in one query, the first time one is asked for.
        """
        staged = self._staged.cursors
        if (user, name) in staged:
            return staged[(user, name)]
        if user in self._leases:
            return self._round_cursors(user).get(name)
        with self._tx() as conn:
            value = conn.execute(
                sa.select(t.cursors.c.value).where(
                    t.cursors.c.user_name == user, t.cursors.c.name == name
                )
            ).scalar()
        return None if value is None else str(value)

    def _round_cursors(self, user: str) -> dict[str, str]:
        cached = self._cursors.get(user)
        if cached is None:
            with self._tx() as conn:
                rows = conn.execute(_CURSORS, {"u": user}).all()
            cached = self._cursors[user] = {r.name: str(r.value) for r in rows}
        return cached

    def set_cursor(self, user: str, name: str, value: str | None) -> None:
        """Store (or clear, with None) the cursor `name` at the next commit.

        Within a round, a cursor set to the value it holds is not written again (a quiet
        round then commits nothing).
        """
        staged = self._staged.cursors
        cached = self._cursors.get(user) if user in self._leases else None
        if cached is not None and (user, name) not in staged and cached.get(name) == value:
            return
        staged[(user, name)] = value

    def add_conflict(self, conflict: Conflict) -> None:
        """Keep both versions of a conflict (written at the next commit)."""
        self._staged.conflicts.append(conflict)

    def add_log(self, entry: LogEntry) -> None:
        """Append a line to the sync log (written at the next commit)."""
        self._staged.logs.append(entry)

    def commit(self) -> None:
        """Write this thread's staged writes in one transaction; all or nothing.

        For each user whose lease this thread holds (`user_lock`), the transaction first
        proves the lease; when another round took it over, nothing is written, the staged
        writes are dropped and LeaseLost is raised. Log lines alone need no proof: a round
        that lost its lease may still say so in the user's sync log.
        """
        staged = self._staged
        if not (staged.pairs or staged.cursors or staged.logs or staged.conflicts):
            return
        held = self._leases
        if not (staged.pairs or staged.logs or staged.conflicts) and staged.users() <= held.keys():
            # Only cursors of rounds this thread holds the lease of: they are written with
            # the next commit or when the round ends (`end_round`, `user_lock`), so a quiet
            # round writes once. Until then `cursor` answers them; lost in a crash, they
            # only make the next round read again from the cursors stored before.
            return
        now = self._now()
        try:
            with self._tx() as conn:
                for user in sorted(staged.users() & held.keys()):
                    if not leases.prove(conn, user, held[user], now):
                        raise LeaseLost(user, held[user])
                self._write(conn, staged, now)
        except LeaseLost:
            self._local.staged = _Staged()
            raise
        self._cache_cursors(staged.cursors)
        self._local.staged = _Staged()

    def _cache_cursors(self, written: dict[tuple[str, str], str | None]) -> None:
        cached = self._cursors
        for (user, name), value in written.items():
            if user in cached:
                if value is None:
                    cached[user].pop(name, None)
                else:
                    cached[user][name] = value

    def _end_lease(self, conn: sa.Connection, user: str, generation: int) -> None:
        """Through `conn` (the round's last transaction): write `user`'s staged cursors if
        the lease `generation` still holds (drop them either way), then give the lease up."""
        staged = self._staged
        mine = {k: v for k, v in staged.cursors.items() if k[0] == user}
        if mine:
            staged.drop_user(user, pairs=False, cursors=True)
            now = self._now()
            if leases.prove(conn, user, generation, now):
                self._write(conn, _Staged(cursors=mine), now)
                self._cache_cursors(mine)
        leases.give_up(conn, user, generation)

    def _write(self, conn: sa.Connection, staged: _Staged, now: datetime) -> None:
        """Write `staged` through `conn` (inside the caller's transaction)."""
        gone = [
            {"u": user, "k": kind, "key": key}
            for (user, kind, key), pair in staged.pairs.items()
            if pair is None
        ]
        if gone:
            conn.execute(_DELETE_PAIR, gone)
        rows = [_pair_row(p) for p in staged.pairs.values() if p is not None]
        for columns in {len(r) for r in rows}:  # with and without a kept Google copy
            upsert_many(conn, t.pairs, [r for r in rows if len(r) == columns], _PAIR_KEYS)
        for (user, name), value in staged.cursors.items():
            if value is None:
                conn.execute(
                    t.cursors.delete().where(
                        t.cursors.c.user_name == user, t.cursors.c.name == name
                    )
                )
            else:
                row = {"user_name": user, "name": name, "value": value, "updated_at": now}
                upsert(conn, t.cursors, row, ["user_name", "name"])
        if staged.logs:
            conn.execute(t.sync_log.insert(), [log_row(e) for e in staged.logs])
        if staged.conflicts:
            conn.execute(t.conflicts.insert(), [conflict_row(c) for c in staged.conflicts])

    def rollback(self) -> None:
        """Drop this thread's writes since its last commit."""
        self._local.staged = _Staged()

    def prove(self) -> None:
        """Raise LeaseLost unless this thread still holds each lease it took (`user_lock`).

        Called before a side write, so a round whose lease was taken over sends nothing more.
        """
        held = self._leases
        if not held:
            return
        now = self._now()
        with self._tx() as conn:
            for user, generation in sorted(held.items()):
                if not leases.prove(conn, user, generation, now):
                    raise LeaseLost(user, generation)

    # -- reset and reconnect ---------------------------------------------------------------

    def wipe_pairs(self, user: str, kind: Kind | None = None) -> int:
        """Forget the user's pairs (of `kind`, or all) now; return how many were removed."""
        query = t.pairs.delete().where(t.pairs.c.user_name == user)
        if kind is not None:
            query = query.where(t.pairs.c.kind == kind.value)
        with self._tx() as conn:
            removed = conn.execute(query).rowcount
        staged = self._staged
        staged.pairs = {
            k: v
            for k, v in staged.pairs.items()
            if not (k[0] == user and (kind is None or k[1] == kind.value))
        }
        return removed

    def wipe_cursors(self, user: str) -> int:
        """Forget the user's cursors now (the next round reads everything); return how many."""
        with self._tx() as conn:
            removed = conn.execute(t.cursors.delete().where(t.cursors.c.user_name == user)).rowcount
        self._staged.drop_user(user, pairs=False, cursors=True)
        self._cursors.pop(user, None)
        return removed

    # -- per-user lock -----------------------------------------------------------------------

    @contextmanager
    def user_lock(
        self, user: str, wait: float = 0.0, *, run_started_at: datetime | None = None
    ) -> Iterator[LockInfo]:
        """Hold the user's sync lock (across processes) and its lease for the `with` block.

        Raise UserBusy when another holder keeps the lock for more than `wait` seconds. The
        lock is taken over from whoever held the lease before (it can only be free because
        that holder died or lost its connection); from then on each `commit` of this user's
        state in this thread proves the lease (calsync.state.leases), and raises LeaseLost
        once a later holder took it over.

        With `run_started_at`, a sync run of the user is started in the same transaction that
        takes the lease; its id is the LockInfo's `run_id` (record its end with `finish_run`
        before the block ends).
        """
        name = f"user:{user}"
        deadline = time.monotonic() + wait
        while (release := self._locker.try_acquire(name)) is None:
            if time.monotonic() >= deadline:
                holder = self.lock_holder(user)
                raise UserBusy(user, holder.owner if holder else None)
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        try:
            now = self._now()
            owner = lock_owner()
            run_id = None
            with self._tx() as conn:
                # Holding the lock proves no round of the user runs: a run still shown as
                # running was killed before it could record its end.
                activity.abandon_runs(conn, user, now)
                # The lease row also shows the holder (`lock_holder`): no row of its own.
                generation = leases.take(conn, user, owner, now)
                if run_started_at is not None:
                    run_id = activity.start_run(conn, user, run_started_at)
                # Every round reads them: here, not in a transaction of their own.
                rows = conn.execute(_CURSORS, {"u": user}).all()
            self._cursors[user] = {r.name: str(r.value) for r in rows}
            info = LockInfo(name, owner, now, now + LOCK_TTL, run_id)
            outer = self._leases.get(user)
            self._leases[user] = generation
            try:
                yield info
            finally:
                if outer is None:
                    self._leases.pop(user, None)
                    self._cursors.pop(user, None)
                else:
                    self._leases[user] = outer
                if (user, generation) in self._given_up:
                    self._given_up.discard((user, generation))
                else:
                    with self._tx() as conn:
                        self._end_lease(conn, user, generation)
        finally:
            release()

    def end_round(
        self,
        lock: LockInfo,
        user: str,
        status: str,
        counts: dict[str, Any] | None = None,
        error: str | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Write the round's last cursors (`commit` keeps cursor-only writes for the round's
        end), record the end of the run started with `lock` (`finish_run`) and give up the
        user's lease, in one transaction: the round is over, only the lock's release is left.

        Without a run (a dry round), only the lease is given up."""
        generation = self._leases.get(user)
        with self._tx() as conn:
            if lock.run_id is not None:
                end = finished_at or self._now()
                activity.finish(conn, lock.run_id, status, counts, error, end)
            if generation is not None:
                self._end_lease(conn, user, generation)
        if generation is not None:
            self._given_up.add((user, generation))

    def abandon_dead_runs(self) -> int:
        """Mark as abandoned the runs shown as running whose user's lock is free (their
        round's process is gone); return how many. Called when a process starts."""
        abandoned = 0
        for user in self.running_users():
            release = self._locker.try_acquire(f"user:{user}")
            if release is None:  # a round of this user is running somewhere
                continue
            try:
                abandoned += self.abandon_runs(user)
            finally:
                release()
        return abandoned

    def check_writable(self, timeout: float = 2.0) -> None:
        """Raise unless the database takes a write within `timeout` seconds (nothing is kept).

        A read alone is not enough: in WAL mode SQLite answers reads while another process
        holds the write lock, and every sign-in and sync round would still wait or fail.
        """
        ms = max(1, int(timeout * 1000))
        sqlite = self._engine.dialect.name == "sqlite"
        with self._engine.connect() as conn:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
                conn.commit()
            try:
                with conn.begin() as tx:
                    if not sqlite:
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                    conn.execute(
                        t.app_settings.insert().values(
                            key=f"_probe:{uuid.uuid4().hex}",
                            value="",
                            secret=False,
                            updated_at=self._now(),
                        )
                    )
                    tx.rollback()
            finally:
                if sqlite:
                    try:
                        conn.rollback()
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                        conn.commit()
                    except sa.exc.DBAPIError:
                        conn.invalidate()  # never hand a short-timeout connection back

    def lock_holder(self, user: str) -> LockInfo | None:
        """Return who holds the user's sync lock, or None (informational: rows may be stale)."""
        c = t.leases.c
        with self._tx() as conn:
            row = conn.execute(
                sa.select(c.holder, c.acquired_at).where(
                    c.user_name == user,
                    c.holder.is_not(None),
                    c.acquired_at > self._now() - LOCK_TTL,
                )
            ).first()
        if row is None:
            return None
        return LockInfo(f"user:{user}", row.holder, row.acquired_at, row.acquired_at + LOCK_TTL)


def _conforms(store: Store) -> PairStore:
    # Lets mypy prove Store implements the engine's PairStore protocol.
    return store
