"""OAuth 2.0 web flow for Google: the consent URL (state + PKCE), the code exchange, revocation.

Public API: `scopes_for`, `new_pkce`, `authorization_url` -> `AuthorizationRequest`,
`exchange_code` -> `TokenGrant`, `revoke`, and the scope constants.

The protocol work is authlib's (`OAuth2Session`: PKCE S256, the token request, RFC 7009
revocation); this module sets Google's parameters (offline access, a consent prompt so a
refresh token is issued) and maps failures to the error tree: a refused code is AuthError,
an unreachable or failing endpoint TransientError. URLs come from settings and are passed in
(their defaults live in `calsync.sides.google.endpoints`). Scopes are the narrowest that
work: events read/write, the calendar list read-only, and Tasks only when to-dos are synced.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from calsync.errors import AuthError, TransientError

_LOGGER = logging.getLogger(__name__)

SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPE_TASKS = "https://www.googleapis.com/auth/tasks"
_VERIFIER_LENGTH = 86
"""PKCE verifier characters (RFC 7636 allows 43 to 128)."""


def scopes_for(tasks: bool) -> list[str]:
    """Return the scopes to ask for; Tasks only when the user's to-dos are synced."""
    scopes = [SCOPE_EVENTS, SCOPE_CALENDAR_LIST]
    if tasks:
        scopes.append(SCOPE_TASKS)
    return scopes


def new_pkce() -> tuple[str, str]:
    """Return a PKCE (verifier, S256 challenge) pair."""
    verifier = generate_token(_VERIFIER_LENGTH)
    return verifier, create_s256_code_challenge(verifier)


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
    verifier = generate_token(_VERIFIER_LENGTH)
    extra = {"login_hint": login_hint} if login_hint else {}
    with OAuth2Session(
        client_id, scope=" ".join(scopes), redirect_uri=redirect_uri, code_challenge_method="S256"
    ) as session:
        url, state = session.create_authorization_url(
            auth_url,
            state=state,
            code_verifier=verifier,
            access_type="offline",
            # consent: Google issues a refresh token only on a consent screen.
            prompt="consent",
            include_granted_scopes="true",
            **extra,
        )
    return AuthorizationRequest(url, state, verifier)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint granted."""

    access_token: str
    refresh_token: str | None
    """Present on a first offline consent (or with prompt=consent)."""
    expires_in: int
    scopes: tuple[str, ...]
    token_type: str = "Bearer"


def exchange_code(
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    *,
    timeout: float = 30.0,
) -> TokenGrant:
    """Exchange an authorization code for tokens; a refused code raises AuthError."""
    with OAuth2Session(
        client_id,
        client_secret,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",
    ) as session:
        try:
            doc = session.fetch_token(
                token_url, code=code, code_verifier=code_verifier, timeout=timeout
            )
        except OAuthError as err:
            reason = f"{err.error} {err.description or ''}".strip()
            raise AuthError(f"code exchange refused: {reason}") from err
        except requests.HTTPError as err:
            status = err.response.status_code if err.response is not None else 0
            if status >= 500:
                raise TransientError(f"token endpoint failed: {status}") from err
            raise AuthError(f"code exchange refused: HTTP {status}") from err
        except (requests.RequestException, ValueError) as err:
            raise TransientError(f"token endpoint unreachable: {type(err).__name__}") from err
    _LOGGER.debug("code exchange granted scopes %s", doc.get("scope"))
    return TokenGrant(
        access_token=str(doc["access_token"]),
        refresh_token=doc.get("refresh_token"),
        expires_in=int(doc.get("expires_in") or 0),
        scopes=tuple(str(doc.get("scope") or "").split()),
        token_type=str(doc.get("token_type") or "Bearer"),
    )


def revoke(revoke_url: str, token: str, client_id: str, *, timeout: float = 30.0) -> bool:
    """Revoke a refresh or access token (the whole grant); False when it was already invalid."""
    with OAuth2Session(client_id, revocation_endpoint_auth_method="none") as session:
        try:
            resp = session.revoke_token(revoke_url, token=token, timeout=timeout)
        except requests.RequestException as err:
            raise TransientError(f"revoke endpoint unreachable: {type(err).__name__}") from err
    if resp.status_code == 200:
        return True
    if resp.status_code >= 500:
        raise TransientError(f"revoke failed: {resp.status_code}")
    return False
