"""Push channels kept by the service against the real Google emulator and a real state store:
opened per synced calendar only with a usable public URL, renewed near expiry, stopped on
pause, disconnect and a dropped calendar; a notification counts only with id AND token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.config import Settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.model import utcnow
from calsync.prefs import Prefs
from calsync.service import AccountService, AppSettings, Notice, PushService
from calsync.service.push import NOTIFY_PATH, UNANSWERED, push_address
from calsync.sides.crm import LocalBackend
from calsync.sides.google.channels import GoogleChannels
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state import Store
from tests.web.fakes import FakeGoogle

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
PUBLIC = "http://127.0.0.1:9"
"""Nothing listens there: the emulator's messages fail (logged); these tests read channels."""


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(google_emulator()) as server:
        yield server.url


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def env(google_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    httpx.post(f"{google_url}/_emulator/reset")
    alice = httpx.post(f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"})
    team = httpx.post(
        f"{google_url}/_emulator/calendars", json={"owner": "alice@example.com", "summary": "Team"}
    ).json()
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        store.upsert_user("alice")
        store.set_link("alice", "alice@example.com", alice.json()["refresh_token"])
        yield {"store": store, "url": google_url, "team": team["id"]}


def _push(env: dict[str, Any], public_url: str = PUBLIC, **kwargs: Any) -> PushService:
    settings = GoogleSettings("cid", "secret", api_url=env["url"], token_url=env["url"] + "/token")
    return PushService(env["store"], lambda: settings, public_url=public_url, **kwargs)


def _emulated(env: dict[str, Any]) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = httpx.get(f"{env['url']}/_emulator/channels").json()[
        "channels"
    ]
    return channels


def _watch_calls(env: dict[str, Any]) -> int:
    log = httpx.get(
        f"{env['url']}/_emulator/requests", params={"api_method": "calendar.events.watch"}
    )
    return len(log.json()["requests"])


def test_push_address_needs_https_or_loopback() -> None:
    assert push_address("") is None
    assert push_address("https://cal.example.com") == "https://cal.example.com" + NOTIFY_PATH
    assert push_address("http://127.0.0.1:8080") == "http://127.0.0.1:8080" + NOTIFY_PATH
    assert push_address("http://localhost:8080") is not None
    assert push_address("http://cal.example.com") is None  # Google would refuse it


def test_no_public_url_opens_no_channel(env: dict[str, Any]) -> None:
    """Without a public URL Google can call, push is off: no watch call at all."""
    for url in ("", "http://cal.example.com"):
        push = _push(env, public_url=url)
        assert not push.enabled
        push.maintain_all()
    assert _watch_calls(env) == 0
    assert env["store"].channels() == []


def test_one_channel_per_synced_calendar_and_idempotent(env: dict[str, Any]) -> None:
    """Each chosen calendar gets one channel to `<public URL>/google/notify`; a second pass
    changes nothing; the token is kept hashed only."""
    store: Store = env["store"]
    store.set_prefs("alice", Prefs(calendars=("alice@example.com", env["team"])))
    push = _push(env)
    done = push.maintain_all()
    assert (done.opened, done.failed) == (2, 0)
    emulated = _emulated(env)
    assert {c["calendar_id"] for c in emulated} == {"alice@example.com", env["team"]}
    assert {c["address"] for c in emulated} == {PUBLIC + NOTIFY_PATH}
    stored = store.channels("alice")
    # The primary calendar is named as the rounds name it, whatever the preferences say.
    assert {c.calendar for c in stored} == {"primary", env["team"]}
    assert {c.id for c in stored} == {c["id"] for c in emulated}
    tokens = {c["token"] for c in emulated}
    assert not tokens & {c.token_hash for c in stored}

    again = push.maintain_all()
    assert (again.opened, again.renewed, again.stopped) == (0, 0, 0)
    assert _watch_calls(env) == 2


def test_a_channel_near_expiry_is_renewed(env: dict[str, Any]) -> None:
    """Less than a day left: a new channel is opened, then the old one stopped at Google."""
    clock = Clock()
    push = _push(env, now=clock)
    push.maintain_all()
    (old,) = env["store"].channels("alice")
    clock.offset = timedelta(days=6, hours=1)  # the emulator grants 7 days
    done = push.maintain_all()
    assert (done.renewed, done.stopped) == (1, 1)
    (new,) = env["store"].channels("alice")
    assert new.id != old.id and new.calendar == "primary"
    assert [c["id"] for c in _emulated(env)] == [new.id]


def test_an_expired_channel_is_replaced_without_stopping_it(env: dict[str, Any]) -> None:
    clock = Clock()
    push = _push(env, now=clock)
    push.maintain_all()
    httpx.post(f"{env['url']}/_emulator/channels/expire", json={})
    clock.offset = timedelta(days=8)
    push.maintain_all()
    stops = httpx.get(
        f"{env['url']}/_emulator/requests", params={"api_method": "calendar.channels.stop"}
    ).json()["requests"]
    assert stops == []
    assert len(env["store"].channels("alice")) == 1 and len(_emulated(env)) == 1


def test_pause_disconnect_and_a_dropped_calendar_stop_channels(
    env: dict[str, Any], tmp_path: Path
) -> None:
    """Pausing stops the user's channels at Google and forgets them; resuming reopens;
    dropping a calendar stops its channel; disconnecting stops the rest."""
    store: Store = env["store"]
    push = _push(env)
    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    backend = LocalBackend(crm)
    settings = AppSettings(store, Settings(data_dir=tmp_path), backend)
    accounts = AccountService(store, backend, FakeGoogle(), settings, lock_wait=0, push=push)
    accounts.save_prefs("alice", Prefs(calendars=("primary", env["team"])))
    assert len(_emulated(env)) == 2

    accounts.pause("alice")
    assert _emulated(env) == [] and store.channels("alice") == []
    push.maintain_all()  # a paused user gets none back from the scheduler either
    assert _emulated(env) == []

    accounts.resume("alice")
    assert len(_emulated(env)) == 2
    accounts.save_prefs("alice", Prefs(calendars=("primary",), paused=False))
    assert [c["calendar_id"] for c in _emulated(env)] == ["alice@example.com"]

    accounts.disconnect("alice")
    assert _emulated(env) == [] and store.channels("alice") == []
    crm.close()


def test_a_notification_needs_the_channel_id_and_its_token(env: dict[str, Any]) -> None:
    """A wrong token, an unknown channel or another resource start nothing; `sync` only
    confirms; `exists` with the right id and token queues the user's round."""
    queued: list[str] = []
    push = _push(env)
    push.use_queue(queued.append)
    push.maintain_all()
    (channel,) = env["store"].channels("alice")
    (emulated,) = _emulated(env)
    token = emulated["token"]

    assert push.notified(channel.id, "not-the-token", "exists") is Notice.UNKNOWN
    assert push.notified(channel.id, "", "exists") is Notice.UNKNOWN
    assert push.notified("no-such-channel", token, "exists") is Notice.UNKNOWN
    assert push.notified(channel.id, token, "exists", "another-resource") is Notice.UNKNOWN
    assert queued == []
    assert push.notified(channel.id, token, "sync", channel.resource_id) is Notice.CONFIRMED
    assert queued == []
    assert push.notified(channel.id, token, "exists", channel.resource_id) is Notice.QUEUED
    assert queued == ["alice"]


def test_a_change_notified_before_the_watch_reply_arrives_queues_the_round(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google may deliver a channel's first messages before its reply to `events.watch`
    reaches calsync: the channel is recorded before the call, so they are not refused (the
    change would otherwise wait for the next poll)."""
    queued: list[str] = []
    push = _push(env)
    push.use_queue(queued.append)
    answers: list[Notice] = []
    watch = GoogleChannels.watch

    def racing(self: GoogleChannels, calendar: str, channel_id: str, *args: Any) -> Any:
        opened = watch(self, calendar, channel_id, *args)
        (emulated,) = [c for c in _emulated(env) if c["id"] == channel_id]
        token = emulated["token"]
        answers.append(push.notified(channel_id, token, "sync", opened.resource_id))
        answers.append(push.notified(channel_id, token, "exists", opened.resource_id))
        return opened

    monkeypatch.setattr(GoogleChannels, "watch", racing)
    push.maintain_all()
    assert answers == [Notice.CONFIRMED, Notice.QUEUED]
    assert queued == ["alice"]
    (channel,) = env["store"].channels("alice")
    (emulated,) = _emulated(env)
    assert channel.resource_id == emulated["resourceId"]
    assert abs(channel.expires_at.timestamp() * 1000 - int(emulated["expiration"])) < 1000


def test_a_channel_left_unanswered_by_a_crash_is_soon_replaced(env: dict[str, Any]) -> None:
    """The process died between recording a channel and Google's reply: the channel, with no
    resource id, is replaced by the maintenance after a short while."""
    clock = Clock()
    push = _push(env, now=clock)
    env["store"].add_channel("lost", "alice", "primary", "", "t", clock() + UNANSWERED)
    assert push.maintain_all().renewed == 0  # its reply may still come
    clock.offset = UNANSWERED
    push.maintain_all()
    (channel,) = env["store"].channels("alice")
    assert channel.id != "lost" and channel.resource_id
    assert [c["id"] for c in _emulated(env)] == [channel.id]


def test_a_channel_google_refused_is_not_kept(env: dict[str, Any]) -> None:
    """Recorded before the call, a channel whose `events.watch` failed is forgotten."""
    push = _push(env)
    httpx.post(
        f"{env['url']}/_emulator/faults",
        json={
            "status": 400,
            "count": 1,
            "method": "POST",
            "path_prefix": "/calendar/v3/calendars/primary/events/watch",
        },
    )
    done = push.maintain_all()
    assert done.failed == 1
    assert env["store"].channels("alice") == []


def test_linking_opens_a_channel_and_a_new_account_replaces_it(
    env: dict[str, Any], tmp_path: Path
) -> None:
    """A new link opens its channel at once; linking another account stops the old
    account's channel and opens one on the new account's calendar."""
    store: Store = env["store"]
    store.delete_link("alice")
    push = _push(env)
    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    backend = LocalBackend(crm)
    settings = AppSettings(store, Settings(data_dir=tmp_path), backend)
    accounts = AccountService(store, backend, FakeGoogle(), settings, lock_wait=0, push=push)
    first = httpx.post(f"{env['url']}/_emulator/accounts/alice@example.com/tokens", json={})
    accounts.link_token("alice", first.json()["refresh_token"], "alice@example.com")
    assert [c["account"] for c in _emulated(env)] == ["alice@example.com"]

    other = httpx.post(f"{env['url']}/_emulator/accounts", json={"email": "al@example.com"})
    accounts.link_token("alice", other.json()["refresh_token"], "al@example.com")
    assert [c["account"] for c in _emulated(env)] == ["al@example.com"]
    assert len(store.channels("alice")) == 1
    crm.close()
