"""Google API usage the administrator reads: calls per quota day, API and user, against the
budgets. `calsync usage` prints it; the admin page shows it.

Public API: `UsageService(store, settings, today=...)` with `report(days)`; `Usage`,
`DayUsage`, `UserUsage`; `UsageRefused`; `MAX_DAYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from calsync.errors import CalsyncError
from calsync.quota import CALENDAR_BILLING_THRESHOLD, Api, Limits, quota_day
from calsync.service.settings import AppSettings
from calsync.state.store import Store

MAX_DAYS = 366
"""The longest history one report covers (a year of quota days)."""


class UsageRefused(CalsyncError):
    """The report was asked for with a number of days outside 1..MAX_DAYS."""


@dataclass(frozen=True, slots=True)
class DayUsage:
    """The calls of one quota day (midnight to midnight, Pacific time), per API."""

    day: date
    calendar: int = 0
    tasks: int = 0

    def calls(self, api: Api) -> int:
        """Return the calls of `api`."""
        return self.calendar if api is Api.CALENDAR else self.tasks


@dataclass(frozen=True, slots=True)
class UserUsage:
    """The calls one user's syncs made today, per API."""

    name: str
    calendar: int = 0
    tasks: int = 0

    def calls(self, api: Api) -> int:
        """Return the calls of `api`."""
        return self.calendar if api is Api.CALENDAR else self.tasks


@dataclass(frozen=True, slots=True)
class Usage:
    """A usage report: the last quota days, today's users, and the budgets in force."""

    today: date
    days: list[DayUsage]
    """Oldest first; the last one is today. Days without calls are there with zeros."""
    users: list[UserUsage]
    """Today's calls per user, by name: every linked user, and anyone else who made calls."""
    budgets: dict[Api, Limits] = field(default_factory=dict)
    billing_threshold: int = CALENDAR_BILLING_THRESHOLD
    """Calendar API calls per day past which Google bills the project."""

    def today_calls(self, api: Api) -> int:
        """Return today's calls of `api` for the whole project."""
        return self.days[-1].calls(api) if self.days else 0

    def billing_left(self) -> int:
        """Return the Calendar API calls left today before Google starts billing."""
        return max(0, self.billing_threshold - self.today_calls(Api.CALENDAR))

    def to_json(self) -> dict[str, Any]:
        """Return the report as `calsync usage --json` prints it."""
        budgets: dict[str, dict[str, int | None]] = {}
        for api in Api:
            limits = self.budgets.get(api, Limits())
            budgets[api.value] = {"project": limits.project, "user": limits.user}
        budgets[Api.CALENDAR.value]["billing_threshold"] = self.billing_threshold
        return {
            "days": [
                {"day": d.day.isoformat(), "calendar": d.calendar, "tasks": d.tasks}
                for d in self.days
            ],
            "users": {u.name: {"calendar": u.calendar, "tasks": u.tasks} for u in self.users},
            "budgets": budgets,
        }


class UsageService:
    """Reads the quota counters every process writes."""

    def __init__(
        self, store: Store, settings: AppSettings, today: Callable[[], date] = quota_day
    ) -> None:
        self.store = store
        self.settings = settings
        self._today = today

    def report(self, days: int = 30) -> Usage:
        """Return the calls of the last `days` quota days (today included) and today's users.

        Raise UsageRefused when `days` is not within 1..MAX_DAYS.
        """
        if not 1 <= days <= MAX_DAYS:
            raise UsageRefused(
                f"--days must be a whole number of days from 1 to {MAX_DAYS}, not {days}"
            )
        today = self._today()
        first = today - timedelta(days=days - 1)
        by_day = self.store.calls_by_day(first, today)
        history = [
            DayUsage(
                day,
                by_day.get((day, Api.CALENDAR.value), 0),
                by_day.get((day, Api.TASKS.value), 0),
            )
            for day in (first + timedelta(days=n) for n in range(days))
        ]
        by_user = self.store.calls_by_user(today)
        # Calls made on behalf of no one user (stored under '') count in the days only.
        names = sorted({*self.store.linked_users(None), *(u for u, _ in by_user if u)})
        users = [
            UserUsage(
                name,
                by_user.get((name, Api.CALENDAR.value), 0),
                by_user.get((name, Api.TASKS.value), 0),
            )
            for name in names
        ]
        return Usage(today, history, users, self.settings.budgets())
