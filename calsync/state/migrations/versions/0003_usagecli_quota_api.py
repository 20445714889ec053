"""Quota counters per Google API: `quota_counters.api` (`calendar` | `tasks`) joins the key;
the calls counted so far were all budgeted as Calendar API calls, so they become `calendar`.

Revision ID: 0003_usagecli_quota_api
Revises: 0002_app_service_paused
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_usagecli_quota_api"
down_revision: str | None = "0002_webauth_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_counters = sa.table(
    "quota_counters",
    sa.column("day", sa.Date),
    sa.column("user_name", sa.String),
    sa.column("api", sa.String),
    sa.column("calls", sa.BigInteger),
)


def upgrade() -> None:
    # SQLite rebuilds the table (it cannot alter a primary key); PostgreSQL alters it.
    with op.batch_alter_table("quota_counters") as batch:
        batch.add_column(
            sa.Column("api", sa.String(length=16), server_default="calendar", nullable=False)
        )
        batch.drop_constraint(op.f("pk_quota_counters"), type_="primary")
        batch.create_primary_key(op.f("pk_quota_counters"), ["day", "user_name", "api"])


def downgrade() -> None:
    # The old key holds one row per day and user: fold the APIs' counts together first.
    conn = op.get_bind()
    totals = conn.execute(
        sa.select(_counters.c.day, _counters.c.user_name, sa.func.sum(_counters.c.calls)).group_by(
            _counters.c.day, _counters.c.user_name
        )
    ).all()
    conn.execute(_counters.delete())
    with op.batch_alter_table("quota_counters") as batch:
        batch.drop_constraint(op.f("pk_quota_counters"), type_="primary")
        batch.drop_column("api")
        batch.create_primary_key(op.f("pk_quota_counters"), ["day", "user_name"])
    old = sa.table(
        "quota_counters",
        sa.column("day", sa.Date),
        sa.column("user_name", sa.String),
        sa.column("calls", sa.BigInteger),
    )
    if totals:
        conn.execute(
            old.insert(), [{"day": d, "user_name": u, "calls": int(c)} for d, u, c in totals]
        )
