"""The `calsync` command: wrong input is refused in one line and changes nothing; sync exits
non-zero when a user's round failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from calsync.cli import app
from calsync.config import load_settings
from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.model import Event, When, utcnow
from calsync.sides.local.crm import LocalCrm
from calsync.wiring import build

runner = CliRunner()


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


@pytest.fixture
def env(google_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    httpx.post(f"{google_url}/_emulator/reset")
    acc = httpx.post(f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    for key, value in {
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_GOOGLE_API_URL": google_url,
        "CALSYNC_GOOGLE_TOKEN_URL": f"{google_url}/token",
        "CALSYNC_GOOGLE_CLIENT_ID": "cli-test",
        "CALSYNC_GOOGLE_CLIENT_SECRET": "cli-secret",
    }.items():
        monkeypatch.setenv(key, value)
    crm = LocalCrm(load_settings().local_crm_url)
    crm.create_user("alice", password="pw", time_zone="Europe/Rome")
    start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    crm.add_event("alice", Event("standup", When(start, start + timedelta(minutes=15))))
    return {"refresh_token": acc["refresh_token"], "google_url": google_url}


def prefs_of(name: str) -> dict[str, object]:
    return build().store.get_prefs(name).to_dict()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "25:00-09:00"], "bad hours window"),
        (["--direction", "sideways"], "bad direction"),
        (["--conflict", "nobody"], "bad conflict winner"),
        (["--private", "secret"], "bad private mode"),
        (["--direction", "to-crm", "--hours", "9-5"], "bad hours window"),
    ],
)
def test_bad_preference_is_refused_and_nothing_changes(
    env: dict[str, str], args: list[str], message: str
) -> None:
    before = prefs_of("alice")
    result = runner.invoke(app, ["users", "prefs", "alice", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert prefs_of("alice") == before  # the valid --direction of a mixed call is not kept


def test_preferences_are_stored(env: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["users", "prefs", "alice", "--direction", "to-google", "--hours", "08:00-18:00"]
    )
    assert result.exit_code == 0, result.output
    stored = prefs_of("alice")
    assert stored["direction"] == "to-google" and stored["hours"] == "08:00-18:00"


def test_unknown_user_is_refused(env: dict[str, str]) -> None:
    for argv in (["users", "prefs", "zed"], ["sync", "--user", "zed"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2 and "unknown user 'zed'" in result.output


def test_sync_needs_exactly_one_target(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["sync"]).exit_code == 2
    assert runner.invoke(app, ["sync", "--all", "--user", "alice"]).exit_code == 2


def test_link_then_sync_exits_zero_and_prints_the_summary(env: dict[str, str]) -> None:
    linked = runner.invoke(
        app, ["users", "link", "alice", "--refresh-token", env["refresh_token"], "--email", "a@x"]
    )
    assert linked.exit_code == 0, linked.output
    result = runner.invoke(app, ["sync", "--user", "alice"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output and "google" in result.output
    listed = runner.invoke(app, ["users", "list"])
    assert "ok" in listed.output and "a@x" in listed.output


def test_sync_all_takes_a_pool_size(env: dict[str, str]) -> None:
    """`--pool-size N` goes with `--all` (users synced at once), at least 1."""
    runner.invoke(app, ["users", "link", "alice", "--refresh-token", env["refresh_token"]])
    for size in ("1", "4"):
        result = runner.invoke(app, ["sync", "--all", "--pool-size", size])
        assert result.exit_code == 0, result.output
        assert "alice" in result.output
    assert runner.invoke(app, ["sync", "--all", "--pool-size", "0"]).exit_code == 2
    refused = runner.invoke(app, ["sync", "--user", "alice", "--pool-size", "2"])
    assert refused.exit_code == 2 and "--pool-size goes with --all" in refused.output


def test_sync_all_takes_processes(env: dict[str, str]) -> None:
    """`--processes N` goes with `--all`: child processes share the users, each with the
    settings of the command (read from its environment by the parent)."""
    runner.invoke(app, ["users", "link", "alice", "--refresh-token", env["refresh_token"]])
    result = runner.invoke(app, ["sync", "--all", "--processes", "2"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output
    synced = build().store.get_user("alice")
    assert synced is not None and synced.last_sync_status == "ok"
    assert runner.invoke(app, ["sync", "--all", "--processes", "0"]).exit_code == 2
    refused = runner.invoke(app, ["sync", "--user", "alice", "--processes", "2"])
    assert refused.exit_code == 2 and "--processes goes with --all" in refused.output


def test_failed_round_exits_non_zero(env: dict[str, str]) -> None:
    runner.invoke(app, ["users", "link", "alice", "--refresh-token", "revoked-or-made-up"])
    result = runner.invoke(app, ["sync", "--all"])
    assert result.exit_code == 1
    assert "needs_reconnect" in result.output


def test_dry_run_writes_nothing(env: dict[str, str]) -> None:
    runner.invoke(app, ["users", "link", "alice", "--refresh-token", env["refresh_token"]])
    result = runner.invoke(app, ["sync", "--user", "alice", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "standup" in result.output
    stats = httpx.get(f"{env['google_url']}/_emulator/requests").json()["requests"]
    assert [r for r in stats if r["method"] != "GET" and "/calendar/" in r["path"]] == []
