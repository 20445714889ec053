"""Call budgets and backoff: how many Google calls may be made, and how long to wait.

Public API:
- `Backoff`: the one retry policy (on tenacity): truncated exponential backoff with full jitter,
  a cap and a number of tries, honouring a server's `Retry-After`; `Backoff.call` runs a try
  again while it fails with an error `retryable` accepts (the error tree's `retryable` flag).
- `Api`: the Google API a call is counted against (`calendar`, `tasks`); Google keeps a
  separate quota for each.
- `CallCounter`: the two methods a durable store implements (`add_calls`, which may refuse
  calls past a limit, and `calls_on`), counting per quota day, user and API; `MemoryCounter`
  is the in-process one.
- `PROJECT_REFRESH`: how often a process reads the project's total calls again (between two
  reads it adds its own to it: the project's budget is soft across processes).
- `Limits`: one API's daily budget for the project and for each user.
- `Budget`: daily call budgets per API, per project and per user, alerts at thresholds through
  a callback, `QuotaError` past the limit; optionally a `RateLimiter` (calls per minute per
  user and per project, waiting for room: `calsync.ratelimit`). `CallBudget` is what the HTTP
  layer needs of it.
- `CALENDAR_BILLING_THRESHOLD`: the Calendar API calls per day past which Google bills.
- `quota_day`, `day_of`, `next_reset`: Google's quota day (midnight to midnight Pacific time)
  now, of an instant, and the instant the next one starts; `DEFAULT_THRESHOLDS`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import tenacity
from tenacity.stop import stop_base

from calsync.errors import AdapterError, BudgetSpent, QuotaError
from calsync.ratelimit import RateLimiter as RateLimiter  # re-exported: Budget takes one

T = TypeVar("T")

_LOGGER = logging.getLogger(__name__)

# Google's daily quotas roll over at midnight Pacific time.
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")


CALENDAR_BILLING_THRESHOLD = 1_000_000
"""Calendar API requests per project and day past which Google charges (not raisable); the
default project budget stays well under it."""


DEFAULT_THRESHOLDS = (0.5, 0.9, 1.0)
"""The shares of a budget at which an alert goes out, once each per quota day and budget."""


def quota_day() -> date:
    """Return the current quota day (the date in Pacific time, as Google counts)."""
    return datetime.now(QUOTA_ZONE).date()


def day_of(instant: datetime) -> date:
    """Return the quota day the aware `instant` falls in."""
    return instant.astimezone(QUOTA_ZONE).date()


def next_reset(day: date) -> datetime:
    """Return the instant quota day `day` ends: the next midnight in Pacific time (its UTC
    offset is that of the new day, so daylight saving time is taken into account)."""
    return datetime.combine(day + timedelta(days=1), clock_time(0), tzinfo=QUOTA_ZONE)


class Api(StrEnum):
    """The Google API a call is counted against: each has its own quota and budget."""

    CALENDAR = "calendar"
    TASKS = "tasks"


def retryable(err: BaseException) -> bool:
    """True when the error tree says the same call may succeed after a short wait."""
    return isinstance(err, AdapterError) and err.retryable


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    err = state.outcome.exception() if state.outcome is not None else None
    return getattr(err, "retry_after", None)


class _AsksLonger(stop_base):
    """Stop when the server asks for a longer wait than `cap` (`Retry-After`)."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        after = _retry_after(retry_state)
        return after is not None and after > self.cap


@dataclass(frozen=True, slots=True)
class Backoff:
    """Truncated exponential backoff with full jitter (Google's advice for 403/429/5xx)."""

    base: float = 1.0
    """Seconds of the first window; window n is base * 2**n, capped."""
    cap: float = 32.0
    """Longest wait between two tries; a larger `Retry-After` makes us give up instead."""
    max_tries: int = 5
    """Tries in all, the first included; 1 means no retry."""

    def window(self, attempt: int) -> float:
        """Return the upper bound of the wait after failed try number `attempt` (0-based)."""
        return float(min(self.cap, self.base * (2**attempt)))

    def call(
        self,
        attempt: Callable[[], T],
        *,
        retry_if: Callable[[BaseException], bool] = retryable,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> T:
        """Return what `attempt` returns, trying it again while it raises what `retry_if`
        accepts; the last error is raised as it is.

        Full jitter spreads clients apart: the wait is drawn from the whole window. A
        server's `Retry-After` (the error's `retry_after`) is a floor, and the jitter goes on
        top of it (up to `cap`), or every client told the same wait would come back at the
        same instant. We give up when the tries are spent or the server asks for longer than
        `cap` (a worker thread should not sleep for minutes: the caller keeps the work and
        comes back later).
        """
        # Most calls succeed at once: the first try runs before any retry machinery is
        # built (tenacity's set-up and a seeded Random cost ~100 µs, more than the try).
        try:
            return attempt()
        except BaseException as err:
            if not retry_if(err) or self.max_tries <= 1:
                raise
            failed: BaseException | None = err

        def again() -> T:
            # Tenacity's first try is the one that already failed: it is replayed, not sent.
            nonlocal failed
            if failed is not None:
                err, failed = failed, None
                raise err
            return attempt()

        draw = rng or random.Random()

        def wait(state: tenacity.RetryCallState) -> float:
            jitter = draw.uniform(0, self.window(state.attempt_number - 1))
            floor = _retry_after(state)
            return jitter if floor is None else max(floor, min(self.cap, floor + jitter))

        def log(state: tenacity.RetryCallState) -> None:
            err = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            _LOGGER.info("retrying in %.2fs after: %s", delay, err)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_tries) | _AsksLonger(self.cap),
            wait=wait,
            retry=tenacity.retry_if_exception(retry_if),
            sleep=sleep,
            before_sleep=log,
            reraise=True,
        )
        return retrying(again)


def _spent(message: str) -> QuotaError:
    """Our own budget said stop: retrying within this round would only spend the wait."""
    err = QuotaError(message)
    err.retryable = False
    return err


class CallCounter(Protocol):
    """Durable per-day call counts by user and API (the SQL state store implements this)."""

    def add_calls(
        self, user: str, n: int, day: date, api: Api = Api.CALENDAR, *, limit: int | None = None
    ) -> int:
        """Add `n` calls of `api` made for `user` on `day`; return the user's new count.

        With `limit`, calls that would take the count past it are not added; the count
        returned (above `limit`) is what they would have made.
        """
        ...

    def calls_on(self, day: date, user: str | None = None, api: Api | None = None) -> int:
        """Return the calls made on `day` by `user` (None: everyone) to `api` (None: all)."""
        ...


class MemoryCounter:
    """An in-process CallCounter (tests, the embedded single-process mode)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[date, str, Api], int] = defaultdict(int)
        self._lock = threading.Lock()

    def add_calls(
        self, user: str, n: int, day: date, api: Api = Api.CALENDAR, *, limit: int | None = None
    ) -> int:
        with self._lock:
            key = (day, user, Api(api))
            count = self._counts[key] + n
            if limit is None or count <= limit:
                self._counts[key] = count
            return count

    def calls_on(self, day: date, user: str | None = None, api: Api | None = None) -> int:
        with self._lock:
            return sum(
                c
                for (d, u, a), c in self._counts.items()
                if d == day and user in (None, u) and api in (None, a)
            )


@dataclass(frozen=True, slots=True)
class Limits:
    """One API's daily call budget; None means unlimited."""

    project: int | None = None
    """Calls the whole project may make per quota day."""
    user: int | None = None
    """Calls one user's syncs may make per quota day."""


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A budget crossed one of its alert thresholds."""

    scope: str
    """`project` or `user`."""
    user: str | None
    """The user, for `user` alerts."""
    day: date
    used: int
    limit: int
    threshold: float
    """The fraction crossed, e.g. 0.8."""
    api: Api = Api.CALENDAR
    """The API whose budget it is."""


class CallBudget(Protocol):
    """What the HTTP layer needs: count calls before making them, refuse when spent."""

    def spend(self, user: str, n: int = 1, api: Api = Api.CALENDAR) -> None:
        """Count `n` calls of `api` for `user`; raise QuotaError (counting nothing) past the
        budget."""
        ...


PROJECT_REFRESH = 1.0
"""Seconds a process goes on its own count of the project's calls (the store's total when it
last read it, plus the calls it has counted since) before it reads the total again."""


@dataclass(slots=True)
class _ProjectCount:
    """One process's view of the project's calls of one API on one quota day."""

    stored: int
    """Every process's calls, as the counter said when this process last read them."""
    read_at: float
    """When it read them (the budget's monotonic clock)."""
    seen: int
    """The figure this process last checked for alerts (so a jump on a re-read that went
    past a threshold still raises it on the next call)."""
    mine: int = 0
    """The calls this process has counted since."""

    @property
    def used(self) -> int:
        return self.stored + self.mine


class Budget:
    """Daily call budgets for each API, for the project and for each user, with alerts.

    `spend` raises QuotaError when the calls would pass either limit of their API, and reports
    each threshold crossed once per day, API and scope through `on_alert`. `project_limit` and
    `user_limit` are the Calendar API's limits when `limits` leaves it out.

    A call costs one statement: the user's count comes back from the upsert that adds to it,
    and calls past the user's limit are rolled back in that statement's transaction. The
    project's total is not summed over every user per call: each process reads it from the
    counter at most once every `PROJECT_REFRESH` seconds and adds its own calls to it. Check
    and count are one step under a process-wide lock, so within a process both limits are
    exact; across processes the user's limit stays exact (the store adds to one row) and the
    project's is soft: it may be passed by what the other processes spend in the second
    before this one reads the total again (they stay under it in their own views).
    """

    def __init__(
        self,
        counter: CallCounter,
        *,
        limits: Mapping[Api, Limits] | None = None,
        project_limit: int | None = None,
        user_limit: int | None = None,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        on_alert: Callable[[BudgetAlert], None] | None = None,
        today: Callable[[], date] = quota_day,
        rate: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counter = counter
        self.rate = rate
        self.limits: dict[Api, Limits] = {Api.CALENDAR: Limits(project_limit, user_limit)}
        self.limits.update(limits or {})
        self.thresholds = tuple(sorted(thresholds))
        self.on_alert = on_alert
        self._today = today
        self._clock = clock
        self._fired: set[tuple[date, Api, str, str | None, float]] = set()
        self._projects: dict[tuple[date, Api], _ProjectCount] = {}
        self._lock = threading.RLock()

    def limits_of(self, api: Api) -> Limits:
        """Return the limits of `api` (unlimited when none are set)."""
        return self.limits.get(api, Limits())

    def remaining(self, user: str, api: Api = Api.CALENDAR) -> int | None:
        """Return the calls of `api` `user` may still make today (None when unlimited)."""
        day = self._today()
        limits = self.limits_of(api)
        left: list[int] = []
        if limits.project is not None:
            left.append(limits.project - self.counter.calls_on(day, api=api))
        if limits.user is not None:
            left.append(limits.user - self.counter.calls_on(day, user, api))
        return max(0, min(left)) if left else None

    def spend(self, user: str, n: int = 1, api: Api = Api.CALENDAR) -> None:
        """Count `n` calls of `api` for `user`; raise QuotaError (counting nothing) past a
        budget.

        With a rate limiter, first wait for room in the per-minute windows (Google's
        per-minute quotas are the Calendar API's; one window serves both APIs, to be safe).
        """
        if self.rate is not None:
            self.rate.acquire(user, n)
        day = self._today()
        limits = self.limits_of(api)
        refused: BudgetSpent | None = None
        crossed: list[tuple[str, str | None, int, int]] = []  # scope, user, before, after
        with self._lock:
            project = self._project(day, api) if limits.project is not None else None
            if project is not None and limits.project is not None:
                crossed.append(("project", None, project.seen, project.used + n))
                if project.used + n > limits.project:
                    refused = BudgetSpent(
                        f"daily project budget of {limits.project} {api} API calls is spent",
                        api=api.value, scope="project", limit=limits.project, day=day,
                    )  # fmt: skip
            if refused is None:
                after = self.counter.add_calls(user, n, day, api, limit=limits.user)
                crossed.append(("user", user, after - n, after))
                if limits.user is not None and after > limits.user:
                    refused = BudgetSpent(
                        f"daily budget of {limits.user} {api} API calls for {user} is spent",
                        api=api.value, scope="user", limit=limits.user, day=day,
                    )  # fmt: skip
                elif project is not None:
                    project.mine += n
                    project.seen = project.used
        # Alerts go out of the lock: sending one (an email) must not hold up other rounds.
        if refused is not None:
            # Only the budget that refused: its limit may just have been reached.
            crossed = [c for c in crossed if c[0] == refused.scope]
        for scope, who, before, after in crossed:
            self._alert(api, scope, who, day, before, after)
        if refused is not None:
            raise refused

    def _project(self, day: date, api: Api) -> _ProjectCount:
        """Return this process's count of the project's calls (under the lock), read again
        from the counter when it is `PROJECT_REFRESH` seconds old."""
        now = self._clock()
        count = self._projects.get((day, api))
        if count is not None and now - count.read_at < PROJECT_REFRESH:
            return count
        stored = self.counter.calls_on(day, api=api)
        if count is None:
            # A new quota day: yesterday's counts and alerts are done with.
            self._projects = {k: v for k, v in self._projects.items() if k[0] >= day}
            self._fired = {f for f in self._fired if f[0] >= day}
            count = self._projects[(day, api)] = _ProjectCount(stored, now, seen=stored)
        else:
            count.stored, count.mine, count.read_at = stored, 0, now
        return count

    def _alert(
        self, api: Api, scope: str, user: str | None, day: date, before: int, after: int
    ) -> None:
        limits = self.limits_of(api)
        limit = limits.project if scope == "project" else limits.user
        if limit is None or limit <= 0:
            return
        for t in self.thresholds:
            mark = t * limit
            if not (before < mark <= after):
                continue
            with self._lock:
                if (day, api, scope, user, t) in self._fired:
                    continue
                self._fired.add((day, api, scope, user, t))
            alert = BudgetAlert(scope, user, day, min(after, limit), limit, t, api)
            _LOGGER.warning(
                "quota[%s %s %s] crossed %d%% of %d calls", api, scope, user, t * 100, limit
            )
            if self.on_alert is not None:
                self.on_alert(alert)
