"""`/metrics` counts every round this process runs, with its Google API calls: the
scheduler's as well as the page's, against the real service, embedded CRM and Google
emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from calsync.config import load_settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.jobs.scheduler import Scheduler
from calsync.sides.local.crm import LocalCrm
from calsync.web import create_app
from calsync.wiring import App, build

EMAIL = "alice@example.com"


@dataclass
class Stack:
    app: App
    web_url: str
    google_url: str

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.web_url}/metrics").text
        m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        assert m, f"{name} is not exported"
        return float(m.group(1))

    def google_calls(self) -> int:
        stats = httpx.get(f"{self.google_url}/_emulator/stats").json()
        return int(stats["by_account"].get(EMAIL, 0))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """alice of the embedded CRM linked to the emulator's alice@example.com, and the web app."""
    with ServerThread(google_emulator()) as google:
        account = httpx.post(f"{google.url}/_emulator/accounts", json={"email": EMAIL}).json()
        settings = load_settings(
            data_dir=tmp_path,
            crm="local",
            google_api_url=google.url,
            google_auth_url=f"{google.url}/o/oauth2/auth",
            google_token_url=f"{google.url}/token",
            google_client_id="metrics.apps.example.com",
            google_client_secret="metrics-secret",
        )
        crm = LocalCrm(settings.local_crm_url)
        crm.create_user("alice", email=EMAIL)
        app = build(settings)
        app.service.known_user("alice")
        app.accounts.link_token("alice", account["refresh_token"], EMAIL)
        with ServerThread(create_app(app.application, bootstrap_admin=False)) as web:
            yield Stack(app, web.url, google.url)
        app.store.close()
        crm.close()


def test_scheduled_rounds_are_counted_with_their_api_calls(stack: Stack) -> None:
    """A round the scheduler runs (`sync_all`) shows in /metrics with the calls it made."""
    reports = stack.app.service.sync_all()
    assert [r.status.value for r in reports] == ["ok"]
    assert reports[0].api_calls > 0
    assert stack.metric('calsync_syncs_total{result="ok"}') == 1
    assert stack.metric("calsync_sync_duration_seconds_count") == 1
    assert stack.metric("calsync_google_api_calls_total") == stack.google_calls()


def test_the_embedded_scheduler_counts_too(stack: Stack) -> None:
    """The in-process scheduler's rounds reach the web app's /metrics."""
    scheduler = Scheduler(stack.app.service, interval=0.05).start()
    try:
        for _ in range(400):
            if stack.metric('calsync_syncs_total{result="ok"}') >= 1:
                break
            httpx.get(f"{stack.web_url}/healthz")
    finally:
        scheduler.stop()
    assert stack.metric('calsync_syncs_total{result="ok"}') >= 1
    assert stack.metric("calsync_google_api_calls_total") == stack.google_calls() > 0


def test_a_round_that_raises_counts_as_failed(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round that breaks unexpectedly is still counted, as a failure."""

    def broken() -> None:
        raise RuntimeError("CRM exploded")

    monkeypatch.setattr(stack.app.crm, "begin_round", broken)
    try:
        report = stack.app.service.sync_user("alice")
    except RuntimeError:
        pass  # the round may escape with it; it must be counted either way
    else:
        assert not report.status.success
    assert stack.metric('calsync_syncs_total{result="failed"}') == 1
    assert stack.metric("calsync_sync_failures_total") == 1


def test_two_apps_over_one_application_share_the_round_counts(stack: Stack) -> None:
    """A second web app over the same application (e.g. a restart in tests) shows the same
    round counts and registers nothing twice."""
    stack.app.service.sync_all()
    with ServerThread(create_app(stack.app.application, bootstrap_admin=False)) as other:
        text = httpx.get(f"{other.url}/metrics").text
    assert 'calsync_syncs_total{result="ok"} 1.0' in text
    assert "calsync_web_logins_total" in text
