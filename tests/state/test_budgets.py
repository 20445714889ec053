"""The store's budget waits and alerts, on SQLite and PostgreSQL: an alert is claimed once
per quota day, API, budget and threshold; a wait is one row per user and API."""

from __future__ import annotations

from datetime import UTC, date, datetime

from calsync.state import Store
from calsync.state.records import AlertRecord, BudgetWait

DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_an_alert_is_claimed_once(store: Store) -> None:
    """The first claim wins and a second (another process) is refused; a user's budget, an
    other threshold and the next day are other alerts."""
    project = AlertRecord(DAY, "calendar", "project", None, 90, 900, 1000, AT)
    assert store.claim_alert(project) is True
    assert store.claim_alert(project) is False
    assert store.claim_alert(AlertRecord(DAY, "calendar", "user", "bob", 90, 9, 10, AT))
    assert store.claim_alert(AlertRecord(DAY, "calendar", "project", None, 100, 1000, 1000, AT))
    assert store.claim_alert(AlertRecord(DAY, "tasks", "project", None, 90, 90, 100, AT))
    nextday = AlertRecord(date(2026, 3, 3), "calendar", "project", None, 90, 900, 1000, AT)
    assert store.claim_alert(nextday)
    store.mark_alert_emailed(project)
    today = {(a.api, a.scope, a.user, a.percent): a.emailed for a in store.alerts_on(DAY)}
    assert today == {
        ("calendar", "project", None, 90): True,
        ("calendar", "user", "bob", 90): False,
        ("calendar", "project", None, 100): False,
        ("tasks", "project", None, 90): False,
    }


def test_a_wait_is_kept_per_user_and_api(store: Store) -> None:
    store.set_budget_wait(BudgetWait("alice", "calendar", "user", DAY, 5, AT, "event:primary"))
    store.set_budget_wait(BudgetWait("alice", "calendar", "project", DAY, 50, AT, "event:x"))
    store.set_budget_wait(BudgetWait("alice", "tasks", "user", DAY, 3, AT, "task:@default"))
    store.set_budget_wait(BudgetWait("bob", "calendar", "project", DAY, 50, AT))
    waits = store.budget_waits("alice")
    assert [(w.api, w.scope, w.limit, w.stopped_in) for w in waits] == [
        ("calendar", "project", 50, "event:x"),
        ("tasks", "user", 3, "task:@default"),
    ]
    assert waits[0].stopped_at == AT
    store.clear_budget_wait("alice", "calendar")
    assert [(w.user, w.api) for w in store.budget_waits()] == [
        ("alice", "tasks"),
        ("bob", "calendar"),
    ]
