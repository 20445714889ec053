"""Google's quota day (midnight Pacific, daylight saving time included), the budget's refusal
naming its budget, and the waits it leaves: ended by the next quota day or a raised budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from calsync.errors import BudgetSpent
from calsync.quota import Api, Budget, Limits, MemoryCounter, day_of, next_reset
from calsync.service import BudgetWaits
from calsync.state import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


@pytest.mark.parametrize(
    ("day", "reset"),
    [
        (date(2026, 3, 7), datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),  # PST
        (date(2026, 3, 8), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),  # DST began that day
        (date(2026, 10, 31), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),  # PDT
        (date(2026, 11, 1), datetime(2026, 11, 2, 8, 0, tzinfo=UTC)),  # DST ended that day
    ],
)
def test_the_quota_day_ends_at_midnight_pacific(day: date, reset: datetime) -> None:
    """The next quota day starts at midnight in Los Angeles, whatever its UTC offset; the
    instant just before belongs to the old day and the reset itself to the new one."""
    assert next_reset(day) == reset
    assert day_of(reset) == date.fromordinal(day.toordinal() + 1)
    assert day_of(datetime.fromtimestamp(reset.timestamp() - 1, UTC)) == day


def test_a_refusal_names_its_budget_and_counts_nothing() -> None:
    counter = MemoryCounter()
    day = date(2026, 3, 2)
    budget = Budget(
        counter,
        limits={Api.TASKS: Limits(project=10, user=3)},
        today=lambda: day,
    )
    budget.spend("alice", 3, Api.TASKS)
    with pytest.raises(BudgetSpent) as spent:
        budget.spend("alice", 1, Api.TASKS)
    err = spent.value
    assert (err.api, err.scope, err.limit, err.day) == ("tasks", "user", 3, day)
    assert not err.retryable
    budget.spend("bob", 3, Api.TASKS)
    budget.spend("carol", 3, Api.TASKS)
    with pytest.raises(BudgetSpent) as spent:
        budget.spend("dave", 2, Api.TASKS)
    assert (spent.value.scope, spent.value.limit) == ("project", 10)
    assert counter.calls_on(day, api=Api.TASKS) == 9


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        yield store


def test_a_wait_ends_with_a_raised_budget_or_the_next_quota_day(store: Store) -> None:
    clock = Clock(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # 21:00 on 2 March in LA
    limits = {Api.CALENDAR: Limits(project=100, user=5), Api.TASKS: Limits(project=100)}
    waits = BudgetWaits(store, lambda: limits, clock)
    spent = BudgetSpent("spent", api="calendar", scope="user", limit=5, day=day_of(clock()))
    shown = waits.record("alice", spent, "event:primary")
    assert shown.until == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert list(waits.waiting("alice")) == [Api.CALENDAR]
    assert waits.waiting("bob") == {}

    limits[Api.CALENDAR] = Limits(project=100, user=5)  # saved again, not raised
    assert list(waits.waiting("alice")) == [Api.CALENDAR]
    limits[Api.CALENDAR] = Limits(project=100, user=6)
    assert waits.of("alice") == []  # a page's read clears nothing
    assert store.budget_waits("alice") != []
    assert waits.waiting("alice") == {}
    assert store.budget_waits("alice") == []

    limits[Api.CALENDAR] = Limits(project=100, user=5)
    waits.record("alice", spent, "event:primary")
    clock.now = datetime(2026, 3, 3, 7, 59, tzinfo=UTC)
    assert list(waits.waiting("alice")) == [Api.CALENDAR]
    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert waits.waiting("alice") == {}
