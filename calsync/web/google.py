"""The web app's Google gateway: consent URL, code exchange, revoke, calendar and task lists.

A thin adapter over `calsync.sides.google` (oauth helpers, GoogleHttp, the calendar and tasks
sides), turning their errors into `GoogleError` for the pages. Endpoints come from the
configuration, so the same code talks to Google or to the emulator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from calsync.errors import AdapterError, AuthError
from calsync.sides.google import oauth
from calsync.sides.google.auth import StaticTokenAuth
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.factory import GoogleSettings, connect
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.oauth import SCOPE_TASKS, scopes_for
from calsync.sides.google.tasks import GoogleTasksSide
from calsync.web.services import AuthRequest, CalendarInfo, GoogleError, Tokens

_LOGGER = logging.getLogger(__name__)

__all__ = ["SCOPE_TASKS", "SidesGoogleGateway", "scopes_for"]

_WRITABLE = ("owner", "writer")


class SidesGoogleGateway:
    """GoogleGateway built on calsync's Google side, pointed at Google or the emulator."""

    def __init__(
        self,
        *,
        auth_url: str,
        token_url: str,
        api_url: str,
        client: httpx.Client | None = None,
    ) -> None:
        self.auth_url = auth_url
        self.token_url = token_url
        self.api_url = api_url.rstrip("/")
        self._http = client

    def authorization_request(
        self, *, client_id: str, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthRequest:
        """Return the consent URL (offline, consent prompt, PKCE S256) and the PKCE verifier."""
        req = oauth.authorization_url(self.auth_url, client_id, redirect_uri, scopes, state=state)
        return AuthRequest(url=req.url, code_verifier=req.code_verifier)

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
        try:
            grant = oauth.exchange_code(
                self.token_url,
                client_id,
                client_secret,
                code,
                redirect_uri,
                code_verifier,
                client=self._http,
            )
        except AdapterError as err:
            raise _google_error(err) from err
        return Tokens(grant.access_token, grant.refresh_token, grant.scopes)

    def account_email(self, access_token: str) -> str:
        """Return the email of the account: the id of its primary calendar."""
        http = GoogleHttp(StaticTokenAuth(access_token), user="web", base_url=self.api_url)
        try:
            calendars = GoogleCalendarSide(http).list_calendars()
        except AdapterError as err:
            raise _google_error(err) from err
        for cal in calendars:
            if cal.primary:
                return cal.id
        raise GoogleError("the account has no primary calendar")

    def revoke(self, token: str) -> None:
        """Revoke a refresh token (an already invalid one counts as revoked)."""
        try:
            oauth.revoke(oauth.revoke_url_for(self.token_url), token, client=self._http)
        except AdapterError as err:
            raise _google_error(err) from err

    def calendars(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's calendarList entries, primary first."""
        http = connect(self._settings(client_id, client_secret), "web", refresh_token)
        try:
            found = GoogleCalendarSide(http).list_calendars()
        except AdapterError as err:
            raise _google_error(err) from err
        out = [CalendarInfo(c.id, c.summary, c.primary, c.access_role in _WRITABLE) for c in found]
        out.sort(key=lambda c: (not c.primary, c.summary.lower()))
        return out

    def tasklists(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's task lists."""
        settings = self._settings(client_id, client_secret)
        http = connect(settings, "web", refresh_token, tasks=True)
        try:
            return [CalendarInfo(t.id, t.title) for t in GoogleTasksSide(http).list_tasklists()]
        except AdapterError as err:
            raise _google_error(err) from err

    def _settings(self, client_id: str, client_secret: str) -> GoogleSettings:
        return GoogleSettings(
            client_id=client_id,
            client_secret=client_secret,
            api_url=self.api_url,
            auth_url=self.auth_url,
            token_url=self.token_url,
        )


def _google_error(err: AdapterError) -> GoogleError:
    # Only invalid_grant means the user's grant is gone; invalid_client etc. are the admin's.
    if isinstance(err, AuthError):
        reason = "invalid_grant" if "invalid_grant" in str(err) else "auth"
    else:
        reason = type(err).__name__
    _LOGGER.info("Google call from the web app failed: %s", err)
    return GoogleError(str(err), reason)
