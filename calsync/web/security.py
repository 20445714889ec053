"""CSRF tokens, OAuth state and PKCE, the session signing key, and the admin account bootstrap.

Passwords are hashed (argon2id) by the store, through `calsync.passwords`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from calsync.state.records import Role
from calsync.web.store import SESSION_KEY_SETTING, WebStore

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


class LoginThrottle:
    """Refuse sign-ins for a while after repeated failures, per user name and per client.

    argon2 slows one guess down; this caps how many guesses a name or an address gets: after
    `per_name` failures for a name (or `per_client` from one address) within `window`
    seconds, sign-ins are refused until the oldest failure leaves the window. A success
    clears the name's failures. Kept in process: each web process counts on its own.
    """

    def __init__(
        self,
        per_name: int = 5,
        per_client: int = 20,
        window: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_name = per_name
        self.per_client = per_client
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures[key]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    def wait_seconds(self, name: str, client: str) -> float:
        """Return how long sign-ins for `name` from `client` stay refused (0: allowed)."""
        now = self._clock()
        with self._lock:
            waits = [
                seen[0] + self.window - now
                for key, limit in (
                    (f"n:{name.lower()}", self.per_name),
                    (f"c:{client}", self.per_client),
                )
                if len(seen := self._recent(key, now)) >= limit
            ]
        return max(waits, default=0.0)

    def failed(self, name: str, client: str) -> None:
        """Count a refused sign-in."""
        now = self._clock()
        with self._lock:
            for key in (f"n:{name.lower()}", f"c:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        """Forget the name's failures after a good sign-in."""
        with self._lock:
            self._failures.pop(f"n:{name.lower()}", None)
