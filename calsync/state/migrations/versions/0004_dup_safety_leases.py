"""Per-user leases: a generation every committed state write of a round proves.

Revision ID: 0004_dup_safety_leases
Revises: 0003_usagecli_quota_api
Create Date: 2026-11-30 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_dup_safety_leases"
down_revision: str | None = "0003_usagecli_quota_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("proved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
