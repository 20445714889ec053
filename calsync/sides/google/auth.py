"""The auth seam of the Google adapters: something that hands out access tokens.

Public API: `TokenSource` (protocol: `get_access_token()`, `invalidate()`), `RefreshTokenAuth`
(a stored refresh token, refreshed through google-auth), `StaticTokenAuth` (a fixed access
token, for scripts and tests), `HttpxRequest` (google-auth's transport over an httpx client).

A revoked or expired refresh token (`invalid_grant`) raises AuthError: the user's Google link
needs reconnecting. A token endpoint that is down raises TransientError.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

import google.auth.exceptions
import google.auth.transport
import httpx
from google.oauth2.credentials import Credentials

from calsync.errors import AuthError, TransientError

_LOGGER = logging.getLogger(__name__)


class _HttpxResponse(google.auth.transport.Response):
    def __init__(self, resp: httpx.Response) -> None:
        self._resp = resp

    @property
    def status(self) -> int:
        return self._resp.status_code

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._resp.headers)

    @property
    def data(self) -> bytes:
        return self._resp.content


class HttpxRequest(google.auth.transport.Request):
    """google-auth's transport over an httpx client, so token refreshes use its pool."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: object,
    ) -> _HttpxResponse:
        try:
            resp = self._client.request(
                method,
                url,
                content=body,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.HTTPError as err:
            # google-auth expects its own error for a failed exchange (mapped to TransientError).
            raise google.auth.exceptions.TransportError(err) from err  # type: ignore[no-untyped-call]
        return _HttpxResponse(resp)


class TokenSource(Protocol):
    """Gives the bearer token for Google API calls."""

    def get_access_token(self) -> str:
        """Return a valid access token, refreshing it first if needed."""
        ...

    def invalidate(self) -> None:
        """Forget the current access token (Google answered 401): the next get refreshes."""
        ...


class StaticTokenAuth:
    """A fixed access token; once invalidated it fails with AuthError."""

    def __init__(self, access_token: str) -> None:
        self._token: str | None = access_token

    def get_access_token(self) -> str:
        if self._token is None:
            raise AuthError("the access token was refused and cannot be refreshed")
        return self._token

    def invalidate(self) -> None:
        self._token = None


class RefreshTokenAuth:
    """Access tokens from a stored refresh token, refreshed by google-auth when expired or on 401.

    `token_uri` is given directly: `Credentials.from_authorized_user_info` would force Google's
    URL. `request` is google-auth's transport (default: its requests adapter). `scopes` are kept
    as `self.scopes` but not sent on refresh: a refresh never widens a grant, and asking for
    scopes outside it (a user who unticked Tasks) fails with `invalid_scope`.
    """

    def __init__(
        self,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        token_uri: str,
        scopes: Sequence[str] | None = None,
        *,
        access_token: str | None = None,
        request: google.auth.transport.Request | None = None,
    ) -> None:
        self._credentials = Credentials(
            token=access_token,
            refresh_token=refresh_token,
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
        )
        self.scopes = tuple(scopes or ())
        self._request = request
        self._lock = threading.Lock()

    @property
    def credentials(self) -> Credentials:
        """The google-auth credentials (e.g. to build the official client in tests)."""
        return self._credentials

    def _transport(self) -> google.auth.transport.Request:
        if self._request is None:
            # Imported late: requests is only needed once a refresh actually happens.
            from google.auth.transport.requests import Request

            self._request = Request()
        return self._request

    def get_access_token(self) -> str:
        with self._lock:
            creds = self._credentials
            if not creds.valid:
                _LOGGER.debug("refreshing the Google access token")
                try:
                    creds.refresh(self._transport())
                except google.auth.exceptions.RefreshError as err:
                    if getattr(err, "retryable", False):
                        raise TransientError(f"token refresh failed: {err.args[0]}") from err
                    raise AuthError(
                        f"Google refused the refresh token ({err.args[0]}): "
                        "the Google link needs reconnecting"
                    ) from err
                except google.auth.exceptions.TransportError as err:
                    raise TransientError(f"token endpoint unreachable: {err}") from err
            token = creds.token
            if not token:
                raise AuthError("the token endpoint returned no access token")
            return str(token)

    def invalidate(self) -> None:
        with self._lock:
            self._credentials.token = None
