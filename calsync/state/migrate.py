"""Run the state database's Alembic migrations from code (no alembic.ini needed).

Public API: `alembic_config`, `migrate(url_or_engine, revision="head")`, `current_revision`,
`head_revision`, `make_engine`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # Writers from other threads or processes (scheduler, web app, CLI) wait, not fail.
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL lets readers go on while a writer commits (a no-op for in-memory databases).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Return an engine for `url` with calsync's per-backend settings (SQLite: FKs, waits)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if not database or database == ":memory:":
            kwargs.setdefault("poolclass", sa.StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = sa.create_engine(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def migrate(target: str | sa.Engine, revision: str = "head") -> None:
    """Upgrade the database at `target` (URL or engine) to `revision` (default: the newest)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def head_revision() -> str | None:
    """Return the newest revision shipped with this version of calsync."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    """Return the revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
