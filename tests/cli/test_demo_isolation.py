"""`calsync demo` started beside a real installation uses only its own data dir: the
installation's database, key and CRM named in `CALSYNC_*` variables are left untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

import pytest
import uvicorn

import calsync.demo as demo
from calsync.service import SyncService, UserReport
from calsync.sides.local.crm import LocalCrm
from calsync.state import LinkStatus, Store

PROD_KEY = "production passphrase, not the demo's"


class OneRoundScheduler:
    """Stands in for the embedded scheduler: runs the round it would run after `interval`,
    at once, so the test sees what a demo's scheduled round does."""

    reports: ClassVar[list[UserReport]] = []

    def __init__(self, service: SyncService, interval: float = 900.0) -> None:
        self.service = service

    def start(self) -> OneRoundScheduler:
        OneRoundScheduler.reports = self.service.sync_all()
        return self

    def stop(self) -> None:
        pass


def snapshot(folder: Path) -> dict[str, str]:
    """Return every file under `folder` with a digest of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real installation's files: a state database (alice linked, link ok) under its own
    key, and its CRM database; named to calsync through the environment."""
    prod = tmp_path / "prod"
    prod.mkdir()
    crm = LocalCrm(f"sqlite:///{prod / 'crm.db'}")
    crm.create_user("alice", password="real-password", time_zone="Europe/Rome")
    crm.close()
    with Store.open(f"sqlite:///{prod / 'calsync.db'}", PROD_KEY) as store:
        store.migrate()
        store.create_user("alice")
        store.set_link("alice", "alice@real.example.com", "a-real-refresh-token")
    monkeypatch.setenv("CALSYNC_DATABASE_URL", f"sqlite:///{prod / 'calsync.db'}")
    monkeypatch.setenv("CALSYNC_SECRET_KEY", PROD_KEY)
    monkeypatch.setenv("CALSYNC_LOCAL_CRM_URL", f"sqlite:///{prod / 'crm.db'}")
    monkeypatch.setenv("CALSYNC_DATA_DIR", str(prod))
    return prod


def test_demo_leaves_the_installation_beside_it_untouched(
    production: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo run (setup and one scheduled round) with the installation's variables set:
    the installation's files are byte for byte the same, its link is still ok, and the demo's
    databases are in the demo's own data dir."""
    before = snapshot(production)
    served: list[Any] = []
    monkeypatch.setattr(demo, "Scheduler", OneRoundScheduler)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    demo_dir = tmp_path / "demo"
    demo.run_demo("127.0.0.1", 0, data_dir=demo_dir)
    assert served, "the demo did not get as far as serving"
    assert snapshot(production) == before
    with Store.open(f"sqlite:///{production / 'calsync.db'}", PROD_KEY) as store:
        link = store.get_link("alice")
        assert link is not None and link.status is LinkStatus.OK
        assert store.last_run("alice") is None
    assert (demo_dir / "calsync.db").is_file() and (demo_dir / "crm.db").is_file()
    # The demo's own users are linked to nothing yet: its round synced no one.
    assert OneRoundScheduler.reports == []
