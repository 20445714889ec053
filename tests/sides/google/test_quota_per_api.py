"""Google calls are counted per API in the state store, as Google counts them: every call
against the API its path belongs to, every part of a batch as one call, and each API's budget
spent on its own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from calsync.errors import QuotaError
from calsync.model import Task
from calsync.quota import Api, Budget, Limits
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.tasks import GoogleTasksSide
from calsync.state import Store
from tests.sides.google.emulated import Google
from tests.sides.google.test_google_calendar_emulator import meeting

DAY = date(2026, 3, 2)
KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as s:
        s.migrate()
        yield s


def emulator_calls(google: Google) -> dict[Api, int]:
    """Return the API calls the emulator counted, per API (its methods are `calendar.*` and
    `tasks.*`, as in Google's discovery documents)."""
    by_method: dict[str, int] = google.control("GET", "stats")["by_method"]
    return {
        api: sum(n for method, n in by_method.items() if method.startswith(f"{api.value}."))
        for api in Api
    }


def sides(google: Google, budget: Budget) -> tuple[GoogleCalendarSide, GoogleTasksSide]:
    calendar = GoogleCalendarSide(google.http(budget), "primary", "acme")
    tasks = GoogleTasksSide(google.http(budget), google.account["default_tasklist"])
    return calendar, tasks


def test_calendar_and_tasks_calls_are_counted_apart(google: Google, store: Store) -> None:
    """Two events and three to-dos written, then both lists read: the store holds per API
    what the emulator counted, for alice and for the day."""
    calendar, tasks = sides(google, Budget(store, today=lambda: DAY))
    google.control("DELETE", "stats")
    for n in range(2):
        calendar.create(meeting(f"event {n}", 10 + n), f"crm:e{n}")
    for n in range(3):
        tasks.create(Task(f"to-do {n}"), f"crm:t{n}")
    calendar.changes(None)
    tasks.changes(None)

    seen = emulator_calls(google)
    assert seen[Api.CALENDAR] >= 3 and seen[Api.TASKS] >= 4
    assert store.calls_on(DAY, "alice", Api.CALENDAR) == seen[Api.CALENDAR]
    assert store.calls_on(DAY, "alice", Api.TASKS) == seen[Api.TASKS]
    assert store.calls_on(DAY) == seen[Api.CALENDAR] + seen[Api.TASKS]
    assert store.calls_by_user(DAY) == {
        ("alice", "calendar"): seen[Api.CALENDAR],
        ("alice", "tasks"): seen[Api.TASKS],
    }


@pytest.mark.parametrize(("parts", "batch_size", "requests"), [(5, 50, 1), (5, 2, 3)])
def test_a_batch_of_k_parts_counts_k_calls(
    google: Google, store: Store, parts: int, batch_size: int, requests: int
) -> None:
    """Reading k events in batches costs k calendar calls, however many HTTP requests carry
    them, exactly as the emulator (like Google) counts them."""
    made = GoogleCalendarSide(google.http(), "primary", "acme")
    ids = [made.create(meeting(f"event {n}", 10 + n), f"crm:b{n}").id for n in range(parts)]
    calendar = GoogleCalendarSide(
        google.http(Budget(store, today=lambda: DAY), batch_size=batch_size), "primary", "acme"
    )
    google.control("DELETE", "stats")

    got = calendar.get_many(ids)

    assert all(got[i] is not None for i in ids)
    stats = google.control("GET", "stats")
    assert stats["batches"] == requests
    assert emulator_calls(google) == {Api.CALENDAR: parts, Api.TASKS: 0}
    assert store.calls_on(DAY, "alice", Api.CALENDAR) == parts
    assert store.calls_on(DAY, api=Api.TASKS) == 0


def test_a_spent_tasks_budget_leaves_the_calendar_budget_alone(
    google: Google, store: Store
) -> None:
    """Each API has its own budget: the Tasks API's refuses the call past its limit (counting
    nothing, sending nothing) while Calendar API calls go on."""
    budget = Budget(
        store,
        limits={Api.CALENDAR: Limits(project=100), Api.TASKS: Limits(project=100, user=2)},
        today=lambda: DAY,
    )
    calendar, tasks = sides(google, budget)
    tasks.create(Task("one"), "crm:t1")
    tasks.create(Task("two"), "crm:t2")
    google.control("DELETE", "stats")
    with pytest.raises(QuotaError, match="tasks API"):
        tasks.create(Task("three"), "crm:t3")
    assert emulator_calls(google)[Api.TASKS] == 0
    calendar.create(meeting("still fine"), "crm:e1")
    assert store.calls_on(DAY, "alice", Api.TASKS) == 2
    assert store.calls_on(DAY, "alice", Api.CALENDAR) == emulator_calls(google)[Api.CALENDAR]
    assert budget.remaining("alice", Api.TASKS) == 0
    assert budget.remaining("alice", Api.CALENDAR) == 100 - store.calls_on(DAY, api=Api.CALENDAR)
