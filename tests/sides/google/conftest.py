"""Fixtures for the Google adapter tests: the scripted server and a GoogleHttp factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from calsync.emulators.google import create_app
from calsync.emulators.server import ServerThread
from calsync.quota import Backoff, CallBudget
from calsync.sides.google.auth import StaticTokenAuth, TokenSource
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.oauth import scopes_for
from tests.sides.google.emulated import Google
from tests.sides.google.scripted import Reply, Scripted, Sleeps


@pytest.fixture(scope="session")
def _scripted_server() -> Iterator[tuple[Scripted, str]]:
    app = Scripted()
    with ServerThread(app) as server:
        yield app, server.url


@pytest.fixture
def scripted(_scripted_server: tuple[Scripted, str]) -> Scripted:
    app, _ = _scripted_server
    app.script(Reply())
    return app


@pytest.fixture
def make_http(_scripted_server: tuple[Scripted, str]) -> Iterator[Callable[..., GoogleHttp]]:
    """Return a factory of GoogleHttp clients on the scripted server (sleep recorded)."""
    made: list[GoogleHttp] = []

    def make(
        *,
        auth: TokenSource | None = None,
        budget: CallBudget | None = None,
        backoff: Backoff | None = None,
        url: str | None = None,
        **kw: Any,
    ) -> GoogleHttp:
        http = GoogleHttp(
            auth or StaticTokenAuth("ya29.secret-token"),
            user="alice",
            base_url=url or _scripted_server[1],
            budget=budget,
            backoff=backoff or Backoff(base=0.5, cap=8, max_tries=4),
            sleep=Sleeps(),
            timeout=5,
            **kw,
        )
        made.append(http)
        return http

    yield make
    for http in made:
        http.close()


@pytest.fixture(scope="session")
def _emulator() -> Iterator[tuple[str, httpx.Client]]:
    with ServerThread(create_app()) as server:
        client = httpx.Client(timeout=10)
        yield server.url, client
        client.close()


@pytest.fixture
def google(_emulator: tuple[str, httpx.Client]) -> Google:
    """A reset Google emulator with the account alice@example.com (zone Europe/Rome)."""
    url, client = _emulator
    g = Google(url, client)
    g.control("POST", "reset")
    g.account = g.control(
        "POST",
        "accounts",
        # The grant has only calsync's narrow scopes, as after a real consent.
        {"email": "alice@example.com", "time_zone": "Europe/Rome", "scopes": scopes_for(True)},
    )
    return g
