"""Store fixtures: every store test runs on SQLite and, when CALSYNC_TEST_POSTGRES_URL is set,
on PostgreSQL (a fresh database per test session, dropped at the end; tables dropped per test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from calsync.state import Store
from calsync.state.tables import metadata

PG_ENV = "CALSYNC_TEST_POSTGRES_URL"
KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="  # a Fernet key: no stretching cost


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Return the URL of a fresh PostgreSQL database for this session (skip when unset)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    name = f"calsync_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _clear(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty database (SQLite file, or the session's PostgreSQL one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    _clear(url)
    try:
        yield url
    finally:
        _clear(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """Return a migrated store on an empty database."""
    s = Store.open(db_url, KEY)
    s.migrate()
    try:
        yield s
    finally:
        s.close()
