"""OAuth 2.0 web flow helpers: the consent URL (state + PKCE), the code exchange, revocation.

Public API: `scopes_for`, `new_pkce`, `authorization_url` -> `AuthorizationRequest`,
`exchange_code` -> `TokenGrant`, `revoke`, `revoke_url_for`, and the scope constants.

URLs come from settings (`CALSYNC_GOOGLE_AUTH_URL`, `CALSYNC_GOOGLE_TOKEN_URL`) and are passed
in; nothing here reads the environment. Scopes are the narrowest that work: events read/write,
the calendar list read-only, and Tasks only when to-dos are synced.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from calsync.errors import AuthError, TransientError
from calsync.sides.google.errors import parse_error

_LOGGER = logging.getLogger(__name__)

SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPE_TASKS = "https://www.googleapis.com/auth/tasks"
GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"


def scopes_for(tasks: bool) -> list[str]:
    """Return the scopes to ask for; Tasks only when the user's to-dos are synced."""
    scopes = [SCOPE_EVENTS, SCOPE_CALENDAR_LIST]
    if tasks:
        scopes.append(SCOPE_TASKS)
    return scopes


def new_pkce() -> tuple[str, str]:
    """Return a PKCE (verifier, S256 challenge) pair; the verifier has 86 URL-safe characters."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep (server side) for the callback."""

    url: str
    state: str
    """Echoed back on the callback; compare it before exchanging the code."""
    code_verifier: str
    """PKCE verifier: keep it secret until the code exchange."""


def authorization_url(
    auth_url: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    *,
    state: str | None = None,
    login_hint: str | None = None,
) -> AuthorizationRequest:
    """Return the consent URL for an offline grant (a refresh token) with state and PKCE."""
    state = state or secrets.token_urlsafe(24)
    verifier, challenge = new_pkce()
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
        "access_type": "offline",
        # consent: Google issues a refresh token only on a consent screen.
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    sep = "&" if "?" in auth_url else "?"
    return AuthorizationRequest(f"{auth_url}{sep}{urlencode(params)}", state, verifier)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint granted."""

    access_token: str
    refresh_token: str | None
    """Present on a first offline consent (or with prompt=consent)."""
    expires_in: int
    scopes: tuple[str, ...]
    token_type: str = "Bearer"


def _post_form(
    url: str, data: dict[str, str], client: httpx.Client | None, timeout: float
) -> httpx.Response:
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        return http.post(url, data=data)
    except httpx.HTTPError as err:
        raise TransientError(f"OAuth endpoint unreachable: {type(err).__name__}") from err
    finally:
        if own:
            http.close()


def exchange_code(
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    *,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
) -> TokenGrant:
    """Exchange an authorization code for tokens (form POST); a bad code raises AuthError."""
    resp = _post_form(
        token_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
        client,
        timeout,
    )
    if resp.status_code != 200:
        err = parse_error(resp.status_code, resp.content, resp.headers)
        if resp.status_code >= 500:
            raise TransientError(f"token endpoint failed: {err.status} {err.reason}")
        raise AuthError(f"code exchange refused: {err.reason} {err.message}".strip())
    doc = resp.json()
    _LOGGER.debug("code exchange granted scopes %s", doc.get("scope"))
    return TokenGrant(
        access_token=str(doc["access_token"]),
        refresh_token=doc.get("refresh_token"),
        expires_in=int(doc.get("expires_in") or 0),
        scopes=tuple(str(doc.get("scope") or "").split()),
        token_type=str(doc.get("token_type") or "Bearer"),
    )


def revoke_url_for(token_url: str) -> str:
    """Return the revoke endpoint next to `token_url` (Google: `.../token` -> `.../revoke`)."""
    base = token_url.rstrip("/")
    return (base[: -len("/token")] if base.endswith("/token") else base) + "/revoke"


def revoke(
    revoke_url: str, token: str, *, client: httpx.Client | None = None, timeout: float = 30.0
) -> bool:
    """Revoke a refresh or access token (the whole grant); False when it was already invalid."""
    resp = _post_form(revoke_url, {"token": token}, client, timeout)
    if resp.status_code == 200:
        return True
    if resp.status_code >= 500:
        raise TransientError(f"revoke failed: {resp.status_code}")
    return False
