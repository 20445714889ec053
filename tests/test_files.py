"""What calsync keeps on disk is private: the data dir 0700, databases and key file 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.config import isolated_settings
from calsync.files import private_dir, private_file
from calsync.state import Store
from calsync.wiring import build


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems start services with, under which files are made 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_fresh_installation_is_private(tmp_path: Path) -> None:
    """The data dir (made with its parents), the state and CRM databases, their WAL files
    and the generated key file can be read by their owner only."""
    data = tmp_path / "srv" / "calsync"
    app = build(isolated_settings(data_dir=data))
    app.store.set_setting("probe", "x")  # a write, so SQLite has its -wal and -shm files
    assert mode(data) == 0o700 and mode(data.parent) == 0o700
    files = sorted(p.name for p in data.iterdir() if p.is_file())
    assert {"calsync.db", "crm.db", "secret.key", "calsync.db-wal"} <= set(files), files
    for name in files:
        assert mode(data / name) == 0o600, f"{name} is {mode(data / name):o}"
    app.store.close()


def test_an_existing_world_readable_database_is_narrowed(tmp_path: Path) -> None:
    """A database an older calsync made 0644 is 0600 once calsync opens it again."""
    db = tmp_path / "state.db"
    Store.open(f"sqlite:///{db}", "k").close()
    os.chmod(db, 0o644)
    with Store.open(f"sqlite:///{db}", "k") as store:
        store.migrate()
    assert mode(db) == 0o600


def test_an_existing_folder_is_left_as_it_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A data dir that exists (maybe shared on purpose) keeps its mode, with a warning."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_dir(shared)
    assert mode(shared) == 0o755
    assert "can be read by other users" in caplog.text


def test_private_file_creates_an_empty_file_once(tmp_path: Path) -> None:
    path = private_file(tmp_path / "f")
    path.write_text("kept")
    private_file(path)
    assert path.read_text() == "kept" and mode(path) == 0o600
