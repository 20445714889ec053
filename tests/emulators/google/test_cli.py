"""`python -m calsync.emulators.google` with flags, as a real process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from calsync.emulators.server import ServerThread, free_port


@contextmanager
def emulator_process(*flags: str) -> Iterator[str]:
    """Run `python -m calsync.emulators.google` with `flags`; yield its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "calsync.emulators.google", "--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # wait for the port; not a timing assertion
            try:
                httpx.get(url + "/_emulator/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def process(tmp_path: Path) -> Iterator[str]:
    with emulator_process(
        "--db",
        str(tmp_path / "g.sqlite"),
        "--rate-limit-user",
        "2",
        "--rate-limit-status",
        "429",
        "--batch-cap",
        "50",
        "--token-ttl",
        "120",
    ) as url:
        yield url


def test_flags_reach_the_config(process: str) -> None:
    config = httpx.get(process + "/_emulator/config").json()
    assert config["rate_limit_per_user"] == 2 and config["rate_limit_status"] == 429
    assert config["batch_cap"] == 50 and config["access_token_ttl"] == 120
    acct = httpx.post(process + "/_emulator/accounts", json={"email": "c@example.com"}).json()
    auth = {"Authorization": "Bearer " + acct["access_token"]}
    codes = [
        httpx.get(process + "/calendar/v3/users/me/calendarList", headers=auth).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    tok = httpx.post(
        process + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": acct["refresh_token"],
            "client_id": "c",
            "client_secret": "s",
        },
    ).json()
    assert tok["expires_in"] == 120


def test_latency_flag_delays_api_answers_only() -> None:
    with emulator_process("--latency-ms", "150") as url:
        assert httpx.get(url + "/_emulator/config").json()["latency_ms"] == 150
        acct = httpx.post(url + "/_emulator/accounts", json={"email": "l@example.com"}).json()
        auth = {"Authorization": "Bearer " + acct["access_token"]}
        t0 = time.perf_counter()
        assert httpx.get(url + "/calendar/v3/users/me/calendarList", headers=auth).is_success
        assert time.perf_counter() - t0 >= 0.15  # a lower bound: the wait is a sleep
        httpx.post(url + "/_emulator/config", json={"latency_ms": 60_000})
        assert httpx.get(url + "/_emulator/stats", timeout=10).is_success


def _official_calendar(url: str) -> Any:
    acct = httpx.post(url + "/_emulator/accounts", json={"email": "idle@example.com"}).json()
    creds = Credentials(
        token=acct["access_token"],
        refresh_token=acct["refresh_token"],
        token_uri=url + "/token",
        client_id="c",
        client_secret="s",
    )
    return build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": url + "/calendar/v3/"},
        cache_discovery=False,
    )


def test_official_client_reuses_its_connection_after_idling(server: ServerThread) -> None:
    """httplib2 keeps its connection across an idle spell longer than uvicorn's default
    keep-alive (5 s); the emulator, as a process and in a thread, must not have closed it
    (writing an insert into a closed socket fails with BrokenPipeError)."""
    event = {
        "summary": "after a pause",
        "start": {"dateTime": "2025-03-10T09:00:00Z"},
        "end": {"dateTime": "2025-03-10T10:00:00Z"},
    }
    with emulator_process() as url:
        clients = [_official_calendar(url), _official_calendar(server.url)]
        for cal in clients:
            cal.events().insert(calendarId="primary", body=event).execute()
        time.sleep(6)  # idle past uvicorn's default keep-alive of 5 s
        for cal in clients:
            assert cal.events().insert(calendarId="primary", body=event).execute()["id"]
