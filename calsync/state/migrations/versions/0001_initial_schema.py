"""Initial schema: users, links, prefs, settings, pairs, cursors, runs, log, conflicts, quota.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:52:47.066911
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("secret", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("winner", sa.String(length=16), nullable=False),
        sa.Column("crm_version", sa.JSON(), nullable=True),
        sa.Column("google_version", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
    )
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conflicts_user_name_id"), ["user_name", "id"], unique=False
        )

    op.create_table(
        "cursors",
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_name", "name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("crm_id", sa.String(length=255), nullable=True),
        sa.Column("google_id", sa.String(length=1024), nullable=True),
        sa.Column("scope", sa.String(length=255), server_default="primary", nullable=False),
        sa.Column("crm_etag", sa.String(length=255), nullable=True),
        sa.Column("google_etag", sa.String(length=255), nullable=True),
        sa.Column("crm_hash", sa.String(length=64), nullable=True),
        sa.Column("google_hash", sa.String(length=64), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairs")),
        sa.UniqueConstraint("user_name", "kind", "key", name=op.f("uq_pairs_user_name_kind_key")),
    )
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pairs_user_name_kind_crm_id"),
            ["user_name", "kind", "crm_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_pairs_user_name_kind_google_id"),
            ["user_name", "kind", "google_id"],
            unique=False,
        )

    op.create_table(
        "quota_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("calls", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "user_name", name=op.f("pk_quota_counters")),
    )
    op.create_table(
        "sync_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=16), server_default="", nullable=False),
        sa.Column("key", sa.String(length=255), server_default="", nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("level", sa.String(length=16), server_default="info", nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_log")),
    )
    with op.batch_alter_table("sync_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_log_user_name_id"), ["user_name", "id"], unique=False
        )

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_runs_user_name_started_at"),
            ["user_name", "started_at"],
            unique=False,
        )

    op.create_table(
        "users",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("crm_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), server_default="", nullable=False),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("last_sync_status", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'user')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
    )
    op.create_table(
        "google_links",
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("google_email", sa.String(length=255), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=32), server_default="ok", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("connected_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('ok', 'needs_reconnect', 'paused')", name=op.f("ck_google_links_status")
        ),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["users.name"],
            name=op.f("fk_google_links_user_name_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_google_links")),
    )
    op.create_table(
        "preferences",
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["users.name"],
            name=op.f("fk_preferences_user_name_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_preferences")),
    )


def downgrade() -> None:

    op.drop_table("preferences")
    op.drop_table("google_links")
    op.drop_table("users")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_user_name_started_at"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("sync_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_log_user_name_id"))

    op.drop_table("sync_log")
    op.drop_table("quota_counters")
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pairs_user_name_kind_google_id"))
        batch_op.drop_index(batch_op.f("ix_pairs_user_name_kind_crm_id"))

    op.drop_table("pairs")
    op.drop_table("locks")
    op.drop_table("cursors")
    with op.batch_alter_table("conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflicts_user_name_id"))

    op.drop_table("conflicts")
    op.drop_table("app_settings")
