"""CSRF tokens, the session signing key, the admin account bootstrap, sign-in throttling and
the client's address behind trusted proxies.

Passwords are hashed (argon2id) by the store, through `calsync.passwords`.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from calsync.model import utcnow
from calsync.state.records import Role
from calsync.web.store import SESSION_KEY_SETTING, FailureCounter, WebStore

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_RESERVE_TRIES = 32
"""Tries at counting a sign-in while others for the same pair race it. Each lost try means
another attempt was counted, and the backoff stops them after a few, so this bound is only a
guard."""

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def new_token(nbytes: int = 32) -> str:
    """Return a random URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Return True when both tokens are present and equal (constant time)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def create_admin(store: WebStore, name: str = "admin", password: str | None = None) -> str:
    """Create (or reset) the admin account `name` and return its password.

    A random one-time password is made when none is given; the caller shows it once.
    `calsync users create-admin` calls this.
    """
    if not name.strip():
        raise ValueError("the admin needs a name")
    password = password or secrets.token_urlsafe(12)
    store.upsert_user(name, role=Role.ADMIN)
    store.set_password(name, password)
    return password


def ensure_admin(store: WebStore, name: str = "admin") -> str | None:
    """Create the admin account on first run; return its one-time password, or None."""
    if any(u.role == Role.ADMIN for u in store.list_users()):
        return None
    return create_admin(store, name)


def session_key(store: WebStore) -> str:
    """Return the key signing session cookies, made on first use and kept encrypted.

    Kept in the database, so every process serving the app accepts the same sessions.
    """
    key = store.get_setting(SESSION_KEY_SETTING)
    if not key:
        key = secrets.token_urlsafe(48)
        store.set_setting(SESSION_KEY_SETTING, key, secret=True)
    return key


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """Return the client's address: the peer's, unless the peer is a trusted proxy.

    Behind trusted proxies, `X-Forwarded-For` is read from the right (the entries the proxies
    appended) and the first address that is not itself a trusted proxy is the client; what a
    client writes in the header itself never counts.
    """
    address = peer or "?"
    if not forwarded_for or not _in(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a garbled chain: stay with the last address known good
        if not _in(hop, trusted):
            return hop
        address = hop
    return address


def _in(address: str, networks: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class LoginThrottle:
    """Slow down password guessing with an exponential backoff per (name, address).

    The first `free` failures for a name from one address cost nothing; from then on each
    failure makes the next attempt wait twice as long (`base`, 2×`base`, ... up to `cap`).
    Failures from another address do not count, so an attacker elsewhere never locks a user
    (the admin included) out. An address guessing many names meets the same backoff after
    `free_per_address` failures. A good sign-in clears its (name, address) count; a quiet
    `forget` clears any. The counts live in the state store (or Redis), shared by every web
    process.
    """

    def __init__(
        self,
        store: FailureCounter,
        *,
        free: int = 5,
        free_per_address: int = 50,
        base: timedelta = timedelta(seconds=30),
        cap: timedelta = timedelta(minutes=15),
        forget: timedelta = timedelta(hours=24),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.free = free
        self.free_per_address = free_per_address
        self.base = base
        self.cap = cap
        self.forget = forget
        self._now = now

    def _keys(self, name: str, client: str) -> tuple[tuple[str, str, int], tuple[str, str, int]]:
        # '' stands for "any name" (names are never empty here: an empty one is refused first).
        return (
            (name.lower()[:255], client[:64], self.free),
            ("", client[:64], self.free_per_address),
        )

    def _wait(self, seen: tuple[int, datetime] | None, free: int, now: datetime) -> float:
        if seen is None or seen[0] < free:
            return 0.0
        failures, last = seen
        delay = min(self.base * (1 << min(failures - free, 32)), self.cap)
        return max(0.0, (last + delay - now).total_seconds())

    def wait_seconds(self, name: str, client: str) -> float:
        """Return how long sign-ins for `name` from `client` must still wait (0: go ahead)."""
        now = self._now()
        return max(
            self._wait(self.store.login_failures(key, address, self.forget), free, now)
            for key, address, free in self._keys(name, client)
        )

    def reserve(self, name: str, client: str) -> float:
        """Let one sign-in attempt for `name` from `client` through, or say how long to wait.

        An attempt let through is counted as a failure of its (name, address) before the
        password is checked (`succeeded` takes it back): of many attempts sent at once, only
        as many as the backoff allows get through, in every process. Return 0 when this
        attempt may go ahead, else the seconds to wait (nothing counted then).
        """
        (key, address, free), (_, _, free_any) = self._keys(name, client)
        for _ in range(_RESERVE_TRIES):
            now = self._now()
            seen = self.store.login_failures(key, address, self.forget)
            wait = max(
                self._wait(seen, free, now),
                self._wait(self.store.login_failures("", address, self.forget), free_any, now),
            )
            if wait > 0:
                return wait
            expected = seen[0] if seen else 0
            if self.store.add_login_failure_if(key, address, expected, self.forget):
                return 0.0
            # Another attempt for the same pair was counted in between: look again.
        return self.base.total_seconds()

    def failed(self, name: str, client: str) -> None:
        """Count a refused sign-in against its address (its pair was counted by `reserve`)."""
        _, (key, address, _) = self._keys(name, client)
        self.store.add_login_failure(key, address, self.forget)

    def succeeded(self, name: str, client: str) -> None:
        """Forget the failures of `name` from `client` after a good sign-in."""
        key, address, _ = self._keys(name, client)[0]
        self.store.clear_login_failures(key, address)
