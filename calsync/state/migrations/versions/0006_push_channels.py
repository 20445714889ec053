"""Push channels: the Google watch channels open on users' calendars.

Revision ID: 0006_push_channels
Revises: 0005_enginecore_pair_status
Create Date: 2026-11-30 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_push_channels"
down_revision: str | None = "0005_enginecore_pair_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_channels",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("calendar_id", sa.String(length=255), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["users.name"],
            name=op.f("fk_push_channels_user_name_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_push_channels")),
    )
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_channels_user_name"), ["user_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_channels_user_name"))
    op.drop_table("push_channels")
