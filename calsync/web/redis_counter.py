"""Failed sign-ins counted in Redis (`CALSYNC_REDIS_URL`) instead of the state store.

One hash per (name, address) holding the count and the time of the last failure; Redis
expires it `forget` after the last failure, so nothing needs pruning. Needs the `redis`
package (the `redis` extra).

Public API: `RedisFailureCounter`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.model import utcnow


class RedisFailureCounter:
    """A `FailureCounter` on Redis, shared by every web process that uses the same server."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "calsync:login-failures:",
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._now = now

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisFailureCounter:
        """Return a counter on the Redis server at `url` (no connection made yet)."""
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5), **options)

    def _key(self, name: str, address: str) -> str:
        # Hashed: a user name may hold any character, and Redis keys are shown to operators.
        digest = hashlib.sha256(f"{name}\0{address}".encode()).hexdigest()
        return self._prefix + digest

    def add_login_failure(self, name: str, address: str, forget: timedelta) -> int:
        """Count one failed sign-in for (`name`, `address`); return the failures counted."""
        key = self._key(name, address)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hincrby(key, "failures", 1)
        pipe.hset(key, "last_at", repr(self._now().timestamp()))
        pipe.expire(key, max(1, int(forget.total_seconds())))
        counted, _, _ = pipe.execute()
        return int(counted)

    def login_failures(
        self, name: str, address: str, forget: timedelta
    ) -> tuple[int, datetime] | None:
        """Return (failures, time of the last one) for (`name`, `address`), or None."""
        return self._read(self._redis, self._key(name, address), forget)

    def add_login_failure_if(
        self, name: str, address: str, expected: int, forget: timedelta
    ) -> bool:
        """Count one failure for (`name`, `address`) only if `expected` are counted now
        (0: none, or forgotten); return False, counting nothing, when another got there first.
        """
        from redis.exceptions import WatchError

        key = self._key(name, address)
        with self._redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)  # the transaction fails if anyone changes the key meanwhile
                seen = self._read(pipe, key, forget)
                if (seen[0] if seen else 0) != expected:
                    pipe.unwatch()
                    return False
                pipe.multi()
                if expected == 0:
                    pipe.delete(key)  # a forgotten count starts again from one
                pipe.hincrby(key, "failures", 1)
                pipe.hset(key, "last_at", repr(self._now().timestamp()))
                pipe.expire(key, max(1, int(forget.total_seconds())))
                pipe.execute()
            except WatchError:
                return False
        return True

    def _read(self, client: Any, key: str, forget: timedelta) -> tuple[int, datetime] | None:
        failures, last_at = client.hmget(key, ["failures", "last_at"])
        if failures is None or last_at is None:
            return None
        last = datetime.fromtimestamp(float(last_at), UTC)
        if last <= self._now() - forget:
            return None
        return int(failures), last

    def clear_login_failures(self, name: str, address: str) -> None:
        """Forget the failures of (`name`, `address`)."""
        self._redis.delete(self._key(name, address))
