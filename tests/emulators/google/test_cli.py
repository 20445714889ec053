"""`python -m calsync.emulators.google` with flags, as a real process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calsync.emulators.server import free_port


@pytest.fixture
def process(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calsync.emulators.google",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
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
        ],
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
