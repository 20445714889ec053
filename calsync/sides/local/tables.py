"""Tables of the embedded CRM calendar (its own SQLite database, separate from the state store).

Every row carries `version` (its etag, bumped on each write) and `seq`, the value of the global
change sequence at its last write; deleted rows stay as tombstones (`deleted`) so `changes()`
can report them. The schema is created on first use (`metadata.create_all`), which also adds
the tables a newer version brings (series' exceptions) to an existing database.
"""

from __future__ import annotations

import sqlalchemy as sa

from calsync.db import UTCDateTime

metadata = sa.MetaData()

NAME = sa.String(255)

users = sa.Table(
    "crm_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("email", NAME, nullable=False, server_default=""),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("language", sa.String(16), nullable=False, server_default="en_us"),
)

sequence = sa.Table(
    "crm_sequence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("floor", sa.BigInteger, nullable=False, server_default="0"),
    # Cursors below `floor` are refused: the tombstones they would need were purged.
)


def _tracking() -> list[sa.Column[object]]:
    return [
        sa.Column("owner", NAME, sa.ForeignKey("crm_users.name"), nullable=False),
        sa.Column("link_key", NAME, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    ]


def _content(nullable: bool = False) -> list[sa.Column[object]]:
    """Return the columns holding an event's content (each call makes new column objects)."""
    return [
        sa.Column("title", sa.Text, nullable=nullable),
        sa.Column("description", sa.Text, nullable=nullable, server_default=""),
        sa.Column("location", sa.Text, nullable=nullable, server_default=""),
        sa.Column("all_day", sa.Boolean, nullable=nullable),
        sa.Column("start_at", UTCDateTime, nullable=True),
        sa.Column("end_at", UTCDateTime, nullable=True),
        sa.Column("start_date", sa.Date, nullable=True),
        sa.Column("end_date", sa.Date, nullable=True),  # exclusive, as in the domain model
        sa.Column("tz", sa.String(64), nullable=nullable),
        sa.Column("visibility", sa.String(16), nullable=nullable),
        sa.Column("status", sa.String(16), nullable=nullable),
        sa.Column("transparency", sa.String(16), nullable=nullable),
        sa.Column("reminders", sa.JSON, nullable=nullable),
        sa.Column("attendees", sa.JSON, nullable=nullable),
    ]


events = sa.Table(
    "crm_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_content(),
    sa.Column("recurrence", sa.JSON, nullable=True),
    *_tracking(),
    sa.Index("ix_crm_events_owner_seq", "owner", "seq"),
)

event_overrides = sa.Table(
    "crm_event_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "master_id", sa.Integer, sa.ForeignKey("crm_events.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("original", sa.String(40), nullable=False),
    # The occurrence's start as the rule places it (RECURRENCE-ID): a UTC instant in ISO form
    # for a timed series, an ISO date for an all-day one.
    sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
    *_content(nullable=True),  # empty for a cancelled occurrence
    sa.UniqueConstraint("master_id", "original", name="uq_crm_event_overrides_original"),
)
"""Exceptions of a series: one row per moved, edited or cancelled occurrence, owned by its
master row in `crm_events`. They change only with their master (which takes a new version and
sequence number), so the master's version is the whole series' etag."""

todos = sa.Table(
    "crm_todos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("due", sa.Date, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    *_tracking(),
    sa.Index("ix_crm_todos_owner_seq", "owner", "seq"),
)
