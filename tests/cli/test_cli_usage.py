"""`calsync usage`: tables on a terminal, one JSON object with `--json`, a bad `--days` refused
in one line."""

from __future__ import annotations

import json
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
from calsync.model import Event, Task, When, utcnow
from calsync.quota import quota_day
from calsync.sides.local.crm import LocalCrm
from calsync.wiring import build

runner = CliRunner()


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data dir whose store counted calls today and two days ago; alice is linked."""
    monkeypatch.setenv("CALSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALSYNC_GOOGLE_TASKS_USER_DAILY_BUDGET", "400")
    store = build().store
    today = quota_day()
    store.upsert_user("alice")
    store.set_link("alice", "alice@example.com", "rt")
    store.add_calls("alice", 1234, today, "calendar")
    store.add_calls("alice", 100, today, "tasks")
    store.add_calls("bob", 6, today, "calendar")
    store.add_calls("alice", 50, today - timedelta(days=2), "tasks")
    store.close()


def test_json_is_one_object_with_days_users_and_budgets(counted: None) -> None:
    result = runner.invoke(app, ["usage", "--days", "3", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"days", "users", "budgets"}
    today = quota_day()
    assert doc["days"] == [
        {"day": (today - timedelta(days=2)).isoformat(), "calendar": 0, "tasks": 50},
        {"day": (today - timedelta(days=1)).isoformat(), "calendar": 0, "tasks": 0},
        {"day": today.isoformat(), "calendar": 1240, "tasks": 100},
    ]
    assert doc["users"] == {
        "alice": {"calendar": 1234, "tasks": 100},
        "bob": {"calendar": 6, "tasks": 0},
    }
    assert doc["budgets"]["calendar"]["project"] == 500_000
    assert doc["budgets"]["tasks"] == {"project": 40_000, "user": 400}


def test_tables_show_today_against_the_budgets(counted: None) -> None:
    result = runner.invoke(app, ["usage", "--days", "2"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1,240 / 500,000 (0%)" in out  # today's Calendar API calls, the project's budget
    assert "100 / 40,000 (0%)" in out
    assert "100 / 400 (25%)" in out  # alice's Tasks API calls against a user's budget
    assert "998,760 to go today" in out  # the distance to Google's billing threshold
    assert quota_day().isoformat() in out
    assert (quota_day() - timedelta(days=2)).isoformat() not in out  # two days: today, yesterday


@pytest.mark.parametrize("days", ["0", "367", "-3", "week", "2.5"])
def test_bad_days_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    monkeypatch.setenv("CALSYNC_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["usage", "--days", days])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--days must be a whole number of days from 1 to 366" in lines[0]


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


def test_a_sync_round_is_counted_per_api_as_google_counts_it(
    google_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a round that syncs an event and a to-do, `calsync usage` reports for alice the
    Calendar and the Tasks API calls the emulator counted, each apart."""
    httpx.post(f"{google_url}/_emulator/reset")
    account = httpx.post(
        f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"}
    ).json()
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
    crm.add_task("alice", Task("call Bob"))
    link = ["users", "link", "alice", "--refresh-token", account["refresh_token"]]
    assert runner.invoke(app, link).exit_code == 0
    assert runner.invoke(app, ["users", "prefs", "alice", "--tasklist", "@default"]).exit_code == 0
    httpx.delete(f"{google_url}/_emulator/stats")

    assert runner.invoke(app, ["sync", "--user", "alice"]).exit_code == 0

    by_method = httpx.get(f"{google_url}/_emulator/stats").json()["by_method"]
    calendar = sum(n for m, n in by_method.items() if m.startswith("calendar."))
    tasks = sum(n for m, n in by_method.items() if m.startswith("tasks."))
    assert calendar > 0 and tasks > 0
    result = runner.invoke(app, ["usage", "--days", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["users"]["alice"] == {"calendar": calendar, "tasks": tasks}
    assert doc["days"] == [{"day": quota_day().isoformat(), "calendar": calendar, "tasks": tasks}]
