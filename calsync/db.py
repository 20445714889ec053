"""SQLAlchemy pieces shared by the state store and the embedded CRM, which keep separate
databases: how an engine is made for each backend, and the UTC timestamp column type.

Public API: `make_engine`, `UTCDateTime`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from calsync.files import private_dir, private_file

BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite connection waits for another writer before it fails."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # Writers from other threads or processes (scheduler, web app, CLI) wait, not fail.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # WAL lets readers go on while a writer commits (a no-op for in-memory databases).
    cur.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still survives a crash of the process (state is committed after
    # each action); only a power cut may lose the last commits. FULL fsyncs every commit,
    # which made state commits most of a first sync's time (bench/bench_first_sync.py).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, threads: int = 0, **kwargs: Any) -> sa.Engine:
    """Return an engine for `url` with calsync's per-backend settings (SQLite: FKs, waits).

    `threads`: rounds this process may run at once (the round pool's size); each may hold a
    connection, and on PostgreSQL one more for its user's lock, so the pool grows by as many.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            # Made private before SQLite creates it (0644 under the usual umask); SQLite
            # gives its -wal and -shm files the database file's mode.
            path = Path(database).expanduser()
            private_dir(path.parent)
            private_file(path)
            # One connection per thread from the pool; WAL and the busy timeout let them share.
            kwargs.setdefault("max_overflow", 10 + threads)
        if not database or database == ":memory:":
            kwargs.setdefault("poolclass", sa.StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = sa.create_engine(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # Each held user lock keeps one connection (advisory lock): leave room for them.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 40 + 2 * threads)
    return sa.create_engine(parsed, **kwargs)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC on every backend and returned aware (UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)
