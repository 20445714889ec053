"""The account service: one "paused", reset and disconnect under the user's lock, link,
the calendar lists, and the admin's settings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calsync.config import Settings
from calsync.engine.pairs import Kind, Pair
from calsync.errors import TransientError
from calsync.service import (
    AccountService,
    AppSettings,
    SettingsRefused,
    UserBusy,
)
from calsync.sides.crm import LocalBackend
from calsync.sides.local.crm import LocalCrm
from calsync.state import Store
from calsync.state.records import LinkStatus
from tests.web.fakes import FakeGoogle

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        store.upsert_user("alice")
        yield store


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
def accounts(store: Store, google: FakeGoogle, tmp_path: Path) -> Iterator[AccountService]:
    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    crm.create_user("alice", email="alice@example.com")
    backend = LocalBackend(crm)
    config = Settings(
        data_dir=tmp_path, google_client_id="cid.example", google_client_secret="secret"
    )
    yield AccountService(store, backend, google, AppSettings(store, config, backend), lock_wait=0)
    crm.close()


def _state(store: Store) -> None:
    store.put_pair(Pair("alice", Kind.EVENT, "k1", "crm-1", "g-1"))
    store.set_cursor("alice", "google:primary", "token-1")
    store.commit()


def test_paused_is_the_preference_alone(store: Store, accounts: AccountService) -> None:
    """Pause and resume change the preference; the link keeps saying whether Google accepts it."""
    store.set_link("alice", "alice@example.com", "rt")
    accounts.pause("alice")
    assert store.get_prefs("alice").paused is True
    link = store.get_link("alice")
    assert link is not None and link.status is LinkStatus.OK
    assert accounts.sync_refusal("alice") == "Sync is paused: resume it first."
    accounts.resume("alice")
    assert store.get_prefs("alice").paused is False
    assert accounts.sync_refusal("alice") is None
    assert [s.value for s in LinkStatus] == ["ok", "needs_reconnect"]


def test_reset_refuses_while_a_round_holds_the_lock(store: Store, accounts: AccountService) -> None:
    """A round holding the user's lock keeps its state: reset is refused, nothing is wiped."""
    _state(store)
    with store.user_lock("alice"), pytest.raises(UserBusy):
        accounts.reset("alice")
    assert [p.key for p in store.pairs("alice", Kind.EVENT)] == ["k1"]
    assert store.cursor("alice", "google:primary") == "token-1"
    accounts.reset("alice")
    assert store.pairs("alice", Kind.EVENT) == []
    assert store.cursor("alice", "google:primary") is None


def test_reset_waits_for_the_round_to_end(store: Store, accounts: AccountService) -> None:
    """With time to wait, reset runs once the round has released the lock, not before."""
    _state(store)
    accounts.lock_wait = 30
    held, release = threading.Event(), threading.Event()
    pairs_at_release: list[int] = []

    def round_() -> None:
        with store.user_lock("alice"):
            held.set()
            release.wait(30)
            pairs_at_release.append(len(store.pairs("alice", Kind.EVENT)))

    holder = threading.Thread(target=round_)
    holder.start()
    assert held.wait(30)
    resetter = threading.Thread(target=accounts.reset, args=("alice",))
    resetter.start()
    release.set()
    holder.join(30)
    resetter.join(30)
    assert pairs_at_release == [1]  # the round's state was intact until it let go
    assert store.pairs("alice", Kind.EVENT) == []


def test_disconnect_waits_for_the_lock_too(store: Store, accounts: AccountService) -> None:
    """Disconnect is refused while a round runs; then it revokes and forgets the link."""
    store.set_link("alice", "alice@example.com", "rt-alice")
    with store.user_lock("alice"), pytest.raises(UserBusy):
        accounts.disconnect("alice")
    assert store.get_link("alice") is not None
    done = accounts.disconnect("alice")
    assert done is not None and (done.email, done.revoked) == ("alice@example.com", True)
    assert store.get_link("alice") is None
    assert accounts.google.revoked == ["rt-alice"]  # type: ignore[attr-defined]
    assert accounts.disconnect("alice") is None


def test_disconnect_forgets_the_link_even_when_revoking_fails(
    store: Store, accounts: AccountService, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google being down does not keep the link; the user is told to revoke by hand."""
    store.set_link("alice", "alice@example.com", "rt-alice")

    def down(client: object, token: str) -> None:
        raise TransientError("revoke failed: 503")

    monkeypatch.setattr(google, "revoke", down)
    done = accounts.disconnect("alice")
    assert done is not None and not done.revoked
    assert store.get_link("alice") is None


def test_link_stores_the_account_and_says_what_it_replaced(
    store: Store, accounts: AccountService, google: FakeGoogle
) -> None:
    """The exchanged grant is stored; linking another account names the one replaced."""
    first = accounts.link(
        "alice", code=google.issue_code("a@example.com"), redirect_uri="r", code_verifier="v"
    )
    assert (first.email, first.replaced) == ("a@example.com", None)
    second = accounts.link(
        "alice",
        code=google.issue_code("b@example.com"),
        redirect_uri="r",
        code_verifier="v",
        scopes=["s1"],
    )
    assert (second.email, second.replaced) == ("b@example.com", "a@example.com")
    link = store.get_link("alice")
    assert link is not None and link.refresh_token == "rt-code-1" and link.scopes == ("s1",)


def test_a_refused_grant_flags_the_link_other_failures_do_not(
    store: Store, accounts: AccountService, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """invalid_grant while listing calendars means reconnect; Google being down does not."""
    store.set_link("alice", "alice@example.com", "rt")

    def down(client: object, token: str) -> list[object]:
        raise TransientError("503")

    with monkeypatch.context() as m:
        m.setattr(google, "calendars", down)
        assert "Could not read your calendars" in accounts.google_lists("alice").error
    link = store.get_link("alice")
    assert link is not None and link.status is LinkStatus.OK
    google.refuse_refresh = True
    assert "please reconnect" in accounts.google_lists("alice").error
    link = store.get_link("alice")
    assert link is not None and link.status is LinkStatus.NEEDS_RECONNECT


def test_google_lists_are_read_once_and_kept(
    store: Store, accounts: AccountService, google: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings page reads the account's lists once; reloads within the minute reuse them."""
    store.set_link("alice", "alice@example.com", "rt")
    reads: list[str] = []
    real = google.calendars

    def counting(client: Any, token: str) -> Any:
        reads.append(token)
        return real(client, token)

    monkeypatch.setattr(google, "calendars", counting)
    first = accounts.google_lists("alice")
    assert first.calendars and accounts.google_lists("alice") == first
    assert reads == ["rt"]


def test_admin_settings_win_over_the_configuration(accounts: AccountService) -> None:
    """What the admin page saves is the client in force; a bad form stores nothing."""
    settings = accounts.settings
    assert settings.google().client_id == "cid.example"
    with pytest.raises(SettingsRefused) as refused:
        settings.save_google_client(
            client_id="new id", client_secret="", daily_budget="0", redirect_uri="ftp://x"
        )
    assert set(refused.value.errors) == {"client_id", "daily_budget", "redirect_uri"}
    assert settings.google().client_id == "cid.example"
    settings.save_google_client(
        client_id="new.example", client_secret="", daily_budget="5000", redirect_uri=""
    )
    client = settings.google()
    assert (client.client_id, client.client_secret) == ("new.example", "secret")
    assert settings.daily_budget() == 5000
