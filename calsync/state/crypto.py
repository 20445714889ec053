"""Secrets at rest (refresh tokens, client secrets): Fernet encryption with a configured key.

The key is `CALSYNC_SECRET_KEY` (a Fernet key, or any passphrase, which is stretched into one;
several comma-separated keys allow rotation: the first encrypts, all decrypt), else a key file
generated once in the data dir with mode 0600. Decrypting with the wrong key raises `WrongKey`;
it never returns garbage.

Public API: `Secrets` (`encrypt`, `decrypt`, `from_key`, `from_data_dir`, `generate_key`),
`load_secrets`, `WrongKey`, `KEY_FILE`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from calsync.errors import CalsyncError
from calsync.files import private_dir

KEY_FILE = "secret.key"
"""Name of the generated key file inside the data dir."""

_SALT = b"calsync secrets at rest v1"


class SecretsError(CalsyncError):
    """The secret key is missing, malformed or unusable."""


class WrongKey(SecretsError):
    """A stored secret cannot be decrypted with the configured key."""


def _fernet_key(text: str) -> bytes:
    """Return `text` as a Fernet key: used as is when it is one, else derived from it."""
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (binascii.Error, ValueError):
        pass
    # A passphrase: stretch it so that short or human-chosen keys are still usable.
    derived = hashlib.pbkdf2_hmac("sha256", raw, _SALT, 200_000, dklen=32)
    return base64.urlsafe_b64encode(derived)


class Secrets:
    """Encrypts and decrypts short secrets with one or more keys."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretsError("no secret key given")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @staticmethod
    def generate_key() -> str:
        """Return a fresh random Fernet key (text)."""
        return Fernet.generate_key().decode()

    @classmethod
    def from_key(cls, key: str) -> Secrets:
        """Return secrets using `key` (comma-separated keys: the first encrypts)."""
        parts = [p for p in (s.strip() for s in key.split(",")) if p]
        if not parts:
            raise SecretsError("the secret key is empty")
        return cls([_fernet_key(p) for p in parts])

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Secrets:
        """Return secrets using the key file in `data_dir`, generating it (mode 0600) if absent."""
        private_dir(data_dir)
        path = data_dir / KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(cls.generate_key() + "\n")
        try:
            text = path.read_text().strip()
        except OSError as err:
            raise SecretsError(f"cannot read the secret key file {path}: {err}") from err
        if not text:
            raise SecretsError(f"the secret key file {path} is empty")
        return cls.from_key(text)

    def encrypt(self, plain: str) -> str:
        """Return `plain` encrypted (URL-safe text, different on every call)."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the clear text of `token`; raise WrongKey when the key does not fit."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise WrongKey(
                "a stored secret cannot be decrypted with the configured key: was "
                "CALSYNC_SECRET_KEY changed or the data dir's secret.key replaced? Restore "
                "the old key (a comma-separated list may hold old keys after the new one)"
            ) from None

    def rotate(self, token: str) -> str:
        """Return `token` re-encrypted under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise WrongKey("a stored secret cannot be decrypted with the configured key") from None


def load_secrets(secret_key: str | None, data_dir: Path) -> Secrets:
    """Return secrets from the configured key, else from the data dir's key file."""
    if secret_key:
        return Secrets.from_key(secret_key)
    return Secrets.from_data_dir(data_dir)
