"""Rounds waiting on a spent daily budget: recorded when a budget stops a round, ended when
the next quota day starts (midnight Pacific time) or the admin raises that budget.

Public API: `BudgetWaits(store, limits, now)` with `waiting(user)`, `record(...)`, `of(user)`;
`Waiting` (what the user's page shows: the API, the budget, until when).

A round stopped by a budget wrote nothing half-way: the budget refuses a call before it is
made, the engine rolls back that action alone and keeps the cursors, so the round that runs
after the wait reads the same changes again and finishes the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from calsync.errors import BudgetSpent
from calsync.quota import Api, Limits, day_of, next_reset
from calsync.state.records import BudgetWait
from calsync.state.store import Store

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Waiting:
    """One API of a user's sync waiting on a spent budget, as the user's page says it."""

    api: Api
    scope: str
    """`project` (all users' calls) or `user` (this user's)."""
    limit: int
    """The budget that is spent, in calls per quota day."""
    until: datetime
    """When the next quota day starts (an aware instant): the sync goes on then at the latest."""
    stopped_at: datetime


class BudgetWaits:
    """Reads and writes the waits of the state store, against the budgets in force now."""

    def __init__(
        self,
        store: Store,
        limits: Callable[[], Mapping[Api, Limits]],
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self._limits = limits
        self._now = now

    def _over(self, wait: BudgetWait, limits: Mapping[Api, Limits]) -> bool:
        """Return True when `wait` has ended: a later quota day, or a higher budget."""
        if day_of(self._now()) > wait.day:
            return True
        api_limits = limits.get(Api(wait.api), Limits())
        now_limit = api_limits.project if wait.scope == "project" else api_limits.user
        return now_limit is None or now_limit > wait.limit

    def waiting(self, user: str) -> dict[Api, Waiting]:
        """Return the APIs `user`'s rounds must still wait for; forget the waits that ended."""
        limits = self._limits()
        out: dict[Api, Waiting] = {}
        for wait in self.store.budget_waits(user):
            if self._over(wait, limits):
                _LOGGER.info(
                    "sync of %s: %s API budget has room again, the round goes on", user, wait.api
                )
                self.store.clear_budget_wait(user, wait.api)
                continue
            out[Api(wait.api)] = _waiting(wait)
        return out

    def of(self, user: str) -> list[Waiting]:
        """Return what `user`'s sync waits for now (nothing is cleared: a read for a page)."""
        limits = self._limits()
        return [_waiting(w) for w in self.store.budget_waits(user) if not self._over(w, limits)]

    def record(self, user: str, spent: BudgetSpent, stopped_in: str) -> Waiting:
        """Record that `user`'s rounds of the API `spent` names wait, stopped in `stopped_in`."""
        wait = BudgetWait(
            user, spent.api, spent.scope, spent.day, spent.limit, self._now(), stopped_in
        )
        self.store.set_budget_wait(wait)
        _LOGGER.warning(
            "sync of %s stopped in %s: %s; it goes on at %s or once the budget is raised",
            user, stopped_in, spent, next_reset(spent.day).isoformat(),
        )  # fmt: skip
        return _waiting(wait)


def _waiting(wait: BudgetWait) -> Waiting:
    return Waiting(Api(wait.api), wait.scope, wait.limit, next_reset(wait.day), wait.stopped_at)


def describe(waits: Mapping[Api, Waiting] | list[Waiting]) -> str:
    """Return one English line saying what the sync waits for (the run record's message)."""
    items = list(waits.values()) if isinstance(waits, Mapping) else waits
    parts = []
    for w in items:
        whose = "the project's" if w.scope == "project" else "this user's"
        parts.append(
            f"{whose} daily budget of {w.limit} {w.api.value} API calls is spent; waiting "
            f"until {w.until.isoformat()} (midnight Pacific time) or a higher budget"
        )
    return "; ".join(parts)
