"""Per-minute token buckets: the user's lets its size through then waits; the project's is
shared by every limiter on one Redis, across processes; threads never overdraw a bucket.

Redis tests run against the server at CALSYNC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15)
and are skipped, saying why, when none answers there.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import threading
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync.errors import QuotaError
from calsync.ratelimit import (
    FORGET_EVERY,
    MemoryBuckets,
    RateLimiter,
    RedisBuckets,
    TokenBuckets,
)

REDIS_ENV = "CALSYNC_TEST_REDIS_URL"
REDIS_URL = os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/15")


class Clock:
    """A clock the test moves; `sleep` moves it (and records the wait) instead of waiting."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _prefix() -> str:
    return f"calsync-test:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_buckets() -> Iterator[RedisBuckets]:
    """Buckets in the test Redis under a prefix of their own (deleted afterwards)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.skip(f"no Redis at {REDIS_URL} ({REDIS_ENV}): {err}")
    prefix = _prefix()
    yield RedisBuckets(client, prefix=prefix)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def buckets(request: pytest.FixtureRequest) -> TokenBuckets:
    if request.param == "memory":
        return MemoryBuckets()
    buckets: TokenBuckets = request.getfixturevalue("redis_buckets")
    return buckets


def test_a_users_bucket_lets_600_through_then_waits(buckets: TokenBuckets) -> None:
    """Google's default: 600 calls a minute per user. The first 600 go at once; the 601st
    waits until the oldest call is a minute old, and then goes."""
    clock = Clock()
    rate = RateLimiter(buckets=buckets, clock=clock, sleep=clock.sleep, rng=random.Random(1))
    for _ in range(600):
        rate.acquire("alice")
    assert clock.waits == []
    clock.now += 30
    rate.acquire("alice")
    assert len(clock.waits) == 1
    assert 30 <= clock.waits[0] <= 30 * 1.05 + 0.01  # the rest of the minute, jitter on top
    # Another user's bucket is full: bob is not held back by alice.
    rate.acquire("bob", 100)
    assert len(clock.waits) == 1


def test_the_project_bucket_holds_back_every_user(buckets: TokenBuckets) -> None:
    clock = Clock()
    rate = RateLimiter(
        per_user=600, per_project=1000, buckets=buckets, clock=clock, sleep=clock.sleep
    )
    for n in range(10):
        rate.acquire(f"user{n}", 100)
    assert clock.waits == []
    rate.acquire("someone else", 1)
    assert len(clock.waits) == 1 and clock.waits[0] >= 60


def test_a_wait_past_max_wait_is_a_quota_stop(buckets: TokenBuckets) -> None:
    """The round stops (its work stays for the next) instead of sleeping for minutes."""
    clock = Clock()
    rate = RateLimiter(per_user=5, buckets=buckets, max_wait=10, clock=clock, sleep=clock.sleep)
    rate.acquire("alice", 5)
    with pytest.raises(QuotaError, match="rate limit") as info:
        rate.acquire("alice")
    assert info.value.retryable is False
    with pytest.raises(QuotaError, match="exceed a bucket"):
        rate.acquire("bob", 6)


def test_two_limiters_on_one_redis_share_the_project_bucket(
    redis_buckets: RedisBuckets,
) -> None:
    """Two processes' limiters (two bucket instances, one Redis): what one spends, the other
    cannot; each user's bucket is shared too (a user's next round may run elsewhere)."""
    clock = Clock()
    client = redis_buckets._redis
    prefix = redis_buckets._prefix
    one = RateLimiter(per_project=100, buckets=redis_buckets, clock=clock, sleep=clock.sleep)
    two = RateLimiter(
        per_project=100, buckets=RedisBuckets(client, prefix=prefix), clock=clock, sleep=clock.sleep
    )
    for n in range(60):
        one.acquire(f"u{n % 3}")
    for n in range(40):
        two.acquire(f"v{n % 4}")
    assert clock.waits == []
    two.acquire("v0")
    assert len(clock.waits) == 1 and clock.waits[0] >= 60


def _spend(url: str, prefix: str, now: float, calls: int, out: mp.Queue[int]) -> None:
    """In another process: spend `calls` of a project bucket of 100, counting the waits."""
    import redis

    clock = Clock(now)
    buckets = RedisBuckets(redis.Redis.from_url(url), prefix=prefix)
    rate = RateLimiter(per_project=100, buckets=buckets, clock=clock, sleep=clock.sleep)
    for n in range(calls):
        rate.acquire(f"child{n % 5}")
    out.put(len(clock.waits))


def test_another_process_spends_from_the_same_project_bucket(
    redis_buckets: RedisBuckets,
) -> None:
    ctx = mp.get_context("spawn")
    out: mp.Queue[int] = ctx.Queue()
    clock = Clock()
    child = ctx.Process(target=_spend, args=(REDIS_URL, redis_buckets._prefix, clock.now, 70, out))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    assert out.get(timeout=5) == 0  # the child's 70 calls fit in the empty bucket
    rate = RateLimiter(per_project=100, buckets=redis_buckets, clock=clock, sleep=clock.sleep)
    for _ in range(30):
        rate.acquire("parent")
    assert clock.waits == []
    rate.acquire("parent")  # the 101st call of the minute, over both processes
    assert len(clock.waits) == 1


def test_threads_never_overdraw_a_bucket(buckets: TokenBuckets) -> None:
    """Eight threads race for a project bucket of 200 at one instant: exactly 200 calls go
    through, the rest wait (and here give up, the clock standing still)."""
    now = 5_000.0
    rate = RateLimiter(
        per_user=None, per_project=200, buckets=buckets, max_wait=0, clock=lambda: now
    )
    passed: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            try:
                rate.acquire("x")
            except QuotaError:
                continue
            with lock:
                passed.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(passed) == 200


def test_redis_out_of_reach_falls_back_to_this_process() -> None:
    """A Redis that cannot be reached does not stop the syncs: the limits hold in-process."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    clock = Clock()
    rate = RateLimiter(per_user=3, buckets=RedisBuckets(client), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        rate.acquire("alice")
    assert clock.waits == []
    rate.acquire("alice")
    assert len(clock.waits) == 1


class SlidingWindow:
    """The buckets' meaning spelt out: every take's tokens kept, the window's added up."""

    def __init__(self) -> None:
        self.spent: dict[str, list[tuple[float, int]]] = {}

    def used(self, name: str, now: float, window: float) -> int:
        return sum(n for at, n in self.spent.get(name, []) if at > now - window)

    def take(self, buckets: list[tuple[str, int]], n: int, now: float, window: float) -> float:
        wait = 0.0
        for name, size in buckets:
            used = self.used(name, now, window)
            if used + n > size:
                live = [(at, k) for at, k in self.spent[name] if at > now - window]
                # The wait is over once enough of the oldest tokens are a window old.
                freed = 0
                for at, k in live:
                    freed += k
                    if used - freed + n <= size:
                        wait = max(wait, at + window - now)
                        break
        if wait > 0:
            return wait
        for name, _ in buckets:
            self.spent.setdefault(name, []).append((now, n))
        return 0.0


BUCKETS = {"user:a": 5, "user:b": 7, "project": 10}
take_steps = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 1.0, 7.0, 20.0, 59.5, 60.0, 61.0]),  # time passing
        st.sampled_from(["user:a", "user:b"]),
        st.integers(1, 5),
    ),
    max_size=60,
)


@given(take_steps)
def test_memory_buckets_keep_an_exact_sliding_window(steps: list[tuple[float, str, int]]) -> None:
    """The running totals the in-process buckets keep (instead of adding up their logs on every
    take) agree with the sliding window spelt out, take by take, as tokens expire."""
    buckets, model = MemoryBuckets(), SlidingWindow()
    now, window = 1_000.0, 60.0
    for dt, user, n in steps:
        now += dt
        pair = [(user, BUCKETS[user]), ("project", BUCKETS["project"])]
        assert buckets.take(pair, n, now, window) == model.take(pair, n, now, window)
        for name in BUCKETS:
            assert buckets.used(name, now, window) == model.used(name, now, window)


def test_forgetting_idle_buckets_passes_over_an_emptied_one() -> None:
    """A take refused by the project bucket may leave a user's bucket emptied by expiry; the
    periodic forgetting of idle buckets drops it too instead of failing on it."""
    buckets = MemoryBuckets()
    assert buckets.take([("user:a", 5)], 1, 0.0, 60.0) == 0.0
    assert buckets.take([("project", 1)], 1, 100.0, 60.0) == 0.0
    # a's only token has expired; the full project bucket refuses the take.
    assert buckets.take([("user:a", 5), ("project", 1)], 1, 100.0, 60.0) > 0
    for k in range(FORGET_EVERY):
        assert buckets.take([(f"user:{k}", 1)], 1, 200.0 + k, 60.0) == 0.0
    assert buckets.used("user:a", 300.0, 60.0) == 0
    assert buckets.take([("user:a", 1)], 1, 300.0, 60.0) == 0.0
