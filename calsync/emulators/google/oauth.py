"""OAuth2 of the emulator: bearer-token checks and scopes for API calls, grants and tokens, and
the /token, /revoke and /tokeninfo endpoints (the consent page lives in consent.py)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs

from calsync.emulators.google.errors import ApiError
from calsync.emulators.google.store import AccessToken, AuthCode, Grant, Store
from calsync.emulators.google.wire import Req, Resp

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
TASKS_SCOPE = "https://www.googleapis.com/auth/tasks"
ALL_SCOPES = [CALENDAR_SCOPE, TASKS_SCOPE]
_CAL_READ_ONLY = {
    CALENDAR_SCOPE + s
    for s in (
        ".readonly",
        ".events.readonly",
        ".events.owned.readonly",
        ".calendarlist.readonly",
        ".calendars.readonly",
        ".acls.readonly",
        ".settings.readonly",
        ".freebusy",
        ".events.freebusy",
        ".events.public.readonly",
    )
}


def bearer(store: Store, header: str) -> tuple[str, list[str]] | None:
    """Return (account, scopes) for a valid `Authorization: Bearer` header, else None."""
    if not header.lower().startswith("bearer "):
        return None
    tok = store.access_tokens.get(header[7:].strip())
    if tok is None or tok.expires_at <= store.now():
        return None
    grant = store.grants.get(tok.grant_id)
    if grant is None or grant.revoked or grant.email not in store.accounts:
        return None
    return grant.email, grant.scopes


def check_scope(scopes: list[str], family: str, write: bool) -> None:
    """Raise 403 insufficientPermissions unless `scopes` allow a call of `family`."""
    if family == "calendar":
        usable = [s for s in scopes if s.startswith(CALENDAR_SCOPE)]
        if write:
            usable = [s for s in usable if s not in _CAL_READ_ONLY]
    else:
        usable = [s for s in scopes if s in (TASKS_SCOPE, TASKS_SCOPE + ".readonly")]
        if write:
            usable = [s for s in usable if s == TASKS_SCOPE]
    if not usable:
        raise ApiError(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
            domain="global",
        )


def _token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_ttl(store: Store, email: str) -> int:
    """Return the access-token lifetime for `email`."""
    account = store.accounts.get(email)
    if account is not None and account.token_ttl is not None:
        return account.token_ttl
    return store.config.access_token_ttl


def new_grant(
    store: Store, email: str, client_id: str | None, scopes: list[str], refresh: bool
) -> Grant:
    """Create a grant, with a refresh token when `refresh`."""
    grant = Grant(
        id=secrets.token_hex(8),
        email=email,
        client_id=client_id,
        scopes=list(scopes),
        refresh_token=_token("1//") if refresh else None,
    )
    store.grants[grant.id] = grant
    store.touch("grant", grant.id)
    return grant


def new_access_token(store: Store, grant: Grant) -> AccessToken:
    """Issue an access token for `grant`."""
    tok = AccessToken(_token("ya29."), grant.id, store.now() + token_ttl(store, grant.email))
    store.access_tokens[tok.token] = tok
    store.touch("access_token", tok.token)
    return tok


def _oauth_error(error: str, description: str, status: int = 400) -> Resp:
    return Resp(status, {"error": error, "error_description": description})


def form(req: Req) -> dict[str, str]:
    """Return form fields of a url-encoded body merged over the query string."""
    fields = {k: v[-1] for k, v in req.query.items()}
    body = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    fields.update({k: v[-1] for k, v in body.items()})
    auth = req.headers.get("authorization", "")
    if auth.lower().startswith("basic ") and "client_id" not in fields:
        # requests-oauthlib sends the client credentials as HTTP Basic auth.
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            user, pw = "", ""
        fields.setdefault("client_id", user)
        fields.setdefault("client_secret", pw)
    return fields


def _token_reply(store: Store, grant: Grant, refresh_token: str | None) -> Resp:
    tok = new_access_token(store, grant)
    body: dict[str, object] = {
        "access_token": tok.token,
        "expires_in": token_ttl(store, grant.email),
        "token_type": "Bearer",
        "scope": " ".join(grant.scopes),
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return Resp(200, body, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"})


def _pkce_ok(code: AuthCode, verifier: str | None) -> bool:
    if not code.challenge:
        return True
    if not verifier:
        return False
    if (code.challenge_method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return secrets.compare_digest(computed, code.challenge)
    return secrets.compare_digest(verifier, code.challenge)


def token_endpoint(store: Store, req: Req) -> Resp:
    """Answer POST /token for the authorization_code and refresh_token grants."""
    f = form(req)
    grant_type = f.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(store, f)
    if grant_type == "refresh_token":
        return _refresh(store, f)
    if not grant_type:
        return _oauth_error("invalid_request", "Missing required parameter: grant_type")
    return _oauth_error("unsupported_grant_type", "Invalid grant_type: " + grant_type)


def _exchange_code(store: Store, f: dict[str, str]) -> Resp:
    code = store.codes.get(f.get("code", ""))
    if code is None or code.used or code.expires_at <= store.now():
        return _oauth_error("invalid_grant", "Bad Request")
    if f.get("client_id") != code.client_id:
        return _oauth_error("invalid_grant", "Bad Request")
    if f.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
        return _oauth_error("redirect_uri_mismatch", "Bad Request")
    if not _pkce_ok(code, f.get("code_verifier")):
        return _oauth_error("invalid_grant", "Bad Request")
    code.used = True
    store.touch("code", code.code)
    if code.email not in store.accounts:
        return _oauth_error("invalid_grant", "Bad Request")
    key = f"{code.client_id}|{code.email}"
    # Google issues a refresh token only on a consent screen for offline access: the first
    # grant of this client+account, or any time prompt=consent forced the screen again.
    issue = code.offline and (code.consent or key not in store.consents)
    if issue:
        store.consents.add(key)
        store.touch("meta", "counter")
        grant = new_grant(store, code.email, code.client_id, code.scopes, refresh=True)
        return _token_reply(store, grant, grant.refresh_token)
    existing = [
        g
        for g in store.grants.values()
        if g.client_id == code.client_id and g.email == code.email and not g.revoked
    ]
    if existing:
        grant = existing[-1]
        grant.scopes = grant.scopes + [s for s in code.scopes if s not in grant.scopes]
        store.touch("grant", grant.id)
    else:
        grant = new_grant(store, code.email, code.client_id, code.scopes, refresh=False)
    return _token_reply(store, grant, None)


def _refresh(store: Store, f: dict[str, str]) -> Resp:
    rt = f.get("refresh_token", "")
    grant = next((g for g in store.grants.values() if g.refresh_token == rt and rt), None)
    if grant is None or grant.revoked or grant.email not in store.accounts:
        return _oauth_error("invalid_grant", "Token has been expired or revoked.")
    if grant.client_id is not None and f.get("client_id") != grant.client_id:
        return _oauth_error("unauthorized_client", "Unauthorized", 401)
    asked = f.get("scope", "").split()
    if any(s not in grant.scopes for s in asked):
        return _oauth_error("invalid_scope", "Bad Request")
    return _token_reply(store, grant, None)


def revoke_grant(store: Store, grant: Grant) -> None:
    """Revoke a grant: its refresh token and every access token it issued stop working."""
    grant.revoked = True
    store.touch("grant", grant.id)
    for tok in [t for t in store.access_tokens.values() if t.grant_id == grant.id]:
        del store.access_tokens[tok.token]
        store.touch("access_token", tok.token)
    if grant.client_id is not None:
        store.consents.discard(f"{grant.client_id}|{grant.email}")
        store.touch("meta", "counter")


def revoke_endpoint(store: Store, req: Req) -> Resp:
    """Answer POST /revoke: revoke the whole grant behind an access or refresh token."""
    token = form(req).get("token", "")
    grant = None
    if token in store.access_tokens:
        grant = store.grants.get(store.access_tokens[token].grant_id)
    elif token:
        grant = next((g for g in store.grants.values() if g.refresh_token == token), None)
    if grant is None or grant.revoked:
        return _oauth_error("invalid_token", "Token expired or revoked")
    revoke_grant(store, grant)
    return Resp(200, {})


def tokeninfo_endpoint(store: Store, req: Req) -> Resp:
    """Answer GET/POST /tokeninfo?access_token=... ."""
    token = form(req).get("access_token", "")
    tok = store.access_tokens.get(token)
    grant = store.grants.get(tok.grant_id) if tok else None
    if tok is None or grant is None or grant.revoked or tok.expires_at <= store.now():
        return _oauth_error("invalid_token", "Invalid Value")
    client = grant.client_id or "emulator"
    return Resp(
        200,
        {
            "azp": client,
            "aud": client,
            "scope": " ".join(grant.scopes),
            "exp": str(int(tok.expires_at)),
            "expires_in": str(max(0, int(tok.expires_at - store.now()))),
            "email": grant.email,
            "email_verified": "true",
            "access_type": "offline" if grant.refresh_token else "online",
        },
    )
