"""Pairs: a typed status, message and observed fingerprint instead of one `error` string.

Revision ID: 0005_enginecore_pair_status
Revises: 0004_dup_safety_leases
Create Date: 2026-11-30 17:20:00

The old `error` column held three things in one string: the marker of an intent row
("pending create"), the message of a failure, and the contents seen when it failed in
brackets ("NotFound: gone [c=0123abcd g=4567ef01]"). Existing rows are converted; a failed
row that had reached the default limit of attempts (5) becomes quarantined, as the engine of
that time treated it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_enginecore_pair_status"
down_revision: str | None = "0004_dup_safety_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_PENDING = "pending create"
OLD_LIMIT = 5
_OBSERVED = re.compile(r"^(?P<message>.*) \[(?P<observed>[^\[\]]*)\]$", re.DOTALL)
STATUSES = ("ok", "pending", "failed", "quarantined")

_pairs = sa.table(
    "pairs",
    sa.column("id", sa.Integer),
    sa.column("error", sa.Text),
    sa.column("attempts", sa.Integer),
    sa.column("status", sa.String),
    sa.column("message", sa.Text),
    sa.column("observed", sa.String),
)


def split_error(error: str, attempts: int) -> dict[str, str | None]:
    """Return the typed columns for an old `error` value."""
    if error == OLD_PENDING:
        return {"status": "pending", "message": None, "observed": None}
    found = _OBSERVED.match(error)
    message, observed = (found["message"], found["observed"]) if found else (error, None)
    status = "quarantined" if attempts >= OLD_LIMIT else "failed"
    return {"status": status, "message": message, "observed": observed or None}


def join_error(status: str, message: str | None, observed: str | None) -> str | None:
    """Return the old `error` value for the typed columns."""
    if status == "ok":
        return None
    if status == "pending":
        return OLD_PENDING
    return f"{message or ''} [{observed or ''}]"


def upgrade() -> None:
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="ok", nullable=False)
        )
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("observed", sa.String(length=255), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_pairs.c.id, _pairs.c.error, _pairs.c.attempts).where(_pairs.c.error.is_not(None))
    ).all()
    for row in rows:
        values = split_error(row.error, row.attempts)
        conn.execute(_pairs.update().where(_pairs.c.id == row.id).values(**values))
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.create_check_constraint(
            op.f("ck_pairs_status"), "status IN ({})".format(", ".join(f"'{s}'" for s in STATUSES))
        )


def downgrade() -> None:
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_pairs_status"), type_="check")
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_pairs.c.id, _pairs.c.status, _pairs.c.message, _pairs.c.observed).where(
            _pairs.c.status != "ok"
        )
    ).all()
    for row in rows:
        error = join_error(row.status, row.message, row.observed)
        conn.execute(_pairs.update().where(_pairs.c.id == row.id).values(error=error))
    with op.batch_alter_table("pairs", schema=None) as batch_op:
        batch_op.drop_column("observed")
        batch_op.drop_column("message")
        batch_op.drop_column("status")
