"""The `calsync` command against vtiger (`CALSYNC_CRM=vtiger`, the vtiger emulator): two linked
users sync to their own Google calendars in one `sync --all`, which reads vtiger's change feed
once for both; a user whose Google grant is bad fails alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from calsync.cli import app
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.app import create_app as vtiger_emulator
from calsync.model import Event, When, utcnow
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.side import VtigerEventsSide

runner = CliRunner()
USERS = ("alice", "bob")


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(google_emulator()) as server:
        yield server.url


@pytest.fixture(scope="module")
def vtiger_url() -> Iterator[str]:
    with ServerThread(vtiger_emulator()) as server:
        yield server.url


@dataclass
class Setup:
    google_url: str
    vtiger_url: str
    accounts: dict[str, dict[str, Any]]
    """Google accounts by CRM user: email, refresh_token, access_token."""

    def google_titles(self, user: str) -> list[str]:
        """Return the summaries of the live events on `user`'s primary Google calendar."""
        r = httpx.get(
            f"{self.google_url}/calendar/v3/calendars/primary/events",
            headers={"Authorization": f"Bearer {self.accounts[user]['access_token']}"},
        )
        assert r.status_code == 200, r.text
        return sorted(e["summary"] for e in r.json()["items"] if e.get("status") != "cancelled")

    def vtiger_calls(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.vtiger_url}/_emulator/stats").json()["calls"])


@pytest.fixture
def setup(
    google_url: str, vtiger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Setup:
    """Two vtiger users (alice, bob) with one event each, and a Google account for each."""
    httpx.post(f"{google_url}/_emulator/reset")
    httpx.post(f"{vtiger_url}/_emulator/reset")
    admin = httpx.post(
        f"{vtiger_url}/_emulator/users", json={"user_name": "admin", "is_admin": True}
    ).json()
    for key, value in {
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_CRM": "vtiger",
        "CALSYNC_VTIGER_URL": vtiger_url,
        "CALSYNC_VTIGER_USER": "admin",
        "CALSYNC_VTIGER_ACCESS_KEY": admin["access_key"],
        "CALSYNC_GOOGLE_API_URL": google_url,
        "CALSYNC_GOOGLE_TOKEN_URL": f"{google_url}/token",
        "CALSYNC_GOOGLE_CLIENT_ID": "cli-test",
        "CALSYNC_GOOGLE_CLIENT_SECRET": "cli-secret",
        "COLUMNS": "200",  # rich tables then show whole cells
    }.items():
        monkeypatch.setenv(key, value)
    client = VtigerClient(vtiger_url, "admin", admin["access_key"])
    accounts: dict[str, dict[str, Any]] = {}
    for n, name in enumerate(USERS):
        made = httpx.post(
            f"{vtiger_url}/_emulator/users", json={"user_name": name, "time_zone": "Europe/Rome"}
        ).json()
        start = (utcnow() + timedelta(days=1 + n)).replace(minute=0, second=0, microsecond=0)
        when = When(start, start + timedelta(hours=1), "Europe/Rome")
        VtigerEventsSide(client, made["id"], "Europe/Rome").create(
            Event(f"{name} meeting", when), ""
        )
        accounts[name] = httpx.post(
            f"{google_url}/_emulator/accounts", json={"email": f"{name}@example.com"}
        ).json()
    return Setup(google_url, vtiger_url, accounts)


def link(setup: Setup, user: str, token: str | None = None) -> None:
    acc = setup.accounts[user]
    token = token or acc["refresh_token"]
    result = runner.invoke(
        app, ["users", "link", user, "--refresh-token", token, "--email", acc["email"]]
    )
    assert result.exit_code == 0, result.output


def test_sync_all_puts_each_users_event_on_their_own_calendar(setup: Setup) -> None:
    """`sync --all` exits 0; each user's vtiger event is on their own Google calendar only."""
    for user in USERS:
        link(setup, user)
    result = runner.invoke(app, ["sync", "--all"])
    assert result.exit_code == 0, result.output
    assert setup.google_titles("alice") == ["alice meeting"]
    assert setup.google_titles("bob") == ["bob meeting"]

    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[1]: line for line in listed.output.splitlines() if "@example.com" in line}
    assert set(rows) == set(USERS), listed.output
    for user in USERS:
        assert f"{user}@example.com" in rows[user] and " ok " in rows[user], listed.output


def test_one_round_reads_the_change_feed_once_for_both_users(setup: Setup) -> None:
    """One `sync --all` for two users reads vtiger's application feed once (first and later).

    On PHP 7, where vtiger's `sync` works (on PHP 8 it answers HTTP 500).
    """
    httpx.post(f"{setup.vtiger_url}/_emulator/config", json={"php8": False})
    for user in USERS:
        link(setup, user)
    for _ in range(2):  # the first round lists everything, the second reads from the cursors
        before = setup.vtiger_calls()
        result = runner.invoke(app, ["sync", "--all"])
        assert result.exit_code == 0, result.output
        after = setup.vtiger_calls()
        delta = {op: after.get(op, 0) - before.get(op, 0) for op in ("sync", "query")}
        assert delta["sync"] == 1, delta
        # Queries only look the users up; a per-user VTQL read of Events would add to them.
        assert delta["query"] <= len(USERS), delta
    assert setup.google_titles("alice") == ["alice meeting"]
    assert setup.google_titles("bob") == ["bob meeting"]


def revoked(setup: Setup, user: str) -> str:
    token = str(setup.accounts[user]["refresh_token"])
    r = httpx.post(f"{setup.google_url}/revoke", data={"token": token})
    assert r.status_code == 200, r.text
    return token


@pytest.mark.parametrize("bad", ["made-up", "revoked"])
def test_a_bad_grant_fails_its_user_only(setup: Setup, bad: str) -> None:
    """With a made-up or revoked token for bob, `sync --all` exits 1 and alice is still synced."""
    link(setup, "alice")
    link(setup, "bob", "made-up-refresh-token" if bad == "made-up" else revoked(setup, "bob"))
    result = runner.invoke(app, ["sync", "--all"])
    assert result.exit_code == 1, result.output
    assert "bob: needs_reconnect" in result.output
    assert setup.google_titles("alice") == ["alice meeting"]
    # bob's Google calendar got nothing (read with a fresh grant of the test's own)
    fresh = httpx.post(f"{setup.google_url}/_emulator/accounts/bob@example.com/tokens").json()
    setup.accounts["bob"]["access_token"] = fresh["access_token"]
    assert setup.google_titles("bob") == []

    listed = runner.invoke(app, ["users", "list"])
    lines = {line.split()[1]: line for line in listed.output.splitlines() if "@example.com" in line}
    assert "needs_reconnect" in lines["bob"] and " ok " in lines["alice"], listed.output
