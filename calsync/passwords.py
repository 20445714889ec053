"""Password hashing for sign-in (web app users, embedded CRM users): argon2id via argon2-cffi,
and the one password policy every place that sets a calsync password applies.

Public API: `hash_password`, `verify_password`, `needs_rehash`, `password_problem`,
`check_password`, `WeakPassword`, `MIN_PASSWORD_LENGTH`, `MAX_PASSWORD_LENGTH`.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from calsync.errors import CalsyncError
from calsync.text import N_

_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused: hashing megabytes on every sign-in attempt is a cheap attack."""


class WeakPassword(CalsyncError, ValueError):
    """A password the policy refuses; the message says why, for the user."""


def password_problem(password: str) -> str | None:
    """Return why `password` cannot be a calsync password, or None when it can.

    Used by the admin page and `calsync users create-admin` alike; the reason is English,
    marked for the web app to translate.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return N_("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)
    if not password.strip():
        return N_("A password of spaces only is not a password.")
    if any(not c.isprintable() for c in password):
        return N_("Use printable characters only (no control characters or line breaks).")
    return None


def check_password(password: str) -> str:
    """Return `password` when the policy accepts it; raise WeakPassword otherwise."""
    problem = password_problem(password)
    if problem is not None:
        raise WeakPassword(f"password refused: {problem}")
    return password


def hash_password(password: str) -> str:
    """Return an argon2id hash of `password` (salted; different on every call)."""
    return _HASHER.hash(password)


_dummy_hash: str | None = None


def _dummy() -> str:
    """Return a hash of a random password, made once, with today's parameters."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _HASHER.hash(secrets.token_urlsafe(16))
    return _dummy_hash


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return True when `password` matches `password_hash` (False for no or a broken hash).

    Without a hash (an unknown user, or one who has none) the password is still checked,
    against a dummy hash: a refusal takes as long whether the account exists or not.
    """
    try:
        if not password_hash:
            _HASHER.verify(_dummy(), password)
            return False
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return True when the hash was made with weaker parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
