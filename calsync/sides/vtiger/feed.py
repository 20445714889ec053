"""One application-wide `sync` per round, shared by every user's side (admin access key).

With an admin key, `syncType=application` returns all users' changes in one feed; each
user's side takes its part (`SyncResult.for_owner`, routed by `assigned_user_id`). Because
every part keeps the feed's global `lastModifiedTime`, users synced in the same round share
one cursor and so one fetch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from calsync.sides.vtiger.client import SyncResult, VtigerClient


class ApplicationFeed:
    """Cache of application-wide sync results keyed by (module, cursor), valid for one round.

    Call `new_round()` before each sync round; entries also expire after `ttl` seconds so a
    forgotten call never serves stale changes for long.
    """

    def __init__(
        self,
        client: VtigerClient,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: TTLCache[tuple[str, int], SyncResult] = TTLCache(
            maxsize=256, ttl=ttl, timer=clock
        )
        self.fetches = 0
        """How many application-wide fetches ran (for tests and metrics)."""

    def new_round(self) -> None:
        """Forget every cached result: the next request reads vtiger again."""
        with self._lock:
            self._cache.clear()

    def changes(self, module: str, since: int) -> SyncResult:
        """Return all users' changes to `module` since `since` (fetched once per round)."""
        key = (module, since)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            result = self.client.sync(module, since, "application")
            self.fetches += 1
            self._cache[key] = result
            return result

    def for_user(self, module: str, since: int, user_ws_id: str) -> SyncResult:
        """Return one user's part of the round's feed."""
        return self.changes(module, since).for_owner(user_ws_id)
