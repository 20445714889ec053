"""Push notifications: events.watch and channels.stop, and the messages the emulator posts to a
real receiver on loopback (`sync` first, then `exists` per change, Google's headers)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from .conftest import Emu
from .helpers import error_of, timed

EV = "/calendar/v3/calendars/primary/events"
WAIT = 10.0
"""Seconds a test waits for a message it expects (a generous bound, never a timing claim)."""


class Receiver:
    """A small HTTP server recording every notification it is sent."""

    def __init__(self) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.answer = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver.messages.put(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                self.send_response(receiver.answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self) -> dict[str, Any]:
        """Return the next message (fail after WAIT seconds)."""
        return self.messages.get(timeout=WAIT)

    def none_within(self, seconds: float) -> bool:
        """Return True when no message arrives within `seconds`."""
        try:
            self.messages.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def _watch(raw: httpx.Client, address: str, channel_id: str = "chan-1", **extra: Any) -> Any:
    resp = raw.post(
        EV + "/watch",
        json={"id": channel_id, "type": "web_hook", "address": address, **extra},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_watch_answers_a_channel_then_sync_then_exists_per_change(
    raw: httpx.Client, receiver: Receiver
) -> None:
    """A `sync` message right after the watch, then one `exists` per write, numbered."""
    channel = _watch(raw, receiver.url, token="secret-token")
    assert channel["kind"] == "api#channel"
    assert channel["id"] == "chan-1" and channel["token"] == "secret-token"
    assert channel["resourceUri"].endswith("/calendars/alice@example.com/events?alt=json")
    assert int(channel["expiration"]) > 0

    sync = receiver.next()
    headers = sync["headers"]
    assert sync["body"] == b"" and sync["path"] == "/hook"
    assert headers["x-goog-resource-state"] == "sync"
    assert headers["x-goog-message-number"] == "1"
    assert headers["x-goog-channel-id"] == "chan-1"
    assert headers["x-goog-channel-token"] == "secret-token"
    assert headers["x-goog-resource-id"] == channel["resourceId"]
    assert headers["x-goog-resource-uri"] == channel["resourceUri"]
    expires = parsedate_to_datetime(headers["x-goog-channel-expiration"])
    assert int(expires.timestamp()) == int(channel["expiration"]) // 1000

    ev = raw.post(EV, json=timed()).json()
    first = receiver.next()
    assert first["headers"]["x-goog-resource-state"] == "exists"
    assert first["headers"]["x-goog-message-number"] == "2"
    raw.patch(f"{EV}/{ev['id']}", json={"summary": "moved"})
    second = receiver.next()
    assert second["headers"]["x-goog-message-number"] == "3"
    raw.delete(f"{EV}/{ev['id']}")
    assert receiver.next()["headers"]["x-goog-resource-state"] == "exists"


def test_a_change_elsewhere_sends_nothing_and_the_token_is_optional(
    emu: Emu, raw: httpx.Client, receiver: Receiver
) -> None:
    """Only changes to the watched calendar's events notify; without a token, no token header."""
    _watch(raw, receiver.url)
    assert "x-goog-channel-token" not in receiver.next()["headers"]
    bob = emu.raw(emu.account("bob@example.com"))
    bob.post(EV, json=timed())
    raw.get(EV)  # a read changes nothing either
    assert receiver.none_within(0.5)


def test_the_official_client_watches_and_stops(
    cal: Any, raw: httpx.Client, receiver: Receiver
) -> None:
    """google-api-python-client's events().watch and channels().stop work unchanged."""
    channel = (
        cal.events()
        .watch(
            calendarId="primary", body={"id": "c-9", "type": "web_hook", "address": receiver.url}
        )
        .execute()
    )
    assert receiver.next()["headers"]["x-goog-resource-state"] == "sync"
    cal.channels().stop(body={"id": "c-9", "resourceId": channel["resourceId"]}).execute()
    raw.post(EV, json=timed())
    assert receiver.none_within(0.5)
    with pytest.raises(HttpError) as err:
        cal.channels().stop(body={"id": "c-9", "resourceId": channel["resourceId"]}).execute()
    assert err.value.resp.status == 404


def test_watch_refuses_what_google_refuses(raw: httpx.Client, receiver: Receiver) -> None:
    """http outside loopback, a channel id in use, an unknown type, no address: 400s."""
    plain = raw.post(
        EV + "/watch",
        json={"id": "c", "type": "web_hook", "address": "http://calsync.example.com/hook"},
    )
    assert plain.status_code == 400
    assert error_of(plain)["reason"] == "push.webhookUrlNotHttps"
    _watch(raw, receiver.url, "c")
    twice = raw.post(EV + "/watch", json={"id": "c", "type": "web_hook", "address": receiver.url})
    assert twice.status_code == 400 and error_of(twice)["reason"] == "channelIdNotUnique"
    kind = raw.post(EV + "/watch", json={"id": "d", "type": "email", "address": receiver.url})
    assert kind.status_code == 400 and error_of(kind)["reason"] == "push.channelTypeNotSupported"
    none = raw.post(EV + "/watch", json={"id": "e", "type": "web_hook"})
    assert none.status_code == 400 and error_of(none)["reason"] == "required"


def test_expiration_is_capped_and_expired_channels_go_quiet(
    emu: Emu, raw: httpx.Client, receiver: Receiver
) -> None:
    """The channel lives at most channel_max_ttl (or params.ttl); once expired (control API or
    the emulator clock) it sends nothing and cannot be stopped."""
    emu.control("POST", "config", {"channel_max_ttl": 3600})
    far = _watch(raw, receiver.url, "far", expiration=10**15)
    receiver.next()
    assert int(far["expiration"]) <= (time.time() + 3600 + 60) * 1000
    short = _watch(raw, receiver.url, "short", params={"ttl": "60"})
    receiver.next()
    assert int(short["expiration"]) < int(far["expiration"])

    assert emu.control("POST", "channels/expire", {"ids": ["far"]}) == {"expired": ["far"]}
    emu.control("POST", "clock", {"advance_seconds": 120})  # past "short"'s 60 s
    assert emu.control("GET", "channels") == {"channels": []}
    raw.post(EV, json=timed())
    assert receiver.none_within(0.5)
    stop = raw.post(
        "/calendar/v3/channels/stop", json={"id": "short", "resourceId": short["resourceId"]}
    )
    assert stop.status_code == 404


def test_a_failing_receiver_is_retried_then_given_up(
    emu: Emu, raw: httpx.Client, receiver: Receiver
) -> None:
    """503 is sent again with backoff; every try is in the deliveries log; the API call that
    caused the message never waits for it."""
    receiver.answer = 503
    _watch(raw, receiver.url)
    first = receiver.next()
    again = receiver.next()
    assert first["headers"]["x-goog-message-number"] == again["headers"]["x-goog-message-number"]
    receiver.answer = 200
    log = emu.control("GET", "channels/deliveries")["deliveries"]
    assert log[0]["status"] == 503 and log[0]["try"] == 1 and log[0]["state"] == "sync"


def test_reset_forgets_channels(emu: Emu, raw: httpx.Client, receiver: Receiver) -> None:
    _watch(raw, receiver.url)
    receiver.next()
    assert len(emu.control("GET", "channels")["channels"]) == 1
    emu.control("POST", "reset")
    assert emu.control("GET", "channels") == {"channels": []}
