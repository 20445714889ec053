"""Push notifications from Google: a watch channel on each calendar a user syncs, and a round
for that user as soon as Google says one of them changed. Polling stays the fallback: a
channel that cannot be opened, or a notification that never comes, only delays the edit to
the next scheduled round.

Public API: `PushService(store, google, public_url=..., ...)` with
- `enabled`, `address`: whether channels are opened, and the URL Google notifies;
- `maintain_all()`, `maintain_user(name)`: open a channel per synced calendar of every linked,
  unpaused user, renew channels close to their expiry (a new channel, then the old one
  stopped), stop the ones no longer wanted (paused, disconnected, calendar dropped);
- `stop_user(name)`: stop every channel of a user (pause, disconnect);
- `notified(channel_id, token, state, resource_id)`: check a notification and hand the user's
  round to the queue set by `use_queue`;
`Notice`, `Maintenance`, `push_address(public_url)`, `NOTIFY_PATH`.

A notification is believed only when its channel id and token match a stored channel (the
token is a random secret sent to Google alone); anything else starts nothing.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from calsync.errors import AdapterError, NotFound
from calsync.model import utcnow
from calsync.prefs import PrefsError
from calsync.quota import Backoff, CallBudget
from calsync.sides.google.channels import GoogleChannels
from calsync.sides.google.connections import GoogleConnections
from calsync.sides.google.factory import GoogleSettings, connect
from calsync.state.records import LinkStatus, PushChannel
from calsync.state.store import Store

_LOGGER = logging.getLogger(__name__)

NOTIFY_PATH = "/google/notify"
"""Where the web app receives Google's notifications (below the public base URL)."""
RENEW_BEFORE = timedelta(days=1)
"""A channel with less than this left (or less than half its lifetime) is replaced."""
UNANSWERED = timedelta(minutes=2)
"""The expiry a channel is recorded with before Google's reply to `events.watch` gives the
real one: if this process dies before then, maintenance replaces the channel soon after."""

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def push_address(public_url: str) -> str | None:
    """Return the URL Google should notify for `public_url`, or None when it cannot be used.

    Google calls only https receivers; an http URL on a loopback host is accepted too, for the
    emulator (tests, demos), which does call those.
    """
    if not public_url:
        return None
    url = urlsplit(public_url)
    host = (url.hostname or "").lower()
    if url.scheme == "https" or (
        url.scheme == "http" and (host in _LOOPBACK or host.startswith("127."))
    ):
        return public_url.rstrip("/") + NOTIFY_PATH
    return None


class Notice(enum.StrEnum):
    """What a notification led to."""

    UNKNOWN = "unknown"
    """No stored channel has that id and token (or resource): nothing was started."""
    CONFIRMED = "confirmed"
    """The `sync` message of a new channel: it only confirms the channel works."""
    QUEUED = "queued"
    """The user's round was handed to the queue."""
    NO_QUEUE = "no_queue"
    """A change, but nothing in this process runs rounds: the next scheduled round sees it."""


@dataclass
class Maintenance:
    """What one maintenance pass did to the channels."""

    opened: int = 0
    renewed: int = 0
    stopped: int = 0
    failed: int = 0


class PushService:
    """The watch channels of every user, and the door notifications come in by."""

    def __init__(
        self,
        store: Store,
        google: Callable[[], GoogleSettings],
        *,
        public_url: str = "",
        budget: CallBudget | None = None,
        backoff: Backoff | None = None,
        connections: GoogleConnections | None = None,
        ttl: timedelta | None = None,
        renew_before: timedelta = RENEW_BEFORE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self._google = google
        self.address = push_address(public_url)
        """The URL Google notifies; None when push is off (no usable public URL)."""
        self.budget = budget
        self.backoff = backoff
        self.connections = connections
        self.ttl = ttl
        """Lifetime asked for new channels; None takes Google's default."""
        self.renew_before = renew_before
        self.now = now
        self._enqueue: Callable[[str], object] | None = None
        self._guard = threading.Lock()
        self._user_locks: dict[str, threading.Lock] = {}

    @property
    def enabled(self) -> bool:
        """True when channels are opened (a public URL Google can call is configured)."""
        return self.address is not None

    def use_queue(self, enqueue: Callable[[str], object]) -> None:
        """Send the rounds that notifications ask for to `enqueue(user)`."""
        self._enqueue = enqueue

    # -- notifications -------------------------------------------------------------------

    def notified(
        self, channel_id: str, token: str, state: str, resource_id: str | None = None
    ) -> Notice:
        """Check one notification; on a change, queue its user's round."""
        if not channel_id or not token:
            return Notice.UNKNOWN
        channel = self.store.channel_by_token(channel_id, token)
        # A channel whose watch reply has not arrived yet has no resource id to compare.
        if channel is None or (resource_id and channel.resource_id not in ("", resource_id)):
            _LOGGER.info("push notification for an unknown channel %.64r ignored", channel_id)
            return Notice.UNKNOWN
        if state == "sync":
            return Notice.CONFIRMED
        if self._enqueue is None:
            _LOGGER.info("push: %s changed, no queue here; the next round sees it", channel.user)
            return Notice.NO_QUEUE
        _LOGGER.debug("push: %s changed (%s), round queued", channel.user, channel.calendar)
        self._enqueue(channel.user)
        return Notice.QUEUED

    # -- channels ------------------------------------------------------------------------

    def maintain_all(self) -> Maintenance:
        """Maintain the channels of every linked user and of anyone who still has some."""
        total = Maintenance()
        users = set(self.store.channel_users())
        if self.enabled:
            users.update(self.store.linked_users(status=None))
        for name in sorted(users):
            try:
                done = self.maintain_user(name)
            except Exception:  # one user's channels never stop another's
                _LOGGER.exception("maintaining the push channels of %s failed", name)
                total.failed += 1
                continue
            for field in ("opened", "renewed", "stopped", "failed"):
                setattr(total, field, getattr(total, field) + getattr(done, field))
        return total

    def maintain_user(self, name: str) -> Maintenance:
        """Bring `name`'s channels in line with what they sync now."""
        with self._lock(name):
            return self._maintain(name)

    def stop_user(self, name: str) -> int:
        """Stop every channel of `name`; return how many there were."""
        with self._lock(name):
            channels = self.store.channels(name)
            done = Maintenance()
            self._stop_all(name, channels, done)
            return len(channels)

    def _maintain(self, name: str) -> Maintenance:
        done = Maintenance()
        channels = self.store.channels(name)
        wanted = self._wanted(name)
        if not wanted:
            self._stop_all(name, channels, done)
            return done
        now = self.now()
        link = self.store.get_link(name)
        connected = link.connected_at if link is not None else now
        for channel in channels:
            if channel.calendar not in wanted:
                self._stop(name, channel, done)
        for calendar in wanted:
            mine = [c for c in channels if c.calendar == calendar]
            # A channel opened before the current link watches the account linked before.
            live = [c for c in mine if c.expires_at > now and c.created_at >= connected]
            keep = max(live, key=lambda c: c.expires_at) if live else None
            if keep is None or self._due(keep, now):
                if self._open(name, calendar, done) is None:
                    continue  # keep what still works; polling covers the rest
                if keep is None:
                    done.opened += 1
                else:
                    done.renewed += 1
                keep = None  # the new channel is not in `mine`: every old one is stopped
            for channel in mine:
                if channel is not keep:
                    self._stop(name, channel, done)
        return done

    def _wanted(self, name: str) -> tuple[str, ...]:
        """Return the calendars `name` syncs now, as their rounds name them; () for none."""
        if not self.enabled:
            return ()
        link = self.store.get_link(name)
        if link is None or link.status is LinkStatus.NEEDS_RECONNECT or not link.refresh_token:
            return ()
        try:
            prefs = self.store.get_prefs(name)
        except PrefsError:
            return ()
        if prefs.paused:
            return ()
        calendars = ("primary" if c == link.google_email else c for c in prefs.calendars)
        return tuple(dict.fromkeys(calendars))

    def _due(self, channel: PushChannel, now: datetime) -> bool:
        """True when `channel` should be replaced now: little of its life is left."""
        lifetime = channel.expires_at - channel.created_at
        return channel.expires_at - now <= min(self.renew_before, lifetime / 2)

    def _channels(self, name: str) -> GoogleChannels | None:
        link = self.store.get_link(name)
        if link is None or not link.refresh_token:
            return None
        http = connect(
            self._google(),
            name,
            link.refresh_token,
            budget=self.budget,
            backoff=self.backoff,
            connections=self.connections,
        )
        return GoogleChannels(http)

    def _open(self, name: str, calendar: str, done: Maintenance) -> PushChannel | None:
        google = self._channels(name)
        if google is None or self.address is None:
            return None
        channel_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(32)
        # Recorded first: Google may send the channel's first messages before its reply to
        # the watch call arrives, and a change notified then must not be refused.
        asked = self.store.add_channel(
            channel_id, name, calendar, "", token, self.now() + UNANSWERED
        )
        try:
            opened = google.watch(calendar, channel_id, self.address, token, self.ttl)
        except AdapterError as err:
            _LOGGER.warning("opening a push channel on %s of %s failed: %s", calendar, name, err)
            self.store.delete_channel(channel_id)
            done.failed += 1
            return None
        finally:
            google.http.close()
        _LOGGER.info("push channel opened on %s of %s until %s", calendar, name, opened.expires_at)
        self.store.set_channel_opened(channel_id, opened.resource_id, opened.expires_at)
        return replace(asked, resource_id=opened.resource_id, expires_at=opened.expires_at)

    def _stop(self, name: str, channel: PushChannel, done: Maintenance) -> None:
        """Stop one channel at Google (unless expired) and forget it, whatever Google says:
        notifications of a forgotten channel are refused anyway."""
        if channel.expires_at > self.now():
            google = self._channels(name)
            if google is not None:
                try:
                    google.stop(channel.id, channel.resource_id)
                except NotFound:
                    pass
                except AdapterError as err:
                    _LOGGER.warning("stopping push channel %s of %s: %s", channel.id, name, err)
                finally:
                    google.http.close()
        self.store.delete_channel(channel.id)
        done.stopped += 1

    def _stop_all(self, name: str, channels: list[PushChannel], done: Maintenance) -> None:
        for channel in channels:
            self._stop(name, channel, done)

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._user_locks.setdefault(name, threading.Lock())
