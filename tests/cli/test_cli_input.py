"""The `calsync` command refuses input out of its limits in one line and saves nothing; a user
whose stored preferences cannot be used fails alone, the users after them still sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from calsync.cli import app
from calsync.config import load_settings
from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.model import Event, When, utcnow
from calsync.sides.local.crm import LocalCrm
from calsync.state import tables as t
from calsync.wiring import build

runner = CliRunner()
USERS = ("alice", "bob")


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


@pytest.fixture
def accounts(
    google_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, dict[str, Any]]:
    """alice and bob in the embedded CRM with one event each, and a Google account each."""
    httpx.post(f"{google_url}/_emulator/reset")
    for key, value in {
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_GOOGLE_API_URL": google_url,
        "CALSYNC_GOOGLE_TOKEN_URL": f"{google_url}/token",
        "CALSYNC_GOOGLE_CLIENT_ID": "cli-test",
        "CALSYNC_GOOGLE_CLIENT_SECRET": "cli-secret",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(key, value)
    crm = LocalCrm(load_settings().local_crm_url)
    out: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(USERS):
        crm.create_user(name, password="pw", time_zone="Europe/Rome")
        start = (utcnow() + timedelta(days=1 + n)).replace(minute=0, second=0, microsecond=0)
        crm.add_event(name, Event(f"{name} meeting", When(start, start + timedelta(hours=1))))
        out[name] = httpx.post(
            f"{google_url}/_emulator/accounts", json={"email": f"{name}@example.com"}
        ).json()
    return out


def stored_prefs(name: str) -> Any:
    """Return the user's prefs row as stored (None when none was saved)."""
    store = build().store
    with store.engine.begin() as conn:
        return conn.execute(t.preferences.select().where(t.preferences.c.user_name == name)).first()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days-past", "99999999999999999999"], "expected 0 to 3650 days"),
        (["--days-future", "0"], "expected 1 to 3650 days"),
        (["--calendar", ""], "calendar id is empty"),
        (["--calendar", "c" * 70_000], "at most 200 characters"),
        (["--calendar", "my calendar"], "printable ASCII without spaces"),
        (["--calendar", "primary", "--calendar", "primary"], "chosen twice"),
        ([a for i in range(21) for a in ("--calendar", f"c{i}@x.org")], "at most 20"),
        (["--tasklist", "t" * 1_000_000], "at most 200 characters"),
        (["--direction", "to-crm", "--calendar", ""], "calendar id is empty"),
    ],
    ids=[
        "days-past-huge",
        "days-future-zero",
        "calendar-empty",
        "calendar-70k",
        "calendar-space",
        "calendar-twice",
        "calendars-21",
        "tasklist-1mb",
        "mixed",
    ],
)
def test_prefs_out_of_limits_are_refused_in_one_line(
    accounts: dict[str, Any], args: list[str], message: str
) -> None:
    """Exit 2, one short line naming the limit, and no prefs row written at all."""
    runner.invoke(app, ["users", "list"])  # creates the state database
    result = runner.invoke(app, ["users", "prefs", "alice", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert len(result.output) < 300
    assert stored_prefs("alice") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [("a", "at least 10 characters"), (" " * 12, "spaces only"), ("x" * 2000, "at most 1024")],
)
def test_create_admin_applies_the_password_policy(
    accounts: dict[str, Any], password: str, message: str
) -> None:
    """`create-admin --password a` is refused as the admin page refuses it; no admin is made."""
    result = runner.invoke(app, ["users", "create-admin", "root", "--password", password])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert build().store.get_user("root") is None


def test_create_admin_with_a_good_password(accounts: dict[str, Any]) -> None:
    result = runner.invoke(app, ["users", "create-admin", "root", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    assert build().store.verify_password("root", "long-enough-1")


def google_titles(google_url: str, account: dict[str, Any]) -> list[str]:
    r = httpx.get(
        f"{google_url}/calendar/v3/calendars/primary/events",
        headers={"Authorization": f"Bearer {account['access_token']}"},
    )
    assert r.status_code == 200, r.text
    return sorted(e["summary"] for e in r.json()["items"] if e.get("status") != "cancelled")


def test_unusable_stored_prefs_fail_their_user_only(
    accounts: dict[str, Any], google_url: str
) -> None:
    """alice's prefs row holds a 70,000-character calendar id (saved before the limits): her
    round fails with a message saying so, and bob, synced after her, still gets his events."""
    for name in USERS:
        acc = accounts[name]
        linked = runner.invoke(
            app, ["users", "link", name, "--refresh-token", acc["refresh_token"]]
        )
        assert linked.exit_code == 0, linked.output
    store = build().store
    with store.engine.begin() as conn:
        conn.execute(
            t.preferences.insert().values(
                user_name="alice", data={"calendars": ["c" * 70_000]}, updated_at=utcnow()
            )
        )
    result = runner.invoke(app, ["sync", "--all"])
    assert result.exit_code == 1, result.output
    assert "alice: failed" in result.output and "save them again" in result.output
    assert google_titles(google_url, accounts["bob"]) == ["bob meeting"]
    assert google_titles(google_url, accounts["alice"]) == []
    # The CLI can put her right: the options given start again from the defaults.
    fixed = runner.invoke(app, ["users", "prefs", "alice", "--calendar", "primary"])
    assert fixed.exit_code == 0, fixed.output
    again = runner.invoke(app, ["sync", "--all"])
    assert again.exit_code == 0, again.output
    assert google_titles(google_url, accounts["alice"]) == ["alice meeting"]
