"""Budget stops and alerts: `budget_waits` (a user's rounds of one API waiting for the next
quota day or a raised budget) and `budget_alerts` (each alert sent, once per quota day and
budget).

Revision ID: 0006_alerts_budget_waits
Revises: 0006_push_channels
Create Date: 2026-11-30 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_alerts_budget_waits"
down_revision: str | None = "0006_push_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "budget_waits",
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("budget_limit", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_in", sa.String(length=255), server_default="", nullable=False),
        sa.CheckConstraint("scope IN ('project', 'user')", name=op.f("ck_budget_waits_scope")),
        sa.PrimaryKeyConstraint("user_name", "api", name=op.f("pk_budget_waits")),
    )
    op.create_table(
        "budget_alerts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("budget_limit", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("emailed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "api", "scope", "user_name", "percent", name=op.f("pk_budget_alerts")
        ),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_table("budget_waits")
