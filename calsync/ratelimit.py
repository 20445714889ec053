"""Per-minute rate limits on Google calls: one token bucket per user and one for the project.

Public API:
- `RateLimiter(per_user=600, per_project=10_000, buckets=...)` with `acquire(user, n)`: waits
  until both buckets hold `n` tokens and takes them (all or none), so calsync slows down
  instead of collecting Google's 403/429 `rateLimitExceeded`.
- `TokenBuckets`: where the buckets live. `MemoryBuckets` keeps them in this process
  (thread-safe: users sync in parallel threads); `RedisBuckets` keeps them in Redis, so every
  process on every machine shares the project bucket (one Lua script takes from both buckets
  atomically) and falls back to its own in-process buckets while Redis cannot be reached.
- `buckets_for(redis_url)`: the Redis buckets for a URL, or in-process ones for None.

Google counts its per-minute quotas over a sliding window of one minute, so a bucket here
gives each token back one window after it was spent (a bucket refilled at a steady rate
would let a full bucket's burst and a minute of refill into one window: twice the quota).
A bucket of 600 therefore lets 600 calls through at once, then each next call waits for the
oldest of them to be a minute old.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from calsync.errors import ConfigError, QuotaError

if TYPE_CHECKING:
    import redis

_LOGGER = logging.getLogger(__name__)

GOOGLE_USER_PER_MINUTE = 600
"""Google's default Calendar API quota of requests per minute per user per project."""
GOOGLE_PROJECT_PER_MINUTE = 10_000
"""Google's default Calendar API quota of requests per minute per project."""

FORGET_EVERY = 10_000
"""In-process buckets forget their idle buckets once every this many takes."""

RETRY_REDIS_AFTER = 30
"""Seconds the in-process buckets stand in for Redis after it could not be reached."""

Bucket = tuple[str, int]
"""A bucket's name and its size (tokens per window)."""


class TokenBuckets(Protocol):
    """Token buckets whose tokens come back one window after they were spent."""

    def take(self, buckets: Sequence[Bucket], n: int, now: float, window: float) -> float:
        """Take `n` tokens from every bucket at time `now`, all or none.

        Return 0.0 when they were taken, else the seconds until they could be (nothing taken).
        """
        ...


class _Log:
    """One in-process bucket: when its tokens were spent, oldest first, and how many of them
    are still within the window (kept as it changes, so a take need not add up the log)."""

    __slots__ = ("spent", "used")

    def __init__(self) -> None:
        self.spent: deque[tuple[float, int]] = deque()
        self.used = 0

    def expire(self, now: float, window: float) -> None:
        """Give back the tokens spent a window or more before `now`."""
        spent = self.spent
        while spent and spent[0][0] <= now - window:
            self.used -= spent.popleft()[1]

    def wait(self, size: int, n: int, now: float, window: float) -> float:
        """Return the seconds until `n` more tokens fit in `size` (0.0: they fit now)."""
        self.expire(now, window)
        if self.used + n <= size:
            return 0.0
        # Full: wait until enough of the oldest tokens are a window old.
        freed = 0
        for stamp, count in self.spent:
            freed += count
            if self.used - freed + n <= size:
                return stamp + window - now
        return window


class MemoryBuckets:
    """Buckets in this process: each a log of when its tokens were spent, under one lock.

    A take costs O(1) amortized: each log keeps its running total, and each spent token is
    given back once; only a full bucket scans its log (for how long to wait).
    """

    def __init__(self) -> None:
        self._spent: dict[str, _Log] = {}
        self._lock = threading.Lock()
        self._takes = 0

    def take(self, buckets: Sequence[Bucket], n: int, now: float, window: float) -> float:
        with self._lock:
            wait = 0.0
            for name, size in buckets:
                log = self._spent.get(name)
                if log is not None:
                    wait = max(wait, log.wait(size, n, now, window))
            if wait > 0:
                return wait
            for name, _ in buckets:
                log = self._spent.get(name)
                if log is None:
                    log = self._spent[name] = _Log()
                log.spent.append((now, n))
                log.used += n
            self._takes += 1
            if self._takes % FORGET_EVERY == 0:
                # Forget the buckets that are full again (users not synced for a while); a
                # bucket emptied by a refused take has no last token at all.
                for k in [
                    k
                    for k, log in self._spent.items()
                    if not log.spent or log.spent[-1][0] <= now - window
                ]:
                    del self._spent[k]
            return 0.0

    def used(self, name: str, now: float, window: float) -> int:
        """Return the tokens of bucket `name` spent within the window before `now`."""
        with self._lock:
            log = self._spent.get(name)
            if log is None:
                return 0
            log.expire(now, window)
            return log.used


# KEYS: the buckets (sorted sets of spent tokens, scored by when they were spent).
# ARGV: n, now, window, a unique id for this take, then the size of each bucket.
# Returns "0" when the tokens were taken, else the seconds to wait (as a string: Lua numbers
# become integers on their way out of a script).
_TAKE = """
local n = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local id = ARGV[4]
local wait = 0
for i, key in ipairs(KEYS) do
  local size = tonumber(ARGV[4 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if used + n > size then
    local oldest = used + n - size
    local w = window
    if oldest <= used then
      local row = redis.call('ZRANGE', key, oldest - 1, oldest - 1, 'WITHSCORES')
      w = tonumber(row[2]) + window - now
    end
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
local ttl = math.ceil(window * 1000) + 1000
for _, key in ipairs(KEYS) do
  local args = {}
  for j = 1, n do
    args[#args + 1] = now
    args[#args + 1] = id .. ':' .. j
  end
  redis.call('ZADD', key, unpack(args))
  redis.call('PEXPIRE', key, ttl)
end
return '0'
"""


class RedisBuckets:
    """Buckets in Redis, shared by every process that uses the same Redis and `prefix`.

    Each bucket is a sorted set of its spent tokens (one member per call, scored by the time
    it was spent) that expires a window after its last token; one Lua script checks and takes
    from every bucket of a call atomically. While Redis cannot be reached the limiter keeps
    going on in-process buckets (logged), rather than stopping every sync.
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "calsync:rate") -> None:
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_TAKE)
        self._fallback = MemoryBuckets()
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "calsync:rate") -> RedisBuckets:
        """Return buckets in the Redis at `url` (no connection is made yet)."""
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "sharing the Google rate limits through Redis needs the `redis` package "
                "(install calsync with the `redis` extra)"
            ) from None
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix=prefix)

    def take(self, buckets: Sequence[Bucket], n: int, now: float, window: float) -> float:
        import redis

        if time.monotonic() < self._down_until:
            return self._fallback.take(buckets, n, now, window)
        keys = [f"{self._prefix}:{name}" for name, _ in buckets]
        args: list[str | int] = [n, repr(now), repr(window), uuid.uuid4().hex]
        args += [size for _, size in buckets]
        try:
            reply = self._script(keys=keys, args=args)
        except redis.RedisError as err:
            # Asked again only after a pause: every call waiting on a dead server's timeout
            # would slow the syncs more than the limits do.
            self._down_until = time.monotonic() + RETRY_REDIS_AFTER
            _LOGGER.warning(
                "Google rate limits: Redis unavailable (%s); limiting in this process for %ds",
                err,
                RETRY_REDIS_AFTER,
            )
            return self._fallback.take(buckets, n, now, window)
        return float(reply.decode() if isinstance(reply, bytes) else reply)


def buckets_for(redis_url: str | None) -> TokenBuckets:
    """Return buckets shared through the Redis at `redis_url`, or this process's for None."""
    return RedisBuckets.from_url(redis_url) if redis_url else MemoryBuckets()


class RateLimiter:
    """Waits for a token of the user's bucket and of the project's before each Google call.

    A call that would have to wait longer than `max_wait` in all raises QuotaError (not
    retried within the round): its work stays for a later round. Waits get a little jitter,
    so threads waiting on the same bucket do not all come back at the same instant.
    """

    def __init__(
        self,
        *,
        per_user: int | None = GOOGLE_USER_PER_MINUTE,
        per_project: int | None = GOOGLE_PROJECT_PER_MINUTE,
        buckets: TokenBuckets | None = None,
        window: float = 60.0,
        max_wait: float = 60.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        for name, value in (("per_user", per_user), ("per_project", per_project)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 call per window")
        self.per_user = per_user
        self.per_project = per_project
        self.buckets = buckets or MemoryBuckets()
        self.window = window
        self.max_wait = max_wait
        # Buckets shared between machines need a clock they share; in-process ones had
        # better not jump with the wall clock.
        shared = not isinstance(self.buckets, MemoryBuckets)
        self._clock = clock or (time.time if shared else time.monotonic)
        self._sleep = sleep
        self._rng = rng or random.Random()

    def _buckets(self, user: str) -> list[Bucket]:
        out: list[Bucket] = []
        if self.per_user is not None:
            out.append((f"user:{user}", self.per_user))
        if self.per_project is not None:
            out.append(("project", self.per_project))
        return out

    def acquire(self, user: str, n: int = 1) -> None:
        """Take `n` tokens for `user` from both buckets, first sleeping until they hold them."""
        buckets = self._buckets(user)
        if not buckets:
            return
        too_many = [size for _, size in buckets if n > size]
        if too_many:
            raise _spent(f"rate limit: {n} calls at once exceed a bucket of {min(too_many)}")
        waited = 0.0
        while True:
            wait = self.buckets.take(buckets, n, self._clock(), self.window)
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise _spent(
                    f"rate limit: {user} would wait over {self.max_wait:.0f}s for {n} calls"
                )
            # Up to 5 % more (at least a few ms), so that waiters wake apart.
            wait += self._rng.uniform(0, max(0.005, wait * 0.05))
            _LOGGER.debug("rate[%s] waiting %.3fs", user, wait)
            self._sleep(wait)
            waited += wait


def _spent(message: str) -> QuotaError:
    """Our own limit said stop: retrying within this round would only spend the wait."""
    err = QuotaError(message)
    err.retryable = False
    return err
