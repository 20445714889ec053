"""PostgreSQL helpers shared by the test packages: a throwaway database, an emptied schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from calsync.state.tables import metadata

PG_ENV = "CALSYNC_TEST_POSTGRES_URL"


@contextmanager
def fresh_database(base_url: str, prefix: str) -> Iterator[str]:
    """Create a uniquely named database on the server of `base_url`; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def clear_state(url: str) -> None:
    """Drop the state store's tables and Alembic's version row, for a fresh migrate."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
