""" "Paused" is the user's preference only: paused links become preferences, and a link's
status is ok or needs_reconnect.

Revision ID: 0002_app_service_paused
Revises: 0001
Create Date: 2026-11-30 17:55:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002_app_service_paused"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_links = sa.table(
    "google_links",
    sa.column("user_name", sa.String),
    sa.column("status", sa.String),
)
_prefs = sa.table(
    "preferences",
    sa.column("user_name", sa.String),
    sa.column("data", sa.JSON),
    sa.column("updated_at", sa.DateTime),
)


def upgrade() -> None:
    conn = op.get_bind()
    paused = list(
        conn.execute(sa.select(_links.c.user_name).where(_links.c.status == "paused")).scalars()
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    for user in paused:
        data = conn.execute(
            sa.select(_prefs.c.data).where(_prefs.c.user_name == user)
        ).scalar_one_or_none()
        if data is None:
            conn.execute(
                _prefs.insert().values(user_name=user, data={"paused": True}, updated_at=now)
            )
        else:
            conn.execute(
                _prefs.update()
                .where(_prefs.c.user_name == user)
                .values(data={**data, "paused": True}, updated_at=now)
            )
    conn.execute(_links.update().where(_links.c.status == "paused").values(status="ok"))
    with op.batch_alter_table("google_links") as batch:
        batch.drop_constraint(op.f("ck_google_links_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_google_links_status"), "status IN ('ok', 'needs_reconnect')"
        )


def downgrade() -> None:
    # Paused preferences stay where they are: the older code reads them as well.
    with op.batch_alter_table("google_links") as batch:
        batch.drop_constraint(op.f("ck_google_links_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_google_links_status"), "status IN ('ok', 'needs_reconnect', 'paused')"
        )
