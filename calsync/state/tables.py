"""The state database's tables (SQLAlchemy Core); the schema is versioned by Alembic.

Any change here needs a new revision in `calsync/state/migrations/versions/` (a test checks
that autogenerate finds no difference). Times are stored as naive UTC and read back aware.
User columns of the sync tables are plain names (no foreign key) so the engine's rows never
depend on the order accounts are created in; links and preferences belong to a user row.
"""

from __future__ import annotations

import sqlalchemy as sa

from calsync.db import UTCDateTime as UTCDateTime  # re-exported: migrations name it here
from calsync.engine.pairs import PairStatus

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


NAME = sa.String(255)
"""CRM user names, keys, ids."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("crm_id", NAME, nullable=True),
    sa.Column("email", NAME, nullable=False, server_default=""),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("last_sync_at", UTCDateTime, nullable=True),
    sa.Column("last_sync_status", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("role IN ('admin', 'user')", name="role"),
)

google_links = sa.Table(
    "google_links",
    metadata,
    sa.Column("user_name", NAME, sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("google_email", NAME, nullable=False),
    sa.Column("refresh_token", sa.Text, nullable=False),  # Fernet-encrypted, never clear
    sa.Column("scopes", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.String(32), nullable=False, server_default="ok"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("connected_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("status IN ('ok', 'needs_reconnect')", name="status"),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("user_name", NAME, sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

app_settings = sa.Table(
    "app_settings",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("secret", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

pairs = sa.Table(
    "pairs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", NAME, nullable=False),
    sa.Column("crm_id", NAME, nullable=True),
    sa.Column("google_id", sa.String(1024), nullable=True),
    sa.Column("scope", NAME, nullable=False, server_default="primary"),
    sa.Column("crm_etag", NAME, nullable=True),
    sa.Column("google_etag", NAME, nullable=True),
    sa.Column("crm_hash", sa.String(64), nullable=True),
    sa.Column("google_hash", sa.String(64), nullable=True),
    sa.Column("synced_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="ok"),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("observed", sa.String(255), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # Google's copy as last synced (model.as_dict), so an unlisted copy needs no read.
    sa.Column("google_item", sa.JSON, nullable=True),
    sa.UniqueConstraint("user_name", "kind", "key"),
    sa.CheckConstraint(
        "status IN ({})".format(", ".join(f"'{s.value}'" for s in PairStatus)), name="status"
    ),
    sa.Index(None, "user_name", "kind", "crm_id"),
    sa.Index(None, "user_name", "kind", "google_id"),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("user_name", NAME, primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index(None, "user_name", "started_at"),
)

sync_log = sa.Table(
    "sync_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("side", sa.String(16), nullable=False, server_default=""),
    sa.Column("key", NAME, nullable=False, server_default=""),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("level", sa.String(16), nullable=False, server_default="info"),
    sa.Column("extra", sa.JSON, nullable=False),
    sa.Index(None, "user_name", "id"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", NAME, nullable=False),
    sa.Column("winner", sa.String(16), nullable=False),
    sa.Column("crm_version", sa.JSON, nullable=True),
    sa.Column("google_version", sa.JSON, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Index(None, "user_name", "id"),
)

quota_counters = sa.Table(
    "quota_counters",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    # A user's name, or '' for calls made on behalf of no one user (project-wide).
    sa.Column("user_name", NAME, primary_key=True),
    # The Google API the calls went to (`calendar` | `tasks`): each has its own quota.
    sa.Column("api", sa.String(16), primary_key=True, server_default="calendar"),
    sa.Column("calls", sa.BigInteger, nullable=False, server_default="0"),
)

# No longer written: the lease row (below) names the lock's holder. Kept until a migration
# drops it, so a schema at an older revision still matches.
locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("owner", NAME, nullable=False),  # host:pid:thread, for the operator's eyes
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("user_name", NAME, primary_key=True),
    # Raised by one on every takeover and never reset: a round's fencing token. A commit of
    # that round's state proves it, in the same transaction, or is refused.
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("holder", NAME, nullable=True),  # host:pid:thread while held, for the operator
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("proved_at", UTCDateTime, nullable=False),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    # sha256 of the token the browser holds: a copy of the database signs no one in.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", NAME, sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index(None, "user_name"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    # The user name as typed (lower case; '' counts every name from one address) and the
    # client's address: throttling is per pair, so failures elsewhere never lock a user out.
    sa.Column("name", NAME, primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_at", UTCDateTime, nullable=False),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    # sha256 of the OAuth `state`; the row is deleted by the callback that uses it.
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", NAME, sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

push_channels = sa.Table(
    "push_channels",
    metadata,
    # A Google `events.watch` channel on one of a user's calendars: notifications name it.
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("user_name", NAME, sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("calendar_id", NAME, nullable=False),
    sa.Column("resource_id", NAME, nullable=False),
    # sha256 of the channel's token, which Google echoes in every notification: a copy of
    # the database cannot forge one.
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "user_name"),
)

budget_waits = sa.Table(
    "budget_waits",
    metadata,
    # A user's rounds of one Google API stopped because a daily budget was spent: they wait
    # for the next quota day, or for that budget to be raised above `budget_limit`.
    sa.Column("user_name", NAME, primary_key=True),
    sa.Column("api", sa.String(16), primary_key=True),
    sa.Column("scope", sa.String(16), nullable=False),  # `project` | `user`
    sa.Column("day", sa.Date, nullable=False),  # the quota day (Pacific time) it is spent for
    sa.Column("budget_limit", sa.BigInteger, nullable=False),
    sa.Column("stopped_at", UTCDateTime, nullable=False),
    sa.Column("stopped_in", NAME, nullable=False, server_default=""),  # e.g. `event:primary`
    sa.CheckConstraint("scope IN ('project', 'user')", name="scope"),
)

budget_alerts = sa.Table(
    "budget_alerts",
    metadata,
    # One row per alert sent: its key makes each one go out once per quota day and budget,
    # whichever process crossed the threshold first.
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("api", sa.String(16), primary_key=True),
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("user_name", NAME, primary_key=True),  # '' for the project's budget
    sa.Column("percent", sa.Integer, primary_key=True),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.Column("budget_limit", sa.BigInteger, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("emailed", sa.Boolean, nullable=False, server_default=sa.false()),
)
