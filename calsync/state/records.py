"""What the state store hands out besides the engine's types: users, links, runs; its errors.

Public API: `UserRecord`, `Role`, `GoogleLink`, `LinkStatus`, `SyncRun`, `SettingInfo`,
`SettingKey`, `LockInfo`, `PushChannel`, `BudgetWait`, `AlertRecord`, and the errors
`StoreError`, `UnknownUser`, `UserExists`, `UserBusy`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from calsync.errors import CalsyncError


class StoreError(CalsyncError):
    """The state store refused an operation."""


class UnknownUser(StoreError, KeyError):
    """No user of that name exists in the state database."""

    def __str__(self) -> str:
        return f"unknown user {self.args[0]!r}" if self.args else "unknown user"


class UserExists(StoreError):
    """A user of that name already exists."""


class UserBusy(StoreError):
    """Another sync of this user is running (its lock is held elsewhere)."""

    def __init__(self, user: str, holder: str | None = None) -> None:
        self.user = user
        self.holder = holder
        by = f" by {holder}" if holder else ""
        super().__init__(f"a sync of {user!r} is already running{by}")


class Role(enum.StrEnum):
    ADMIN = "admin"
    USER = "user"


class LinkStatus(enum.StrEnum):
    """Whether Google still accepts the link's grant (pausing is a preference, not a status)."""

    OK = "ok"
    NEEDS_RECONNECT = "needs_reconnect"
    """Google refused the token (revoked, expired): the user must connect again."""


class SettingKey(enum.StrEnum):
    """Well-known app settings (admin page); they override the matching `Settings` field."""

    GOOGLE_CLIENT_ID = "google_client_id"
    GOOGLE_CLIENT_SECRET = "google_client_secret"
    """Stored with `secret=True`."""
    GOOGLE_DAILY_BUDGET = "google_daily_budget"
    """The Calendar API's project budget (the one budget before there was one per API)."""
    GOOGLE_USER_DAILY_BUDGET = "google_user_daily_budget"
    """The Calendar API's budget per user."""
    GOOGLE_TASKS_DAILY_BUDGET = "google_tasks_daily_budget"
    GOOGLE_TASKS_USER_DAILY_BUDGET = "google_tasks_user_daily_budget"
    GOOGLE_USER_CALLS_PER_MINUTE = "google_user_calls_per_minute"
    SYNC_INTERVAL_MINUTES = "sync_interval_minutes"
    GOOGLE_REDIRECT_URI = "web_redirect_uri"
    """Redirect URI registered with Google when it is not `<base>/oauth/callback`."""
    ALERT_THRESHOLDS = "alert_thresholds"
    """Budget shares that send an alert, in percent, comma-separated (e.g. `50,90,100`)."""
    SMTP_HOST = "smtp_host"
    SMTP_PORT = "smtp_port"
    SMTP_SECURITY = "smtp_security"
    """`starttls`, `tls` or `none`."""
    SMTP_USER = "smtp_user"
    SMTP_PASSWORD = "smtp_password"
    """Stored with `secret=True`."""
    SMTP_SENDER = "smtp_sender"
    SMTP_RECIPIENTS = "smtp_recipients"
    """Comma-separated addresses."""

    @property
    def secret(self) -> bool:
        return self in (SettingKey.GOOGLE_CLIENT_SECRET, SettingKey.SMTP_PASSWORD)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A CRM user known to calsync (password hash left out on purpose)."""

    name: str
    crm_id: str | None
    email: str
    time_zone: str
    role: Role
    has_password: bool
    created_at: datetime
    last_sync_at: datetime | None = None
    last_sync_status: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class GoogleLink:
    """A user's connection to a Google account; `refresh_token` is decrypted."""

    user: str
    google_email: str
    refresh_token: str = field(repr=False)
    scopes: tuple[str, ...]
    status: LinkStatus
    message: str
    connected_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One sync round of one user."""

    id: int
    user: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    """`running` until finished, then e.g. ok, partial, blocked, failed."""
    counts: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """An app setting as the admin page lists it: secret values are never shown."""

    key: str
    value: str | None
    """The value, or None for a secret one."""
    secret: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a user's sync lock, for the operator's eyes."""

    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime
    run_id: int | None = None
    """The sync run started with the lock (`Store.user_lock(run_started_at=...)`), if any."""


@dataclass(frozen=True, slots=True)
class PushChannel:
    """A Google watch channel open on one of a user's calendars (its token is kept hashed)."""

    id: str
    user: str
    calendar: str
    """The calendar as the user's preferences name it (`primary` or an id)."""
    resource_id: str
    """Google's id of the watched resource, needed to stop the channel."""
    token_hash: str = field(repr=False)
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BudgetWait:
    """A user's rounds of one Google API stopped on a spent daily budget, and wait."""

    user: str
    api: str
    """`calendar` | `tasks`."""
    scope: str
    """`project` (every user's calls) or `user` (this user's calls)."""
    day: date
    """The quota day the budget is spent for; the wait ends when the next one starts."""
    limit: int
    """The budget when it stopped the round; a higher one ends the wait."""
    stopped_at: datetime
    stopped_in: str = ""
    """Which round stopped, e.g. `event:primary` (kind and calendar or task list)."""


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A budget alert sent: once per quota day, API, budget and threshold."""

    day: date
    api: str
    scope: str
    """`project` or `user`."""
    user: str | None
    """The user, for a user's budget."""
    percent: int
    """The threshold crossed, in percent of the budget."""
    used: int
    limit: int
    sent_at: datetime
    emailed: bool = False
    """Whether the email went out (False: no SMTP server set, or sending failed)."""
