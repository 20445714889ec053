"""Push notifications as Google sends them: watch channels on a calendar's events, a `sync`
message when a channel opens, an `exists` message after each change to that calendar's events.

Public API: `Push(store)` with `watch`, `stop`, `changed`, `expire`, `channels_json`,
`deliveries_json`, `reset`; `Channel`. Messages are posted from one background thread, so an
API call never waits on a receiver: a POST with an empty body and the `X-Goog-*` headers,
retried with backoff on 500/502/503/504 and connection errors (as Google retries), every
outcome logged and kept for the control API.
"""

from __future__ import annotations

import hashlib
import heapq
import ipaddress
import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from calsync.emulators.google.errors import ApiError, not_found, required
from calsync.emulators.google.store import Json, Store

_LOGGER = logging.getLogger(__name__)

RETRIED = frozenset({500, 502, 503, 504})
"""Answers after which Google sends a message again (with exponential backoff)."""
MAX_TRIES = 4
FIRST_RETRY = 0.5
"""Seconds before the first resend; each next one waits twice as long."""
TIMEOUT = 10.0
_LOOPBACK_NAMES = ("localhost",)


@dataclass
class Channel:
    """One watch channel: what the client asked for and what the emulator gave it."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    account: str
    address: str
    expiration_ms: int
    token: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    messages: int = 0
    """The number of the last message sent (the `sync` message is 1)."""

    def resource(self) -> Json:
        """Return the `api#channel` resource Google answers a watch with."""
        out: Json = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(self.expiration_ms),
        }
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass
class _Message:
    channel: Channel
    state: str
    number: int
    tries: int = 0


def loopback(host: str) -> bool:
    """Return True for a loopback host name or address (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_address(address: Any) -> str:
    """Return the receiving URL, or raise the 400 Google answers for it.

    Google calls only https receivers; the emulator also calls http ones on a loopback host
    (tests and demos have no certificate), never http elsewhere.
    """
    if not isinstance(address, str) or not address:
        raise required("Required", "address")
    url = urlsplit(address)
    if not url.hostname:
        raise ApiError(
            400, "push.webhookUrlNoHostOrAddress", f"WebHook callback has no host: {address}"
        )
    if url.scheme == "https" or (url.scheme == "http" and loopback(url.hostname)):
        return address
    raise ApiError(400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}")


class _Deliverer:
    """One daemon thread posting messages in order of when they are due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Message]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)

    def post(self, message: _Message, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), message))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="emulator-push", daemon=True)
                self._thread.start()
            self._cond.notify()

    def drop(self) -> None:
        """Forget every message not sent yet."""
        with self._cond:
            self._heap.clear()
        self.log.clear()

    def _next(self) -> _Message:
        with self._cond:
            while True:
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()

    def _run(self) -> None:
        self._client = httpx.Client(timeout=TIMEOUT)
        while True:
            message = self._next()
            try:
                self._send(message)
            except Exception:  # the thread must outlive any one message
                _LOGGER.exception("push message to %s failed", message.channel.address)

    def _send(self, message: _Message) -> None:
        assert self._client is not None
        channel = message.channel
        message.tries += 1
        status: int | None = None
        error = ""
        try:
            resp = self._client.post(channel.address, content=b"", headers=_headers(message))
            status = resp.status_code
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        again = (status is None or status in RETRIED) and message.tries < MAX_TRIES
        self.log.append(
            {
                "channel_id": channel.id,
                "state": message.state,
                "number": message.number,
                "try": message.tries,
                "status": status,
                "error": error,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        if status is not None and 200 <= status < 300:
            return
        _LOGGER.warning(
            "push message %s #%d of channel %s to %s: %s%s",
            message.state,
            message.number,
            channel.id,
            channel.address,
            status or error,
            ", sending again" if again else "",
        )
        if again:
            self.post(message, FIRST_RETRY * 2 ** (message.tries - 1))


def _headers(message: _Message) -> dict[str, str]:
    channel = message.channel
    expires = datetime.fromtimestamp(channel.expiration_ms / 1000, UTC)
    headers = {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Expiration": format_datetime(expires, usegmt=True),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": channel.resource_uri,
        "X-Goog-Resource-State": message.state,
        "X-Goog-Message-Number": str(message.number),
    }
    if channel.token is not None:
        headers["X-Goog-Channel-Token"] = channel.token
    return headers


class Push:
    """The emulator's watch channels and their delivery; call under the store's lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.channels: dict[str, Channel] = {}
        self._deliverer = _Deliverer()

    def reset(self) -> None:
        """Forget every channel and every message not sent yet."""
        self.channels.clear()
        self._deliverer.drop()

    def watch(self, account: str, calendar_id: str, body: Json) -> Json:
        """Open a channel on `calendar_id`'s events; return its resource and send `sync`."""
        channel_id = body.get("id")
        if not isinstance(channel_id, str) or not channel_id:
            raise required("Required", "id")
        if body.get("type") not in ("web_hook", "webhook"):
            raise ApiError(
                400,
                "push.channelTypeNotSupported",
                f"Channel type '{body.get('type')}' is not supported.",
            )
        address = check_address(body.get("address"))
        self._purge()
        if channel_id in self.channels:
            raise ApiError(400, "channelIdNotUnique", "Channel id not unique")
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise ApiError(400, "invalid", "Invalid token.", location="token")
        params = body.get("params") or {}
        ttl = self.store.config.channel_max_ttl
        if isinstance(params, dict) and str(params.get("ttl", "")).isdigit():
            ttl = min(ttl, int(params["ttl"]))
        now_ms = int(self.store.now() * 1000)
        expiration = now_ms + ttl * 1000
        asked = body.get("expiration")
        if asked is not None:
            try:
                expiration = min(expiration, max(int(asked), now_ms))
            except (TypeError, ValueError):
                raise ApiError(400, "invalid", "Invalid expiration.") from None
        channel = Channel(
            id=channel_id,
            resource_id=hashlib.sha1(calendar_id.encode()).hexdigest()[:27],
            resource_uri=(
                f"https://www.googleapis.com/calendar/v3/calendars/{calendar_id}/events?alt=json"
            ),
            calendar_id=calendar_id,
            account=account,
            address=address,
            expiration_ms=expiration,
            token=token or None,
            params={str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
        )
        self.channels[channel_id] = channel
        self._send(channel, "sync")
        return channel.resource()

    def stop(self, body: Json) -> None:
        """Stop a channel by id and resource id; 404 when there is no such live channel."""
        self._purge()
        channel = self.channels.get(str(body.get("id")))
        if channel is None or channel.resource_id != body.get("resourceId"):
            raise not_found()
        del self.channels[channel.id]

    def changed(self, calendar_ids: set[str]) -> None:
        """Send `exists` on every live channel watching one of `calendar_ids`."""
        if not calendar_ids or not self.channels:
            return
        self._purge()
        for channel in list(self.channels.values()):
            if channel.calendar_id in calendar_ids:
                self._send(channel, "exists")

    def expire(self, ids: list[str] | None = None) -> list[str]:
        """End channels now as if their time had run out (all when `ids` is None)."""
        chosen = list(self.channels) if ids is None else [i for i in ids if i in self.channels]
        for channel_id in chosen:
            del self.channels[channel_id]
        return chosen

    def channels_json(self) -> list[Json]:
        """Return the live channels, for the control API."""
        self._purge()
        return [
            {
                **c.resource(),
                "address": c.address,
                "account": c.account,
                "calendar_id": c.calendar_id,
                "params": c.params,
                "messages": c.messages,
            }
            for c in self.channels.values()
        ]

    def deliveries_json(self) -> list[dict[str, Any]]:
        """Return the latest delivery attempts (oldest first), for the control API."""
        return list(self._deliverer.log)

    def _send(self, channel: Channel, state: str) -> None:
        channel.messages += 1
        self._deliverer.post(_Message(channel, state, channel.messages))

    def _purge(self) -> None:
        """Drop channels whose expiration passed on the emulator clock (Google sends nothing
        when a channel expires)."""
        now_ms = self.store.now() * 1000
        for channel_id in [i for i, c in self.channels.items() if c.expiration_ms <= now_ms]:
            del self.channels[channel_id]
