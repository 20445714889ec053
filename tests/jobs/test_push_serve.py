"""End to end with a real `calsync serve`: with CALSYNC_PUBLIC_URL set, it opens a watch channel
on the user's calendar at start; an edit made on the Google emulator then reaches the embedded
CRM through the notification alone (the scheduler's poll interval, 15 minutes, never comes
within the test)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread, free_port
from calsync.service.push import NOTIFY_PATH
from calsync.sides.local.crm import LocalCrm

WAIT = 60.0
"""Seconds to wait for something the test expects (a bound, not a timing claim)."""


def _calsync(*args: str) -> list[str]:
    return [sys.executable, "-c", "from calsync.cli import app; app()", *args]


def _until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT} s: {what}")


@pytest.fixture
def google() -> Iterator[str]:
    with ServerThread(google_emulator()) as server:
        yield server.url


def _summaries(crm_url: str) -> list[str]:
    crm = LocalCrm(crm_url)
    try:
        return sorted(r.item.title for r in crm.list_events("alice"))
    finally:
        crm.close()


def test_a_google_edit_reaches_the_crm_by_push(google: str, tmp_path: Path) -> None:
    alice = httpx.post(f"{google}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    api = httpx.Client(
        base_url=google, headers={"Authorization": f"Bearer {alice['access_token']}"}
    )
    start = time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%dT11:00:00Z", time.gmtime(time.time() + 86400))
    event = api.post(
        "/calendar/v3/calendars/primary/events",
        json={"summary": "Planning", "start": {"dateTime": start}, "end": {"dateTime": end}},
    ).json()

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = LocalCrm(crm_url)
    crm.create_user("alice", email="alice@example.com")
    crm.close()
    env = {
        **os.environ,
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_SECRET_KEY": "push-test-key",
        "CALSYNC_PUBLIC_URL": public,
        "CALSYNC_GOOGLE_API_URL": google,
        "CALSYNC_GOOGLE_TOKEN_URL": f"{google}/token",
        "CALSYNC_GOOGLE_CLIENT_ID": "cid.apps.example",
        "CALSYNC_GOOGLE_CLIENT_SECRET": "secret",
        "CALSYNC_CONFIG": "",
    }
    env.pop("CALSYNC_DATABASE_URL", None)
    env.pop("CALSYNC_BROKER_URL", None)

    def run(*args: str) -> None:
        subprocess.run(_calsync(*args), env=env, cwd=tmp_path, check=True, capture_output=True)

    run("users", "link", "alice", "--refresh-token", alice["refresh_token"])
    run("sync", "--user", "alice")  # the first round: Planning comes to the CRM
    assert _summaries(crm_url) == ["Planning"]

    proc = subprocess.Popen(
        _calsync("serve", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        channels = _until(
            lambda: httpx.get(f"{google}/_emulator/channels").json()["channels"],
            "serve opened a channel",
        )
        assert [c["address"] for c in channels] == [public + NOTIFY_PATH]
        _until(lambda: _ok(f"{public}/healthz"), "serve answers")

        api.patch(f"/calendar/v3/calendars/primary/events/{event['id']}", json={"summary": "Moved"})
        _until(lambda: _summaries(crm_url) == ["Moved"], "the edit reached the CRM")
        deliveries = httpx.get(f"{google}/_emulator/channels/deliveries").json()["deliveries"]
        assert {"state": "exists", "status": 200} in [
            {"state": d["state"], "status": d["status"]} for d in deliveries
        ]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False
