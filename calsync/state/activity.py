"""The store's activity part: sync runs, sync log and conflict listings, quota counters.

Mixed into `calsync.state.store.Store`; every method is one short committed transaction.
(Log lines and conflicts are written through the engine's `add_log`/`add_conflict`.)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from calsync.engine.pairs import Kind
from calsync.engine.store import Conflict, LogEntry
from calsync.state import tables as t
from calsync.state.base import StoreBase, upsert
from calsync.state.records import StoreError, SyncRun

RUNNING = "running"
ABANDONED = "abandoned"
"""A run whose round ended without saying how (its process was killed or died)."""
ABANDONED_ERROR = "the round stopped before it finished (its process ended)"
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
"""Google's daily quotas reset at midnight Pacific time."""
PROJECT = ""
"""The quota counter's user name for calls made on behalf of no one user."""
CALENDAR = "calendar"
"""The quota counter's API when none is named (the counters' first and main API)."""


def quota_day(now: datetime) -> date:
    """Return Google's quota day (Pacific time) that the instant `now` falls in."""
    return now.astimezone(QUOTA_ZONE).date()


def _run(row: Any) -> SyncRun:
    return SyncRun(
        id=row.id,
        user=row.user_name,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        counts=dict(row.counts or {}),
        error=row.error,
    )


def log_row(entry: LogEntry) -> dict[str, Any]:
    """Return the table row for a log entry."""
    return {
        "user_name": entry.user,
        "at": entry.at,
        "action": entry.action,
        "side": entry.side,
        "key": entry.key,
        "title": entry.title,
        "message": entry.message,
        "level": entry.level,
        "extra": dict(entry.extra),
    }


def conflict_row(conflict: Conflict) -> dict[str, Any]:
    """Return the table row for a conflict."""
    return {
        "user_name": conflict.user,
        "kind": conflict.kind.value,
        "key": conflict.key,
        "winner": conflict.winner,
        "crm_version": conflict.crm_version,
        "google_version": conflict.google_version,
        "at": conflict.at,
        "reason": conflict.reason,
    }


_START_RUN = t.sync_runs.insert().values(
    user_name=sa.bindparam("u"), started_at=sa.bindparam("at"), status=RUNNING, counts={}
)
_FINISH_RUN = (
    t.sync_runs.update()
    .where(t.sync_runs.c.id == sa.bindparam("id_"))
    .values(
        finished_at=sa.bindparam("end"),
        status=sa.bindparam("st"),
        counts=sa.bindparam("cnt", type_=t.sync_runs.c.counts.type),
        error=sa.bindparam("err"),
    )
    .returning(*t.sync_runs.c)
)
_LAST_SYNC = (
    t.users.update()
    .where(t.users.c.name == sa.bindparam("u"))
    .values(last_sync_at=sa.bindparam("end"), last_sync_status=sa.bindparam("st"))
)
_ABANDON_RUNS = (
    t.sync_runs.update()
    .where(t.sync_runs.c.user_name == sa.bindparam("u"), t.sync_runs.c.status == RUNNING)
    .values(status=ABANDONED, finished_at=sa.bindparam("at"), error=ABANDONED_ERROR)
)
"""Built once: every round starts and finishes a run, and building a statement costs more
than running it."""


def start_run(conn: sa.Connection, user: str, started_at: datetime) -> int:
    """Record through `conn` that a round of `user` started; return the run's id."""
    key = conn.execute(_START_RUN, {"u": user, "at": started_at}).inserted_primary_key
    assert key is not None
    return int(key[0])


def abandon_runs(conn: sa.Connection, user: str, now: datetime) -> int:
    """Mark through `conn` the user's runs shown as running as abandoned; return how many."""
    return int(conn.execute(_ABANDON_RUNS, {"u": user, "at": now}).rowcount)


def finish(
    conn: sa.Connection,
    run_id: int,
    status: str,
    counts: dict[str, Any] | None,
    error: str | None,
    end: datetime,
) -> SyncRun:
    """Record through `conn` how the run ended; the user's last sync time and status follow."""
    values = {"id_": run_id, "end": end, "st": status, "cnt": dict(counts or {}), "err": error}
    # The run's row comes back with the update: no second read.
    row = conn.execute(_FINISH_RUN, values).first()
    if row is None:
        raise StoreError(f"no sync run {run_id}")
    conn.execute(_LAST_SYNC, {"u": row.user_name, "end": end, "st": status})
    return _run(row)


class ActivityMixin(StoreBase):
    """Runs, logs, conflicts and quota counters."""

    # -- sync runs -----------------------------------------------------------------------

    def start_run(self, user: str, started_at: datetime | None = None) -> int:
        """Record that a sync round of `user` started; return the run's id."""
        with self._tx() as conn:
            return start_run(conn, user, started_at or self._now())

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: dict[str, Any] | None = None,
        error: str | None = None,
        finished_at: datetime | None = None,
    ) -> SyncRun:
        """Record how the run ended; the user's last sync time and status follow it."""
        end = finished_at or self._now()
        with self._tx() as conn:
            return finish(conn, run_id, status, counts, error, end)

    def abandon_runs(self, user: str) -> int:
        """Mark the user's runs still shown as running as abandoned; return how many.

        Only for a caller that knows no round of the user is running: one holding the user's
        lock (rounds record their end before they release it), or one that found it free.
        """
        with self._tx() as conn:
            return abandon_runs(conn, user, self._now())

    def running_users(self) -> list[str]:
        """Return the users with a run shown as running."""
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(t.sync_runs.c.user_name)
                .where(t.sync_runs.c.status == RUNNING)
                .distinct()
                .order_by(t.sync_runs.c.user_name)
            ).all()
        return [r.user_name for r in rows]

    def last_run(self, user: str) -> SyncRun | None:
        """Return the user's newest run (maybe still running), or None."""
        runs = self.runs(user, limit=1)
        return runs[0] if runs else None

    def runs(self, user: str, limit: int = 20) -> list[SyncRun]:
        """Return the user's runs, newest first."""
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(t.sync_runs)
                .where(t.sync_runs.c.user_name == user)
                .order_by(t.sync_runs.c.started_at.desc(), t.sync_runs.c.id.desc())
                .limit(limit)
            ).all()
        return [_run(r) for r in rows]

    # -- log and conflicts ---------------------------------------------------------------

    def logs(self, user: str, limit: int = 100, offset: int = 0) -> list[LogEntry]:
        """Return the user's sync log lines, newest first."""
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(t.sync_log)
                .where(t.sync_log.c.user_name == user)
                .order_by(t.sync_log.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return [
            LogEntry(
                user=r.user_name,
                at=r.at,
                action=r.action,
                side=r.side,
                key=r.key,
                title=r.title,
                message=r.message,
                level=r.level,
                extra=dict(r.extra or {}),
            )
            for r in rows
        ]

    def conflicts(self, user: str, limit: int = 100, offset: int = 0) -> list[Conflict]:
        """Return the user's conflicts with both versions, newest first."""
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(t.conflicts)
                .where(t.conflicts.c.user_name == user)
                .order_by(t.conflicts.c.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return [
            Conflict(
                user=r.user_name,
                kind=Kind(r.kind),
                key=r.key,
                winner=r.winner,
                crm_version=r.crm_version,
                google_version=r.google_version,
                at=r.at,
                reason=r.reason,
            )
            for r in rows
        ]

    def prune_activity(self, before: datetime) -> int:
        """Delete log lines, conflicts and finished runs older than `before`; return how many."""
        removed = 0
        with self._tx() as conn:
            removed += conn.execute(t.sync_log.delete().where(t.sync_log.c.at < before)).rowcount
            removed += conn.execute(t.conflicts.delete().where(t.conflicts.c.at < before)).rowcount
            removed += conn.execute(
                t.sync_runs.delete().where(
                    t.sync_runs.c.started_at < before, t.sync_runs.c.status != RUNNING
                )
            ).rowcount
        return removed

    # -- quota counters ------------------------------------------------------------------

    def add_calls(
        self,
        user: str | None,
        n: int = 1,
        day: date | None = None,
        api: str = CALENDAR,
        *,
        limit: int | None = None,
    ) -> int:
        """Atomically add `n` calls of `api` to the user's (None: project's) count for `day`.

        Return the new count. `day` defaults to Google's current quota day (Pacific time).
        With `limit`, calls that would take the count past it are not added (the statement
        is rolled back): the count returned, above `limit`, says what they would have made.
        """
        when = day or quota_day(self._now())
        row = {"day": when, "user_name": user or PROJECT, "api": str(api), "calls": n}
        with self._engine.connect() as conn:
            keys = ("day", "user_name", "api")
            count = int(upsert(conn, t.quota_counters, row, keys, increment="calls").scalar_one())
            if limit is not None and count > limit:
                conn.rollback()
            else:
                conn.commit()
        return count

    def calls_on(self, day: date, user: str | None = None, api: str | None = None) -> int:
        """Return the calls counted on `day` for `user` (None: everyone) to `api` (None: all)."""
        q = t.quota_counters.c
        query = sa.select(sa.func.coalesce(sa.func.sum(q.calls), 0)).where(q.day == day)
        if user is not None:
            query = query.where(q.user_name == user)
        if api is not None:
            query = query.where(q.api == str(api))
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def calls_by_day(self, first: date, last: date) -> dict[tuple[date, str], int]:
        """Return the calls counted per (quota day, API) from `first` to `last`, both included.

        Days and APIs without calls are left out.
        """
        q = t.quota_counters.c
        query = (
            sa.select(q.day, q.api, sa.func.sum(q.calls))
            .where(q.day >= first, q.day <= last)
            .group_by(q.day, q.api)
        )
        with self._tx() as conn:
            return {(d, a): int(c) for d, a, c in conn.execute(query)}

    def calls_by_user(self, day: date) -> dict[tuple[str, str], int]:
        """Return the calls counted on `day` per (user, API); project-wide calls under ''."""
        q = t.quota_counters.c
        query = (
            sa.select(q.user_name, q.api, sa.func.sum(q.calls))
            .where(q.day == day)
            .group_by(q.user_name, q.api)
        )
        with self._tx() as conn:
            return {(u, a): int(c) for u, a, c in conn.execute(query)}
