"""Fixtures for the Google emulator conformance suite: one real server per session, reset per test,
with helpers building the official client and raw httpx clients against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from calsync.emulators.google import create_app
from calsync.emulators.server import ServerThread

CLIENT_ID = "test-client.apps.googleusercontent.com"
CLIENT_SECRET = "test-secret"


class Emu:
    """A handle on the running emulator: control API, clients and request-log helpers."""

    def __init__(self, url: str, transport: httpx.HTTPTransport) -> None:
        self.url = url
        # One shared transport: building an httpx client's SSL context per test is slow.
        self.transport = transport
        self.http = httpx.Client(base_url=url, timeout=30, transport=transport)

    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call the control API and return its JSON (asserting success)."""
        resp = self.http.request(method, "/_emulator/" + path, json=json)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def account(self, email: str = "alice@example.com", **extra: Any) -> dict[str, Any]:
        """Create an account and return `{email, refresh_token, access_token, ...}`."""
        return self.control("POST", "accounts", {"email": email, **extra})  # type: ignore[no-any-return]

    def credentials(self, account: dict[str, Any]) -> Credentials:
        """Return google-auth credentials that refresh against the emulator."""
        return Credentials(
            token=None,
            refresh_token=account["refresh_token"],
            token_uri=self.url + "/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )

    def calendar(self, account: dict[str, Any]) -> Any:
        """Return the official Calendar v3 client pointed at the emulator."""
        return build(
            "calendar",
            "v3",
            credentials=self.credentials(account),
            static_discovery=True,
            client_options={"api_endpoint": self.url + "/calendar/v3/"},
            cache_discovery=False,
        )

    def tasks(self, account: dict[str, Any]) -> Any:
        """Return the official Tasks v1 client pointed at the emulator."""
        return build(
            "tasks",
            "v1",
            credentials=self.credentials(account),
            static_discovery=True,
            client_options={"api_endpoint": self.url + "/"},
            cache_discovery=False,
        )

    def raw(self, account: dict[str, Any]) -> httpx.Client:
        """Return an httpx client sending the account's access token."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": "Bearer " + account["access_token"]},
            timeout=30,
            transport=self.transport,
        )

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        """Return the emulator's request log, filtered like GET /_emulator/requests."""
        resp = self.http.get("/_emulator/requests", params=filters)
        return resp.json()["requests"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def server() -> Iterator[ServerThread]:
    with ServerThread(create_app()) as srv:
        yield srv


@pytest.fixture(scope="session")
def transport() -> Iterator[httpx.HTTPTransport]:
    shared = httpx.HTTPTransport()
    yield shared
    shared.close()


@pytest.fixture
def emu(server: ServerThread, transport: httpx.HTTPTransport) -> Emu:
    handle = Emu(server.url, transport)
    handle.control("POST", "reset")
    return handle


@pytest.fixture
def alice(emu: Emu) -> dict[str, Any]:
    return emu.account("alice@example.com")


@pytest.fixture
def cal(emu: Emu, alice: dict[str, Any]) -> Any:
    return emu.calendar(alice)


@pytest.fixture
def raw(emu: Emu, alice: dict[str, Any]) -> httpx.Client:
    return emu.raw(alice)
