"""`POST /google/notify` over real HTTP: Google's notifications need no session or CSRF token,
but a channel id AND its token; anything else is 404 and queues nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from calsync.emulators.server import ServerThread
from calsync.model import utcnow
from calsync.service import PushService
from calsync.service.push import NOTIFY_PATH
from calsync.sides.google.factory import GoogleSettings
from calsync.state import Store
from calsync.web.app import create_app
from tests.web.conftest import application

TOKEN = "the-channel-token-only-google-knows"


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The web app with push on, one stored channel of alice's, and a recording queue."""
    store.upsert_user("alice")
    store.add_channel("chan-1", "alice", "primary", "res-1", TOKEN, utcnow() + timedelta(days=7))
    push = PushService(
        store, lambda: GoogleSettings("cid", "s"), public_url="https://cal.example.com"
    )
    queued: list[str] = []
    push.use_queue(queued.append)
    app = dataclasses.replace(application(store, tmp_path), push=push)
    with ServerThread(create_app(app, announce=lambda _: None)) as server:
        yield server.url, queued


def _notify(url: str, state: str = "exists", **headers: str) -> httpx.Response:
    sent = {
        "X-Goog-Channel-ID": "chan-1",
        "X-Goog-Channel-Token": TOKEN,
        "X-Goog-Resource-ID": "res-1",
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": "2",
        **headers,
    }
    return httpx.post(url + NOTIFY_PATH, headers=sent, content=b"")


def test_a_change_queues_the_users_round_without_csrf(served: tuple[str, list[str]]) -> None:
    url, queued = served
    assert _notify(url).status_code == 200
    assert queued == ["alice"]


def test_the_sync_message_only_confirms(served: tuple[str, list[str]]) -> None:
    url, queued = served
    assert _notify(url, "sync", **{"X-Goog-Message-Number": "1"}).status_code == 200
    assert queued == []


def test_a_wrong_token_or_channel_is_refused_and_starts_nothing(
    served: tuple[str, list[str]],
) -> None:
    url, queued = served
    assert _notify(url, **{"X-Goog-Channel-Token": "guessed"}).status_code == 404
    assert _notify(url, **{"X-Goog-Channel-Token": ""}).status_code == 404
    assert _notify(url, **{"X-Goog-Channel-ID": "chan-2"}).status_code == 404
    assert _notify(url, **{"X-Goog-Resource-ID": "res-other"}).status_code == 404
    assert httpx.post(url + NOTIFY_PATH).status_code == 404
    assert queued == []


def test_without_push_the_door_is_closed(store: Store, tmp_path: Path) -> None:
    """An app built without push answers 404 to any notification."""
    with ServerThread(create_app(application(store, tmp_path), announce=lambda _: None)) as srv:
        assert _notify(srv.url).status_code == 404
