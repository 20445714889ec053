"""Sign-in hardening: sessions ended on the server, throttling per (name, address) with
backoff in the state store, forwarded addresses only from trusted proxies, one password hash
per attempt whether the name exists or not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import calsync.passwords
from calsync.emulators.server import ServerThread
from calsync.state import Store
from calsync.web import create_app
from calsync.web.security import LoginThrottle, client_address
from tests.web.conftest import ADMIN_PASSWORD, STORE_KEY, WebEnv, application, csrf_of
from tests.web.fakes import FakeCrm

# -- sessions end on the server -------------------------------------------------------------


def _copy(client: httpx.Client, base_url: str) -> httpx.Client:
    """Return a new client holding a copy of `client`'s cookies (a stolen cookie)."""
    thief = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)
    for cookie in client.cookies.jar:
        thief.cookies.set(cookie.name, str(cookie.value), domain=cookie.domain, path=cookie.path)
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(web: WebEnv) -> None:
    """Signing out ends the session in the store: a copy of the cookie no longer signs in."""
    me = web.signed_in("alice")
    thief = _copy(me.http, web.url)
    assert thief.get("/me").status_code == 200
    assert me.post("/logout").status_code == 303
    r = thief.get("/me")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_password_change_signs_out_every_other_session(web: WebEnv) -> None:
    """The admin's new password ends their other sessions; the browser that changed it stays."""
    here = web.signed_in("admin")
    elsewhere = web.signed_in("admin")
    r = here.post(
        "/admin/password",
        {"current": ADMIN_PASSWORD, "new": "a-new-long-password", "confirm": "a-new-long-password"},
        page="/admin",
    )
    assert r.status_code == 303
    assert here.get("/admin").status_code == 200
    assert elsewhere.get("/admin").status_code == 303


def test_the_admin_signs_a_user_out_everywhere(web: WebEnv) -> None:
    """The admin page's "Sign out" for a user ends every session of that user, and only theirs."""
    alice = web.signed_in("alice")
    bob = web.signed_in("bob")
    admin = web.signed_in("admin")
    assert 'action="/admin/users/alice/sign-out"' in admin.get("/admin").text
    assert admin.post("/admin/users/alice/sign-out", page="/admin").status_code == 303
    assert alice.get("/me").status_code == 303
    assert bob.get("/me").status_code == 200
    assert admin.get("/admin").status_code == 200


def test_a_removed_user_is_signed_out(web: WebEnv) -> None:
    """Removing an account ends its sessions."""
    alice = web.signed_in("alice")
    web.store.delete_user("alice")
    assert alice.get("/me").status_code == 303


# -- throttling --------------------------------------------------------------------------------


def _fail(client: httpx.Client, name: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": "wrong", "csrf_token": token},
        headers=headers,
    )


def _sign_in(
    client: httpx.Client, name: str, password: str, address: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        headers=headers,
    )


@pytest.fixture
def proxied(store: Store, tmp_path: Path) -> Iterator[str]:
    """The web app behind a trusted proxy on 127.0.0.1 (so X-Forwarded-For names the client)."""
    app = create_app(
        application(store, tmp_path, trusted_proxies=("127.0.0.1",)),
        crm_auth=FakeCrm({"alice": "alice-pass"}),
    )
    with ServerThread(app) as server:
        yield server.url


def test_guesses_from_one_address_never_lock_the_admin_out_elsewhere(proxied: str) -> None:
    """Five wrong passwords for admin from one address make that address wait (429 with
    Retry-After); the admin signing in from another address is not affected."""
    attacker = httpx.Client(base_url=proxied, follow_redirects=False, timeout=20)
    for _ in range(5):
        assert _fail(attacker, "admin", "203.0.113.9").status_code == 401
    r = _sign_in(attacker, "admin", ADMIN_PASSWORD, "203.0.113.9")
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    assert 0 < int(r.headers["retry-after"]) <= 30
    admin = httpx.Client(base_url=proxied, follow_redirects=False, timeout=20)
    r = _sign_in(admin, "admin", ADMIN_PASSWORD, "198.51.100.7")
    assert r.status_code == 303 and r.headers["location"] == "/admin"


def test_forwarded_for_is_ignored_from_a_peer_that_is_no_trusted_proxy(web: WebEnv) -> None:
    """Without configured proxies, a client cannot pick the address it is counted under."""
    client = web.client()
    assert _fail(client, "alice", "203.0.113.9").status_code == 401
    assert web.store.login_failures("alice", "127.0.0.1", timedelta(days=1)) is not None
    assert web.store.login_failures("alice", "203.0.113.9", timedelta(days=1)) is None


def test_every_web_process_sees_the_same_failures(web: WebEnv, tmp_path: Path) -> None:
    """Failures counted by one process throttle the next attempt served by another."""
    other_store = Store.open(str(web.store.engine.url), STORE_KEY)
    (tmp_path / "other").mkdir()
    other = create_app(application(other_store, tmp_path / "other"), crm_auth=FakeCrm({}))
    first = web.client()
    for _ in range(5):
        assert _fail(first, "admin").status_code == 401
    with ServerThread(other) as server:
        second = httpx.Client(base_url=server.url, follow_redirects=False, timeout=20)
        assert _sign_in(second, "admin", ADMIN_PASSWORD).status_code == 429
    other_store.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_wait_doubles_with_each_failure_up_to_a_cap(tmp_path: Path) -> None:
    """Free attempts first, then 30 s, 60 s, 120 s ... never more than the cap; another
    address is not slowed; a good sign-in clears that (name, address); a quiet day forgets."""
    clock = Clock()
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", STORE_KEY, now=clock) as store:
        store.migrate()
        throttle = LoginThrottle(store, free=3, cap=timedelta(minutes=5), now=clock)
        waits = []
        for _ in range(8):  # each guess comes as soon as it is let through
            assert throttle.reserve("carol", "10.0.0.1") == 0
            throttle.failed("Carol", "10.0.0.1")
            wait = throttle.wait_seconds("CAROL", "10.0.0.1")
            waits.append(wait)
            clock.now += timedelta(seconds=wait / 2)
            assert throttle.wait_seconds("carol", "10.0.0.1") == wait / 2  # still waiting
            clock.now += timedelta(seconds=wait / 2)
        assert waits == [0, 0, 30, 60, 120, 240, 300, 300]
        assert throttle.reserve("carol", "10.0.0.1") == 0
        assert throttle.reserve("carol", "10.0.0.1") == 300  # refused, and not counted
        assert throttle.reserve("carol", "10.0.0.2") == 0
        throttle.succeeded("carol", "10.0.0.1")
        assert throttle.wait_seconds("carol", "10.0.0.1") == 0
        for _ in range(3):
            assert throttle.reserve("dave", "10.0.0.3") == 0
        assert throttle.wait_seconds("dave", "10.0.0.3") == 30
        clock.now += timedelta(days=1)
        assert throttle.wait_seconds("dave", "10.0.0.3") == 0


def test_a_burst_of_guesses_gets_no_more_tries_than_one_at_a_time(proxied: str) -> None:
    """Twenty wrong passwords sent at once for one name from one address: the backoff lets
    exactly the five free ones be checked; the others are refused before any password check."""
    from concurrent.futures import ThreadPoolExecutor

    client = httpx.Client(base_url=proxied, follow_redirects=False, timeout=60)
    token = csrf_of(client.get("/login").text)

    def guess(n: int) -> int:
        r = client.post(
            "/login",
            data={"username": "admin", "password": f"guess-{n}", "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.50"},
        )
        return r.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = sorted(pool.map(guess, range(20)))
    assert codes == [401] * 5 + [429] * 15


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_racing_reservations_let_through_only_the_free_attempts(
    backend: str, tmp_path: Path
) -> None:
    """Twenty processes' worth of attempts racing on one pair: exactly `free` get through,
    on SQLite and on PostgreSQL."""
    import os
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    from tests.pg import PG_ENV, fresh_database

    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 's.db'}"
        else:
            if not os.environ.get(PG_ENV):
                pytest.skip(f"{PG_ENV} is not set")
            url = stack.enter_context(fresh_database(os.environ[PG_ENV], "calsync_signin"))
        store = stack.enter_context(Store.open(url, STORE_KEY))
        store.migrate()
        throttle = LoginThrottle(store, free=5)
        with ThreadPoolExecutor(max_workers=20) as pool:
            waits = list(pool.map(lambda _: throttle.reserve("admin", "10.0.0.1"), range(20)))
        assert waits.count(0) == 5
        assert all(w > 0 for w in waits if w != 0)


def test_an_address_guessing_many_names_is_slowed_down_too(tmp_path: Path) -> None:
    """Spraying one password over many names from one address meets the same backoff."""
    clock = Clock()
    with Store.open(f"sqlite:///{tmp_path / 's.db'}", STORE_KEY, now=clock) as store:
        store.migrate()
        throttle = LoginThrottle(store, free_per_address=10, now=clock)
        for n in range(10):
            throttle.failed(f"user{n}", "10.0.0.9")
        assert throttle.wait_seconds("someone-else", "10.0.0.9") == 30
        assert throttle.wait_seconds("someone-else", "10.0.0.10") == 0


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "10.0.0.5"),  # peer is no proxy: header ignored
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client wrote 6.6.6.6
        ("127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # two proxies in a row
        ("127.0.0.1", "garbage", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address_believes_only_trusted_proxies(
    peer: str, header: str | None, expected: str
) -> None:
    """X-Forwarded-For is read right to left through trusted proxies only."""
    import ipaddress

    trusted = [ipaddress.ip_network(n) for n in ("127.0.0.1/32", "10.1.0.0/16", "::1/128")]
    assert client_address(peer, header, trusted) == expected


def test_trusted_proxies_setting_takes_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CALSYNC_TRUSTED_PROXIES is a list of addresses or networks; a wrong one is refused."""
    from calsync.config import load_settings
    from calsync.errors import ConfigError

    monkeypatch.setenv("CALSYNC_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert load_settings().trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    monkeypatch.setenv("CALSYNC_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ConfigError, match="CALSYNC_TRUSTED_PROXIES"):
        load_settings()
    monkeypatch.delenv("CALSYNC_TRUSTED_PROXIES")
    assert load_settings().trusted_proxies == ()


# -- no name oracle ----------------------------------------------------------------------------


class CountingHasher:
    """Wraps the real argon2 hasher and counts the verifications."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, hash: str, password: str) -> bool:
        self.verified.append(hash)
        return bool(self.real.verify(hash, password))

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, hash: str) -> bool:
        return bool(self.real.check_needs_rehash(hash))


def test_an_unknown_name_costs_the_same_password_hash_as_a_known_one(
    web: WebEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password for the admin and any password for a name no one has both run one
    argon2 verification (the unknown name against a dummy hash)."""
    hasher = CountingHasher(calsync.passwords._HASHER)
    monkeypatch.setattr(calsync.passwords, "_HASHER", hasher)
    client = web.client()
    assert _fail(client, "admin").status_code == 401
    known = list(hasher.verified)
    hasher.verified.clear()
    assert _fail(client, "nobody-by-this-name").status_code == 401
    unknown = list(hasher.verified)
    assert len(known) == 1 and len(unknown) == 1
    assert known != unknown  # the dummy hash, not the admin's
    hasher.verified.clear()
    assert _fail(client, "alice").status_code == 401  # a CRM user without a calsync password
    assert len(hasher.verified) == 1


# -- Redis, when configured ----------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A client of the local Redis server (skipped when none answers)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield client
    client.close()


def test_redis_counts_forgets_and_clears_like_the_store(redis_client: Any) -> None:
    """The Redis counter has the store's behaviour, and Redis expires a quiet pair itself."""
    import uuid

    from calsync.web.redis_counter import RedisFailureCounter

    clock = Clock()
    prefix = f"calsync-test:{uuid.uuid4().hex}:"
    counter = RedisFailureCounter(redis_client, prefix=prefix, now=clock)
    forget = timedelta(hours=24)
    try:
        assert counter.add_login_failure("admin", "10.0.0.1", forget) == 1
        assert counter.add_login_failure("admin", "10.0.0.1", forget) == 2
        assert counter.add_login_failure("admin", "10.0.0.2", forget) == 1
        assert counter.login_failures("admin", "10.0.0.1", forget) == (2, clock.now)
        keys = redis_client.keys(f"{prefix}*")
        assert len(keys) == 2
        assert all(0 < redis_client.ttl(k) <= 24 * 3600 for k in keys)
        clock.now += forget
        assert counter.login_failures("admin", "10.0.0.1", forget) is None
        counter.clear_login_failures("admin", "10.0.0.2")
        assert counter.login_failures("admin", "10.0.0.2", forget) is None
        assert counter.add_login_failure_if("bob", "10.0.0.4", 0, forget)
        assert not counter.add_login_failure_if("bob", "10.0.0.4", 0, forget)  # one got there
        assert counter.add_login_failure_if("bob", "10.0.0.4", 1, forget)
        assert counter.login_failures("bob", "10.0.0.4", forget) == (2, clock.now)
        throttle = LoginThrottle(counter, free=2, now=clock)
        assert throttle.reserve("eve", "10.0.0.3") == 0
        assert throttle.reserve("eve", "10.0.0.3") == 0
        assert throttle.reserve("eve", "10.0.0.3") == 30
    finally:
        for k in redis_client.keys(f"{prefix}*"):
            redis_client.delete(k)


def test_with_redis_configured_every_process_counts_there(
    redis_client: Any, store: Store, tmp_path: Path
) -> None:
    """With CALSYNC_REDIS_URL, two web processes on different databases share the counts,
    and nothing is counted in the state store."""
    from calsync.web.redis_counter import RedisFailureCounter

    counter = RedisFailureCounter(redis_client)
    pairs = [("admin", "127.0.0.1"), ("", "127.0.0.1")]

    def clear() -> None:
        for name, address in pairs:
            counter.clear_login_failures(name, address)

    clear()
    other_store = Store.open(f"sqlite:///{tmp_path / 'other.db'}", STORE_KEY)
    other_store.migrate()
    (tmp_path / "other").mkdir()
    first = create_app(application(store, tmp_path, redis_url=REDIS_URL), crm_auth=FakeCrm({}))
    second = create_app(
        application(other_store, tmp_path / "other", redis_url=REDIS_URL), crm_auth=FakeCrm({})
    )
    try:
        with ServerThread(first) as a, ServerThread(second) as b:
            client = httpx.Client(base_url=a.url, follow_redirects=False, timeout=20)
            for _ in range(5):
                assert _fail(client, "admin").status_code == 401
            other = httpx.Client(base_url=b.url, follow_redirects=False, timeout=20)
            assert _sign_in(other, "admin", "anything", None).status_code == 429
        assert store.login_failures("admin", "127.0.0.1", timedelta(days=1)) is None
    finally:
        clear()
        other_store.close()


def test_the_embedded_crm_hashes_for_a_name_it_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing in through the embedded CRM costs one hash whether the CRM user exists or not."""
    from calsync.sides.crm import LocalBackend
    from calsync.sides.local.crm import LocalCrm

    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    crm.create_user("carol", password="carol-pass", email="carol@example.com")
    backend = LocalBackend(crm)
    hasher = CountingHasher(calsync.passwords._HASHER)
    monkeypatch.setattr(calsync.passwords, "_HASHER", hasher)
    assert not backend.authenticate("carol", "wrong")
    assert not backend.authenticate("nobody-here", "wrong")
    assert backend.authenticate("carol", "carol-pass")
    assert len(hasher.verified) == 3
    crm.close()
