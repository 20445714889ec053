"""Password hashing for sign-in (web app users, embedded CRM users): argon2id via argon2-cffi.

Public API: `hash_password`, `verify_password`, `needs_rehash`.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()


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
