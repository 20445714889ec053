"""`latency_ms`: API requests wait before they are answered, the control API never does."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tests.emulators.google.conftest import Emu


def test_api_requests_wait_the_latency(emu: Emu, raw: httpx.Client) -> None:
    """A calendar call, a batch and a token refresh each take at least the configured wait."""
    emu.control("POST", "config", {"latency_ms": 150})
    sends: list[Callable[[], httpx.Response]] = [
        lambda: raw.get("/calendar/v3/users/me/calendarList"),
        lambda: raw.post(
            "/batch/calendar/v3",
            headers={"Content-Type": "multipart/mixed; boundary=b"},
            content=b"--b\r\nContent-Type: application/http\r\n\r\n"
            b"GET /calendar/v3/users/me/calendarList\r\n\r\n--b--\r\n",
        ),
        lambda: raw.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x"}),
    ]
    for send in sends:
        t0 = time.perf_counter()
        resp = send()
        assert resp.status_code in (200, 400), resp.text
        assert time.perf_counter() - t0 >= 0.15  # a lower bound: the wait is a sleep


def test_control_api_is_never_delayed(emu: Emu) -> None:
    """With a latency far beyond the client's timeout, control calls still answer."""
    emu.control("POST", "config", {"latency_ms": 60_000})
    quick = httpx.Client(base_url=emu.url, timeout=10, transport=emu.transport)
    assert quick.get("/_emulator/stats").status_code == 200
    assert quick.post("/_emulator/accounts", json={"email": "b@example.com"}).status_code == 200
    assert quick.post("/_emulator/config", json={"latency_ms": 0}).json()["latency_ms"] == 0


def test_a_refused_latency_changes_nothing(emu: Emu) -> None:
    emu.control("POST", "config", {"latency_ms": 5})
    for bad in (-1, "fast", None):
        resp = emu.http.post("/_emulator/config", json={"latency_ms": bad, "batch_cap": 7})
        assert resp.status_code == 400, bad
    config = emu.control("GET", "config")
    assert config["latency_ms"] == 5 and config["batch_cap"] == 1000


def test_reset_restores_the_started_latency(emu: Emu) -> None:
    emu.control("POST", "config", {"latency_ms": 150})
    emu.control("POST", "reset")
    assert emu.control("GET", "config")["latency_ms"] == 0
