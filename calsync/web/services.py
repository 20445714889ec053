"""What the web app needs from the rest of calsync, as small protocols and value types.

Routes talk only to these: `WebStore` (the subset of `calsync.state.Store` it uses),
`SyncServiceLike` (one sync round), `CrmAuthenticator` (CRM sign-in) and `GoogleGateway`
(OAuth and the calendar list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from calsync.engine.pairs import Kind
from calsync.engine.store import Conflict, LogEntry
from calsync.prefs import Prefs
from calsync.state.records import (
    GoogleLink,
    LinkStatus,
    Role,
    SettingKey,
    SyncRun,
    UserRecord,
)

PING_KEY = "_web_ping"
SESSION_KEY_SETTING = "_web_session_key"

# The admin page's settings; they win over the matching CALSYNC_* values.
SETTING_CLIENT_ID = SettingKey.GOOGLE_CLIENT_ID.value
SETTING_CLIENT_SECRET = SettingKey.GOOGLE_CLIENT_SECRET.value
SETTING_DAILY_BUDGET = SettingKey.GOOGLE_DAILY_BUDGET.value
DEFAULT_DAILY_BUDGET = 1_000_000
SETTING_REDIRECT_URI = "web_redirect_uri"
"""Redirect URI registered with Google when it is not `<base>/oauth/callback` (e.g. the one an
install of vtiger's Google module registered: `.../index.php?module=GoogleSync&action=...`)."""
VTIGER_CALLBACK = {"module": "GoogleSync", "action": "AuthCallBack"}


class WebStore(Protocol):
    """The part of `calsync.state.Store` the web app uses (the real Store fits as is)."""

    def get_user(self, name: str) -> UserRecord | None:
        """Return the user `name`, or None."""
        ...

    def list_users(self) -> list[UserRecord]:
        """Return every user, by name."""
        ...

    def upsert_user(
        self,
        name: str,
        *,
        crm_id: str | None = None,
        email: str | None = None,
        time_zone: str | None = None,
        role: Role | str | None = None,
    ) -> UserRecord:
        """Create the user `name`, or update the fields given."""
        ...

    def set_password(self, name: str, password: str) -> None:
        """Hash and store the user's password."""
        ...

    def verify_password(self, name: str, password: str) -> bool:
        """Return True when `password` is the user's."""
        ...

    def set_link(
        self, user: str, google_email: str, refresh_token: str, scopes: Sequence[str] | str = ()
    ) -> GoogleLink:
        """Link `user` to a Google account; the token is stored encrypted."""
        ...

    def get_link(self, user: str) -> GoogleLink | None:
        """Return the user's Google link (token decrypted), or None."""
        ...

    def set_link_status(self, user: str, status: LinkStatus | str, message: str = "") -> None:
        """Change the link status of `user`."""
        ...

    def delete_link(self, user: str) -> None:
        """Forget the user's Google link (pairs are kept, so a reconnect re-links)."""
        ...

    def get_prefs(self, user: str) -> Prefs:
        """Return the user's preferences (defaults when never set)."""
        ...

    def set_prefs(self, user: str, prefs: Prefs) -> None:
        """Store the user's preferences."""
        ...

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """Return an app setting (decrypted when secret), or `default`."""
        ...

    def set_setting(self, key: str, value: str | None, *, secret: bool = False) -> None:
        """Store an app setting, encrypted when `secret`; None removes it."""
        ...

    def last_run(self, user: str) -> SyncRun | None:
        """Return the user's latest sync round, or None."""
        ...

    def logs(self, user: str, limit: int = 100, offset: int = 0) -> list[LogEntry]:
        """Return the user's latest log lines, newest first."""
        ...

    def conflicts(self, user: str, limit: int = 100, offset: int = 0) -> list[Conflict]:
        """Return the user's latest conflicts, newest first."""
        ...

    def wipe_pairs(self, user: str, kind: Kind | None = None) -> int:
        """Forget the user's pairs."""
        ...

    def wipe_cursors(self, user: str) -> int:
        """Forget the user's cursors."""
        ...

    def calls_on(self, day: date, user: str | None = None) -> int:
        """Return the Google API calls counted on quota day `day` (everyone's when None)."""
        ...


def ping(store: WebStore) -> None:
    """Raise when the state database cannot be reached (one cheap query)."""
    store.get_setting(PING_KEY)


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
class AuthRequest:
    """Where to send the browser for consent, and the PKCE verifier to keep for the callback."""

    url: str
    code_verifier: str = field(repr=False)


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

    def authorization_request(
        self, *, client_id: str, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthRequest:
        """Return the consent URL (offline, consent prompt, PKCE S256) and the PKCE verifier."""

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


def describe_counts(counts: dict[str, Any]) -> str:
    """Return a run's counts as one line: `CRM: nothing changed; Google: 2 created`."""
    parts = []
    for side, value in counts.items():
        label = {"crm": "CRM", "google": "Google"}.get(side, side)
        if isinstance(value, dict):
            done = [f"{n} {k}" for k, n in value.items() if isinstance(n, int) and n]
            parts.append(f"{label}: {', '.join(done) if done else 'nothing changed'}")
        elif value not in (None, 0, ""):
            parts.append(f"{label}: {value}")
    return "; ".join(parts)


def describe_report(report: object) -> str:
    """Return a one-line summary of a sync report, whatever its shape."""
    counts = getattr(report, "counts", None)
    if callable(counts):
        counted = counts()
        if isinstance(counted, dict):
            return describe_counts(counted)
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


if TYPE_CHECKING:
    from calsync.state.store import Store

    def _store_fits(store: Store) -> WebStore:
        # mypy checks here that the real Store satisfies the protocol.
        return store
