"""Pairs keep Google's copy as last synced, so an unlisted copy needs no `events.get`.

Revision ID: 0008_batch_pair_google_item
Revises: 0006_alerts_budget_waits (file 0007_alerts_budget_waits.py)
Create Date: 2026-11-30 20:30:00

Existing rows get none: their Google copy is read once, as before, the next time the CRM
copy changes, and kept from then on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_batch_pair_google_item"
down_revision: str | None = "0006_alerts_budget_waits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pairs") as batch:
        batch.add_column(sa.Column("google_item", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pairs") as batch:
        batch.drop_column("google_item")
