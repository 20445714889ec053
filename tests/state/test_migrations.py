"""Migrations: a fresh database reaches head, the head matches the tables, and down/up works."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from calsync.state import migrate
from calsync.state.migrate import alembic_config, current_revision, head_revision, make_engine
from calsync.state.tables import metadata


def test_fresh_database_migrates_to_head(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision() is not None
        tables = set(sa.inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        migrate(db_url)  # running again is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_head_matches_the_tables(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
    finally:
        engine.dispose()
    assert diff == [], "tables.py and the migrations differ: add a revision"


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_ship_with_the_package() -> None:
    from calsync.state.migrate import MIGRATIONS

    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert any(p.name.startswith("0001") for p in (MIGRATIONS / "versions").glob("*.py"))


def test_developer_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from calsync.state.__main__ import main

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    main(["current", url])
    main(["upgrade", url])
    main(["current", url])
    assert capsys.readouterr().out.split() == ["(none)", head_revision()]
