"""Secrets at rest: round trip, key file, passphrases, rotation, and a clear wrong-key error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from calsync.state.crypto import KEY_FILE, Secrets, SecretsError, WrongKey, load_secrets


def test_round_trip_and_no_clear_text() -> None:
    s = Secrets.from_key(Secrets.generate_key())
    token = s.encrypt("refresh-CANARY")
    assert "CANARY" not in token and s.decrypt(token) == "refresh-CANARY"
    assert s.encrypt("x") != s.encrypt("x")


def test_passphrase_keys_work() -> None:
    a, b = Secrets.from_key("correct horse"), Secrets.from_key("correct horse")
    assert b.decrypt(a.encrypt("t")) == "t"


def test_wrong_key_raises_never_garbage() -> None:
    token = Secrets.from_key("one").encrypt("t")
    with pytest.raises(WrongKey, match="CALSYNC_SECRET_KEY"):
        Secrets.from_key("two").decrypt(token)
    with pytest.raises(WrongKey):
        Secrets.from_key("one").decrypt("not a token")


def test_rotation_keeps_old_secrets_readable() -> None:
    old = Secrets.from_key("old").encrypt("t")
    both = Secrets.from_key("new, old")
    assert both.decrypt(old) == "t"
    assert Secrets.from_key("new").decrypt(both.rotate(old)) == "t"


def test_key_file_is_generated_private_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    token = Secrets.from_data_dir(data).encrypt("t")
    mode = stat.S_IMODE((data / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert Secrets.from_data_dir(data).decrypt(token) == "t"
    assert load_secrets(None, data).decrypt(token) == "t"
    with pytest.raises(WrongKey):
        load_secrets("configured", data).decrypt(token)


def test_empty_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretsError):
        Secrets.from_key(" , ")
    (tmp_path / KEY_FILE).write_text("\n")
    with pytest.raises(SecretsError, match="empty"):
        Secrets.from_data_dir(tmp_path)
