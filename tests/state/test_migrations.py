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


def test_pair_errors_become_typed_status_and_back(db_url: str) -> None:
    """The old `error` string (an intent marker, or a message with the observed contents in
    brackets) is split into status, message and observed; a downgrade joins them again."""
    engine = make_engine(db_url)
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        old = sa.table(
            "pairs",
            *(sa.column(c) for c in ("user_name", "kind", "key", "scope", "error", "attempts")),
        )
        rows = {
            "k-ok": (None, 0),
            "k-pending": ("pending create", 0),
            "k-failed": ("NotFound: gone [c=0123abcd g=4567ef01]", 1),
            "k-quarantined": ("ForbiddenError: not yours [c=89ab]", 5),
            "k-bare": ("odd text", 2),
        }
        with engine.begin() as conn:
            for key, (error, attempts) in rows.items():
                row = {"user_name": "alice", "kind": "event", "scope": "primary"}
                conn.execute(old.insert().values(key=key, error=error, attempts=attempts, **row))
        migrate(engine)
        with engine.connect() as conn:
            got = {
                r.key: (r.status, r.message, r.observed)
                for r in conn.execute(sa.text("SELECT key, status, message, observed FROM pairs"))
            }
        assert got == {
            "k-ok": ("ok", None, None),
            "k-pending": ("pending", None, None),
            "k-failed": ("failed", "NotFound: gone", "c=0123abcd g=4567ef01"),
            "k-quarantined": ("quarantined", "ForbiddenError: not yours", "c=89ab"),
            "k-bare": ("failed", "odd text", None),
        }
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with engine.connect() as conn:
            back = {r.key: r.error for r in conn.execute(sa.text("SELECT key, error FROM pairs"))}
        assert back["k-pending"] == "pending create" and back["k-ok"] is None
        assert back["k-failed"] == "NotFound: gone [c=0123abcd g=4567ef01]"
        assert back["k-bare"] == "odd text []"
    finally:
        engine.dispose()


def test_paused_links_become_paused_preferences(db_url: str) -> None:
    """A link stored as `paused` (the old second way to pause) becomes an ok link with the
    user's preference paused; the other preferences are kept."""
    from datetime import datetime

    from calsync.state import Store

    migrate(db_url, "0001")
    engine = make_engine(db_url)
    now = datetime(2026, 11, 1)
    try:
        with engine.begin() as conn:
            for name in ("alice", "bob"):
                conn.execute(
                    sa.text(
                        "INSERT INTO users (name, email, time_zone, role, created_at)"
                        " VALUES (:n, '', 'UTC', 'user', :t)"
                    ),
                    {"n": name, "t": now},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO google_links (user_name, google_email, refresh_token,"
                        " scopes, status, message, connected_at, updated_at)"
                        " VALUES (:n, :e, 'x', '', 'paused', '', :t, :t)"
                    ),
                    {"n": name, "e": f"{name}@example.com", "t": now},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO preferences (user_name, data, updated_at)"
                    " VALUES ('bob', '{\"days_past\": 3}', :t)"
                ),
                {"t": now},
            )
        migrate(engine)
        with engine.connect() as conn:
            statuses = conn.execute(sa.text("SELECT status FROM google_links")).scalars().all()
        assert statuses == ["ok", "ok"]
    finally:
        engine.dispose()
    with Store.open(db_url, "k" * 32) as store:
        assert store.get_prefs("alice").paused is True
        bob = store.get_prefs("bob")
        assert bob.paused is True and bob.days_past == 3


def test_quota_counters_gain_an_api_and_old_counts_become_calendar(db_url: str) -> None:
    """Counts kept before there was one budget per API were all Calendar API budget: after the
    upgrade they are `calendar` rows, a `tasks` row may join them under the same day and user,
    and a downgrade folds the APIs back into one count."""
    from datetime import date

    from calsync.state import Store

    migrate(db_url, "0002_webauth_sessions")
    engine = make_engine(db_url)
    day = date(2026, 11, 2)
    try:
        with engine.begin() as conn:
            for user, calls in (("alice", 40), ("bob", 7), ("", 3)):
                conn.execute(
                    sa.text(
                        "INSERT INTO quota_counters (day, user_name, calls) VALUES (:d, :u, :c)"
                    ),
                    {"d": day, "u": user, "c": calls},
                )
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT user_name, api, calls FROM quota_counters ORDER BY user_name")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("", "calendar", 3),
            ("alice", "calendar", 40),
            ("bob", "calendar", 7),
        ]
        with Store.open(db_url, "k" * 32) as store:
            assert store.add_calls("alice", 5, day, "tasks") == 5
            assert store.add_calls("alice", 1, day, "calendar") == 41
            assert store.calls_on(day, "alice") == 46
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002_webauth_sessions")
        with engine.connect() as conn:
            folded = conn.execute(
                sa.text("SELECT user_name, calls FROM quota_counters ORDER BY user_name")
            ).all()
        assert [tuple(r) for r in folded] == [("", 3), ("alice", 46), ("bob", 7)]
    finally:
        engine.dispose()
