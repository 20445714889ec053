"""What the web app needs from the rest of calsync, as small protocols, plus thin adapters.

Routes talk only to these: `WebStore` (users, links, prefs, settings, logs), `SyncServiceLike`
(one sync round), `CrmAuthenticator` (CRM sign-in) and `GoogleGateway` (OAuth and the
calendar list). `adapt_store` wraps the state store of `calsync.state` into a `WebStore`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from calsync.engine.store import Conflict, LogEntry
from calsync.prefs import Prefs

_LOGGER = logging.getLogger(__name__)

ROLE_ADMIN = "admin"
ROLE_USER = "user"

LINK_OK = "ok"
LINK_NEEDS_RECONNECT = "needs_reconnect"
LINK_PAUSED = "paused"

SETTING_CLIENT_ID = "google_client_id"
SETTING_CLIENT_SECRET = "google_client_secret"
SETTING_DAILY_BUDGET = "google_daily_budget"
DEFAULT_DAILY_BUDGET = 1_000_000


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person who may sign in: the admin, or a CRM user seen at sign-in."""

    name: str
    role: str = ROLE_USER
    password_hash: str | None = None
    """argon2 hash for accounts kept by calsync; None for CRM users (checked by the CRM)."""


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A CRM user's link to one Google account."""

    user: str
    email: str
    status: str = LINK_OK
    """ok | needs_reconnect | paused."""
    scopes: tuple[str, ...] = ()
    refresh_token: str | None = field(default=None, repr=False)
    """Decrypted refresh token; never rendered."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The latest sync round of a user, as stored."""

    user: str
    started: datetime
    finished: datetime | None = None
    status: str = "running"
    """running | ok | failed."""
    summary: str = ""
    error: str = ""


class WebStore(Protocol):
    """The state store as the web app uses it."""

    def ping(self) -> None:
        """Raise when the database cannot be reached."""

    def get_user(self, name: str) -> UserRecord | None:
        """Return the user `name`, or None."""

    def put_user(self, user: UserRecord) -> None:
        """Insert or replace a user."""

    def list_users(self) -> list[UserRecord]:
        """Return every user, by name."""

    def get_link(self, user: str) -> LinkInfo | None:
        """Return the user's Google link (token decrypted), or None."""

    def put_link(self, link: LinkInfo) -> None:
        """Insert or replace the user's Google link (the token is encrypted at rest)."""

    def set_link_status(self, user: str, status: str) -> None:
        """Change the link status of `user`."""

    def delete_link(self, user: str) -> None:
        """Forget the user's Google link (pairs are kept, so a reconnect re-links)."""

    def get_prefs(self, user: str) -> Prefs:
        """Return the user's preferences (defaults when never set)."""

    def set_prefs(self, user: str, prefs: Prefs) -> None:
        """Store the user's preferences."""

    def get_setting(self, key: str) -> str | None:
        """Return an app setting (decrypted when secret), or None."""

    def set_setting(self, key: str, value: str, *, secret: bool = False) -> None:
        """Store an app setting, encrypted when `secret`."""

    def last_run(self, user: str) -> RunInfo | None:
        """Return the user's latest sync round, or None."""

    def sync_log(self, user: str, limit: int = 100) -> list[LogEntry]:
        """Return the user's latest log lines, newest first."""

    def conflicts(self, user: str, limit: int = 50) -> list[Conflict]:
        """Return the user's latest conflicts, newest first."""

    def reset_sync_state(self, user: str) -> None:
        """Forget the user's pairs and cursors (the next round re-links by stored ids)."""


class SyncServiceLike(Protocol):
    """Anything that runs one sync round for a user (calsync.service.SyncService)."""

    def sync_user(self, user_name: str) -> object:
        """Run one round for `user_name` and return its report."""


class CrmAuthenticator(Protocol):
    """Checks a CRM user's credentials (embedded CRM password, or vtiger access key)."""

    def check(self, user: str, secret: str) -> bool:
        """Return True when `secret` signs `user` in."""


class CrmProbe(Protocol):
    """The admin page's "test connection" button."""

    def __call__(self) -> str:
        """Return a short success message, or raise with the reason."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """The result of an authorization-code exchange."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One entry of the linked account's calendarList (or one task list)."""

    id: str
    summary: str
    primary: bool = False
    writable: bool = True


class GoogleError(Exception):
    """A Google call failed; `reason` is Google's error code (e.g. invalid_grant)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class GoogleGateway(Protocol):
    """OAuth endpoints and the few reads the settings page needs."""

    def authorization_url(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
    ) -> str:
        """Return the consent URL (offline access, consent prompt, PKCE S256)."""

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> Tokens:
        """Exchange an authorization code for tokens."""

    def account_email(self, access_token: str) -> str:
        """Return the email of the account (the id of its primary calendar)."""

    def revoke(self, token: str) -> None:
        """Revoke a refresh or access token."""

    def calendars(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's calendarList entries."""

    def tasklists(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's task lists."""


def describe_report(report: object) -> str:
    """Return a one-line summary of a sync report, whatever its shape."""
    summary = getattr(report, "summary", None)
    if callable(summary):
        return str(summary())
    if isinstance(summary, str):
        return summary
    data: Any = report
    if hasattr(report, "__dataclass_fields__"):
        from dataclasses import asdict

        data = asdict(report)  # type: ignore[call-overload]
    if isinstance(data, dict):
        return ", ".join(f"{k}: {_short(v)}" for k, v in data.items())
    return "" if report is None else str(report)


def _short(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple) and len(value) > 5:
        return f"{len(value)} items"
    return str(value)
