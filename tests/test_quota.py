"""Daily budgets on the state store: one statement per call whatever the number of users;
exact limits within a process (threads included); across processes the user's limit exact and
the project's soft by what the others spend before it is read again, its alerts never lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from calsync.errors import BudgetSpent
from calsync.quota import PROJECT_REFRESH, Api, Budget, BudgetAlert, Limits, MemoryCounter
from calsync.state import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
DAY = date(2026, 3, 2)


class Ticks:
    """The budget's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY, threads=8) as store:
        store.migrate()
        yield store


def budget(counter: Store | MemoryCounter, ticks: Ticks, **limits: int) -> Budget:
    return Budget(counter, limits={Api.CALENDAR: Limits(**limits)}, today=lambda: DAY, clock=ticks)


def statements(store: Store) -> list[str]:
    """Start recording the SQL the store runs; return the list it fills."""
    seen: list[str] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    return seen


def test_a_call_is_one_statement_whatever_the_number_of_users(store: Store) -> None:
    """With 300 users counted today, a call within both budgets runs one statement (the
    upsert that returns the user's count); the project's total is summed once a second."""
    for n in range(300):
        store.add_calls(f"user{n}", 2, DAY, "calendar")
    ticks = Ticks()
    spend = budget(store, ticks, project=10_000, user=100)
    spend.spend("alice")  # reads the project's total
    seen = statements(store)
    for _ in range(5):
        spend.spend("alice")
    assert len(seen) == 5 and all(s.startswith("INSERT INTO quota_counters") for s in seen)
    ticks.now += PROJECT_REFRESH
    spend.spend("bob")
    assert len(seen) == 7 and "sum(quota_counters.calls)" in seen[5]
    assert store.calls_on(DAY) == 607
    assert store.calls_on(DAY, "alice", Api.CALENDAR) == 6


def test_a_refusal_past_the_users_limit_counts_nothing(store: Store) -> None:
    """The user's limit is decided on the count the upsert returns; past it the upsert is
    rolled back: one statement for the refusal too, and nothing counted."""
    spend = budget(store, Ticks(), user=3)
    spend.spend("alice", 2)
    seen = statements(store)
    with pytest.raises(BudgetSpent) as refused:
        spend.spend("alice", 2)
    assert refused.value.scope == "user"
    assert len(seen) == 1
    assert store.calls_on(DAY, "alice") == 2
    spend.spend("alice", 1)
    assert store.calls_on(DAY, "alice") == 3


def test_threads_of_one_process_never_pass_the_limits(store: Store) -> None:
    """Eight threads of one process spend for eight users against a project budget of 100 and
    a user budget of 20: exactly 100 calls are counted, none of a user past 20."""
    spend = budget(store, Ticks(), project=100, user=20)
    refused: list[str] = []

    def work(user: str) -> None:
        for _ in range(30):
            try:
                spend.spend(user)
            except BudgetSpent as err:
                refused.append(err.scope)

    threads = [threading.Thread(target=work, args=(f"user{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.calls_on(DAY) == 100
    assert len(refused) == 8 * 30 - 100
    assert all(store.calls_on(DAY, f"user{n}") <= 20 for n in range(8))


def test_across_processes_the_project_limit_is_soft_for_a_second(store: Store) -> None:
    """Two processes (two budgets on one store): each adds its own calls to the total it read;
    what the other spent shows once its total is a second old. Until then the project's
    budget can be passed by what the other process spent meanwhile, never more."""
    ticks = Ticks()
    one = budget(store, ticks, project=10)
    two = budget(store, ticks, project=10)
    one.spend("alice", 4)  # reads 0
    two.spend("bob", 6)  # reads 4: the budget's last 6 calls
    with pytest.raises(BudgetSpent):
        two.spend("bob")
    one.spend("alice", 6)  # still believes 4: bob's 6 pass the budget by as many
    assert store.calls_on(DAY) == 16
    with pytest.raises(BudgetSpent):
        one.spend("alice")
    ticks.now += PROJECT_REFRESH
    with pytest.raises(BudgetSpent):
        one.spend("carol")  # read again: 16
    assert store.calls_on(DAY) == 16


def test_across_processes_the_users_limit_stays_exact(store: Store) -> None:
    """The user's count is the store's own row: a second process sees every call of the
    first at once."""
    ticks = Ticks()
    one = budget(store, ticks, user=5)
    two = budget(store, ticks, user=5)
    one.spend("alice", 3)
    with pytest.raises(BudgetSpent):
        two.spend("alice", 3)
    two.spend("alice", 2)
    with pytest.raises(BudgetSpent):
        one.spend("alice", 1)
    assert store.calls_on(DAY, "alice") == 5


def test_a_threshold_passed_between_two_reads_is_still_alerted(store: Store) -> None:
    """Each of two processes stays under 50 % in its own view while together they pass it;
    the first call after a process reads the total again raises the alert."""
    ticks = Ticks()
    alerts: list[BudgetAlert] = []
    one = Budget(
        store,
        project_limit=100,
        thresholds=(0.5,),
        on_alert=alerts.append,
        today=lambda: DAY,
        clock=ticks,
    )
    two = budget(store, ticks, project=100)
    one.spend("alice", 1)  # reads 0
    two.spend("bob", 40)  # reads 1
    one.spend("alice", 30)  # 31 in its view
    assert store.calls_on(DAY) == 71 and alerts == []
    ticks.now += PROJECT_REFRESH
    one.spend("alice", 1)
    assert [(a.scope, a.threshold, a.used) for a in alerts] == [("project", 0.5, 72)]
    one.spend("alice", 1)
    assert len(alerts) == 1


def test_without_a_project_limit_nothing_is_summed(store: Store) -> None:
    """No project budget, no project total to keep: a call is the upsert alone."""
    spend = budget(store, Ticks())
    seen = statements(store)
    spend.spend("alice")
    spend.spend("alice")
    assert len(seen) == 2 and "sum(" not in " ".join(seen)
    assert store.calls_on(DAY) == 2


def test_the_memory_counter_refuses_past_a_limit_too() -> None:
    counter = MemoryCounter()
    assert counter.add_calls("alice", 3, DAY, limit=3) == 3
    assert counter.add_calls("alice", 1, DAY, limit=3) == 4
    assert counter.calls_on(DAY, "alice") == 3
