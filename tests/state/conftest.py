"""Store fixtures: every store test runs on SQLite and, when CALSYNC_TEST_POSTGRES_URL is set,
on PostgreSQL (a fresh database per test session, dropped at the end; tables dropped per test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.state import Store
from tests.pg import PG_ENV, clear_state, fresh_database

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="  # a Fernet key: no stretching cost


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Return the URL of a fresh PostgreSQL database for this session (skip when unset)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with fresh_database(base, "calsync_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty database (SQLite file, or the session's PostgreSQL one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    clear_state(url)
    try:
        yield url
    finally:
        clear_state(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """Return a migrated store on an empty database."""
    s = Store.open(db_url, KEY)
    s.migrate()
    try:
        yield s
    finally:
        s.close()
