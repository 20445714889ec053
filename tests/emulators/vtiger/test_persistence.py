"""The emulator's `--db` file keeps users and records across restarts; sessions do not survive."""

from __future__ import annotations

from pathlib import Path

from calsync.emulators.vtiger.testing import VtigerEmulator
from tests.emulators.vtiger.conftest import Ws, event


def test_db_file_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "vtiger.sqlite")
    with VtigerEmulator(db) as vt:
        alice = vt.add_user("alice")
        ws = Ws(vt, alice)
        rec = ws.create(**event(alice.id))
        session = ws.session
    with VtigerEmulator(db) as vt:
        stale = Ws(vt)
        stale.session = session
        assert stale.get("listtypes")["error"]["code"] == "INVALID_SESSIONID"
        again = Ws(vt, alice)
        assert again.ok("GET", "retrieve", id=rec["id"])["subject"] == "Planning"
        assert vt.add_user("bob").id == "19x2"


def test_deactivating_a_user_ends_its_sessions(tmp_path: Path) -> None:
    with VtigerEmulator() as vt:
        alice = vt.add_user("alice")
        ws = Ws(vt, alice)
        resp = vt.http.patch(f"{vt.url}/_emulator/users/alice", json={"active": False})
        assert resp.json()["status"] == "Inactive"
        assert ws.get("listtypes")["error"]["code"] == "INVALID_SESSIONID"
