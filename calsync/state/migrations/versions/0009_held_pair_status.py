"""Pairs: a `held` status for a change that may not travel yet (out of scope).

Revision ID: 0009_held_pair_status
Revises: 0008_batch_pair_google_item
Create Date: 2026-11-30 21:40:00

Only the status check grows a value; no row changes (a frozen row of before reads as in
sync until its next full listing, as it did).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_held_pair_status"
down_revision: str | None = "0008_batch_pair_google_item"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("ok", "pending", "failed", "quarantined")
AFTER = (*BEFORE, "held")


def _check(statuses: tuple[str, ...]) -> str:
    return "status IN ({})".format(", ".join(f"'{s}'" for s in statuses))


def upgrade() -> None:
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_pairs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_pairs_status"), _check(AFTER))


def downgrade() -> None:
    op.execute("UPDATE pairs SET status = 'ok' WHERE status = 'held'")
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_pairs_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_pairs_status"), _check(BEFORE))
