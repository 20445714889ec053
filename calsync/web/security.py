"""Passwords (argon2), CSRF tokens, OAuth state and PKCE, and the admin account bootstrap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from calsync.web.services import ROLE_ADMIN, UserRecord, WebStore

_HASHER = PasswordHasher()

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def hash_password(password: str) -> str:
    """Return the argon2 hash of `password`."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when `password` matches `password_hash`."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
    """
    if not name.strip():
        raise ValueError("the admin needs a name")
    password = password or secrets.token_urlsafe(12)
    store.put_user(UserRecord(name=name, role=ROLE_ADMIN, password_hash=hash_password(password)))
    return password


def ensure_admin(store: WebStore, name: str = "admin") -> str | None:
    """Create the admin account on first run; return its one-time password, or None."""
    if any(u.role == ROLE_ADMIN for u in store.list_users()):
        return None
    return create_admin(store, name)
