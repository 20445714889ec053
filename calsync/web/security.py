"""CSRF tokens, OAuth state and PKCE, the session signing key, and the admin account bootstrap.

Passwords are hashed (argon2id) by the store, through `calsync.passwords`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from calsync.state.records import Role
from calsync.web.services import SESSION_KEY_SETTING, WebStore

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def new_token(nbytes: int = 32) -> str:
    """Return a random URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Return True when both tokens are present and equal (constant time)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def pkce_pair() -> tuple[str, str]:
    """Return a PKCE (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def create_admin(store: WebStore, name: str = "admin", password: str | None = None) -> str:
    """Create (or reset) the admin account `name` and return its password.

    A random one-time password is made when none is given; the caller shows it once.
    `calsync users create-admin` calls this.
    """
    if not name.strip():
        raise ValueError("the admin needs a name")
    password = password or secrets.token_urlsafe(12)
    store.upsert_user(name, role=Role.ADMIN)
    store.set_password(name, password)
    return password


def ensure_admin(store: WebStore, name: str = "admin") -> str | None:
    """Create the admin account on first run; return its one-time password, or None."""
    if any(u.role == Role.ADMIN for u in store.list_users()):
        return None
    return create_admin(store, name)


def session_key(store: WebStore) -> str:
    """Return the key signing session cookies, made on first use and kept encrypted.

    Kept in the database, so every process serving the app accepts the same sessions.
    """
    key = store.get_setting(SESSION_KEY_SETTING)
    if not key:
        key = secrets.token_urlsafe(48)
        store.set_setting(SESSION_KEY_SETTING, key, secret=True)
    return key
