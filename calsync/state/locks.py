"""Per-user sync locks that hold across threads and processes (DESIGN.md §4 rule 6).

PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a dedicated connection, so
it holds across machines and is released by the server if the holder dies. It is also
released when that connection drops while the holder lives on, which the holder does not
notice: the per-user lease (calsync.state.leases) is what stops such a holder from writing.
SQLite file: an exclusive `flock` on a file beside the database (released by the kernel if the
holder dies).
In-memory SQLite: a lock within the process. Each `try_acquire` returns a release function, or
None when the lock is held elsewhere.

Public API: `Locker`, `locker_for(engine)`, `lock_owner()`.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

Release = Callable[[], None]

_LOGGER = logging.getLogger(__name__)


def lock_owner() -> str:
    """Return `host:pid:thread` naming the caller, for the operator's eyes."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _digest(name: str) -> bytes:
    return hashlib.sha256(f"calsync:lock:{name}".encode()).digest()


class Locker(Protocol):
    def try_acquire(self, name: str) -> Release | None:
        """Take the lock `name` without waiting; return its release function or None."""
        ...


class AdvisoryLocker:
    """PostgreSQL session advisory locks, one dedicated connection per held lock."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def try_acquire(self, name: str) -> Release | None:
        key = int.from_bytes(_digest(name)[:8], "big", signed=True)
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return None

        def release() -> None:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except sa.exc.DBAPIError as err:
                # The lock's connection dropped (the server released the lock with it) or is
                # broken: drop it, so the server releases the lock if it still holds it.
                _LOGGER.warning("lock %s: its connection failed on release (%s)", name, err)
                conn.invalidate()
            finally:
                conn.close()

        return release


class FileLocker:
    """`flock` on one file per name in a directory (works across processes and threads)."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def try_acquire(self, name: str) -> Release | None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{_digest(name)[:12].hex()}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise

        def release() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

        return release


class MemoryLocker:
    """Locks within this process (for in-memory databases, which no other process sees)."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._guard = threading.Lock()

    def try_acquire(self, name: str) -> Release | None:
        with self._guard:
            if name in self._held:
                return None
            self._held.add(name)

        def release() -> None:
            with self._guard:
                self._held.discard(name)

        return release


def locker_for(engine: sa.Engine) -> Locker:
    """Return the right kind of lock for the database behind `engine`."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLocker(engine)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            db = Path(database).expanduser().resolve()
            return FileLocker(db.with_name(db.name + ".locks"))
        return MemoryLocker()
    raise NotImplementedError(f"no user lock for the {url.get_backend_name()} backend")
