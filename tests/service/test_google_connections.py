"""Rounds share the process's Google connections: one TCP connection and one token refresh
for every round of a user, also when rounds run in the scheduler's worker threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.emulators.google import create_app
from calsync.emulators.server import ServerThread
from calsync.model import Event, Task, When
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.auth import RefreshTokenAuth
from calsync.sides.google.connections import GoogleConnections
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
USERS = ("alice", "bob", "carol", "dave")


class Seen:
    """The emulator's ASGI app, recording each Google request's path and client TCP port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_emulator/"):
            with self._lock:
                self.requests.append((scope["path"], scope["client"][1]))
        await self.app(scope, receive, send)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def token_refreshes(self) -> int:
        return sum(1 for path, _ in self.requests if path == "/token")

    def ports(self) -> set[int]:
        return {port for _, port in self.requests}


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[Seen, str]]:
    seen = Seen(create_app())
    with ServerThread(seen) as server:
        yield seen, server.url


@dataclass
class Install:
    seen: Seen
    url: str
    store: Store
    crm: LocalCrm

    def service(self, connections: GoogleConnections | None = None) -> SyncService:
        google = GoogleSettings("cid", "secret", api_url=self.url, token_url=self.url + "/token")
        return SyncService(self.store, LocalBackend(self.crm), google, connections=connections)


@pytest.fixture
def install(emulator: tuple[Seen, str], tmp_path: Path) -> Iterator[Install]:
    """Four CRM users with an event and a to-do each, linked to their emulator accounts
    (calendar and task list synced)."""
    seen, url = emulator
    httpx.post(url + "/_emulator/reset").raise_for_status()
    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        here = Install(seen, url, store, crm)
        service = here.service()
        for name in USERS:
            crm.create_user(name, time_zone="Europe/Rome")
            crm.add_event(name, Event(f"{name}'s meeting", When(start, start + timedelta(hours=1))))
            crm.add_task(name, Task(f"{name}'s to-do"))
            email = f"{name}@example.com"
            acct = httpx.post(url + "/_emulator/accounts", json={"email": email}).json()
            service.known_user(name)
            store.set_link(name, email, acct["refresh_token"])
            store.set_prefs(name, store.get_prefs(name).with_(tasklist="@default"))
        yield here
    crm.close()


def test_two_rounds_of_a_user_share_one_connection_and_one_token(install: Install) -> None:
    service = install.service()
    install.seen.clear()
    for _ in range(2):
        assert service.sync_user("alice").status.success
    assert install.seen.token_refreshes() == 1
    # Calendar and task calls of both rounds and the refresh: one kept-alive connection.
    assert len(install.seen.requests) > 4
    assert len(install.seen.ports()) == 1


def test_without_shared_connections_each_round_reconnects_and_refreshes(
    install: Install,
) -> None:
    """The behaviour the shared connections replace, as one-off clients still get it."""

    class EachTimeNew(GoogleConnections):
        def client(self) -> httpx.Client:
            return httpx.Client(timeout=30)

        def token_source(
            self, refresh_token: str, client_id: str, client_secret: str, token_url: str
        ) -> RefreshTokenAuth:
            return RefreshTokenAuth(refresh_token, client_id, client_secret, token_url)

    service = install.service(EachTimeNew())
    install.seen.clear()
    for _ in range(2):
        assert service.sync_user("alice").status.success
    assert install.seen.token_refreshes() >= 2
    assert len(install.seen.ports()) >= 2


def test_rounds_in_worker_threads_refresh_each_token_once(install: Install) -> None:
    """Every user synced twice, rounds of different users at once in four threads."""
    service = install.service()
    install.seen.clear()
    failures: list[str] = []

    def rounds(name: str) -> None:
        for _ in range(2):
            report = service.sync_user(name)
            if not report.status.success:
                failures.append(f"{name}: {report.message}")

    threads = [threading.Thread(target=rounds, args=(n,)) for n in USERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert install.seen.token_refreshes() == len(USERS)
    # At most one connection per thread that ever ran a call at the same time as another.
    assert len(install.seen.ports()) <= len(USERS)


def test_one_grant_asked_by_many_threads_at_once_refreshes_once(
    emulator: tuple[Seen, str],
) -> None:
    seen, url = emulator
    httpx.post(url + "/_emulator/reset").raise_for_status()
    acct = httpx.post(url + "/_emulator/accounts", json={"email": "eve@example.com"}).json()
    connections = GoogleConnections()
    seen.clear()
    tokens: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        source = connections.token_source(acct["refresh_token"], "cid", "secret", url + "/token")
        tokens.append(source.get_access_token())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connections.close()
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert seen.token_refreshes() == 1


def test_a_token_inside_its_expiry_margin_is_refreshed(install: Install) -> None:
    """A token about to expire is not reused: google-auth's margin (3 min 45 s) is longer
    than this account's 60-second tokens, so each round refreshes again."""
    httpx.post(
        install.url + "/_emulator/accounts/alice@example.com/token_ttl", json={"seconds": 60}
    ).raise_for_status()
    service = install.service()
    install.seen.clear()
    for _ in range(2):
        assert service.sync_user("alice").status.success
    assert install.seen.token_refreshes() >= 2


def test_new_client_settings_get_new_token_sources(emulator: tuple[Seen, str]) -> None:
    _, url = emulator
    connections = GoogleConnections()
    first = connections.token_source("1//rt", "cid", "secret", url + "/token")
    assert connections.token_source("1//rt", "cid", "secret", url + "/token") is first
    assert connections.token_source("1//rt", "cid2", "secret", url + "/token") is not first
    assert connections.token_source("1//rt2", "cid", "secret", url + "/token") is not first


def test_least_recently_used_token_sources_are_dropped(emulator: tuple[Seen, str]) -> None:
    _, url = emulator
    connections = GoogleConnections(max_tokens=2)
    a = connections.token_source("1//a", "cid", "secret", url)
    b = connections.token_source("1//b", "cid", "secret", url)
    assert connections.token_source("1//a", "cid", "secret", url) is a  # a used again
    connections.token_source("1//c", "cid", "secret", url)  # drops b, the least recent
    assert connections.token_source("1//a", "cid", "secret", url) is a
    assert connections.token_source("1//b", "cid", "secret", url) is not b
    connections.close()
