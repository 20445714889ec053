"""The Google account calls of the application layer, over HTTP.

Public API: `GoogleAccountClient`, `ListEntry`. Implements the application layer's
`calsync.service.google.GoogleAccounts` with the OAuth helpers and the calendar and tasks
sides; failures are the error tree's (`AuthError` only for a refused grant). Endpoints and the
OAuth client come with each call (`GoogleSettings`), so one instance serves Google or the
emulator, and follows what the admin page saves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from calsync.errors import AdapterError, AuthError
from calsync.sides.google import oauth
from calsync.sides.google.auth import StaticTokenAuth
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.endpoints import revoke_url_for
from calsync.sides.google.factory import GoogleSettings, connect
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.oauth import AuthorizationRequest, TokenGrant
from calsync.sides.google.tasks import GoogleTasksSide

_LOGGER = logging.getLogger(__name__)

_WRITABLE = ("owner", "writer")
_ACCOUNT = "account"
"""The quotaUser of these calls: they belong to no sync round."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One of the account's calendars or task lists, as the user's page offers them."""

    id: str
    summary: str
    primary: bool = False
    writable: bool = True
    """The user may write to it (owner or writer); others are only read."""


class GoogleAccountClient:
    """`GoogleAccounts` over HTTP."""

    def consent_request(
        self, client: GoogleSettings, *, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthorizationRequest:
        """Return the consent URL (offline, consent prompt, PKCE S256) and the PKCE verifier."""
        return oauth.authorization_url(
            client.auth_url, client.client_id, redirect_uri, scopes, state=state
        )

    def exchange_code(
        self, client: GoogleSettings, *, code: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        """Exchange an authorization code for tokens."""
        return oauth.exchange_code(
            client.token_url,
            client.client_id,
            client.client_secret,
            code,
            redirect_uri,
            code_verifier,
        )

    def account_email(self, client: GoogleSettings, access_token: str) -> str:
        """Return the email of the account: the id of its primary calendar."""
        http = GoogleHttp(StaticTokenAuth(access_token), user=_ACCOUNT, base_url=client.api_url)
        with http:
            calendars = GoogleCalendarSide(http).list_calendars()
        for cal in calendars:
            if cal.primary:
                return cal.id
        raise AdapterError("the account has no primary calendar")

    def calendars(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        """Return the account's calendarList entries, primary first."""
        with _refused_grant(), connect(client, _ACCOUNT, refresh_token) as http:
            found = GoogleCalendarSide(http).list_calendars()
        out = [ListEntry(c.id, c.summary, c.primary, c.access_role in _WRITABLE) for c in found]
        out.sort(key=lambda c: (not c.primary, c.summary.lower()))
        return out

    def tasklists(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        """Return the account's task lists."""
        with _refused_grant(), connect(client, _ACCOUNT, refresh_token, tasks=True) as http:
            return [ListEntry(t.id, t.title) for t in GoogleTasksSide(http).list_tasklists()]

    def revoke(self, client: GoogleSettings, token: str) -> None:
        """Revoke a refresh token (an already invalid one counts as revoked)."""
        oauth.revoke(revoke_url_for(client.token_url), token, client.client_id)


@contextmanager
def _refused_grant() -> Iterator[None]:
    """Let only Google's `invalid_grant` through as AuthError: any other refusal (a wrong
    client id or secret) is the administrator's to fix, not a reason to reconnect the user."""
    try:
        yield
    except AuthError as err:
        if "invalid_grant" in str(err):
            raise
        _LOGGER.info("Google refused the OAuth client, not the grant: %s", err)
        raise AdapterError(str(err)) from err
