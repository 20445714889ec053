"""A round that would pass a daily budget stops before the limit, waits, and resumes on the
next quota day or once the admin raises the budget: nothing lost, nothing written twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.engine.pairs import Kind, PairStatus
from calsync.model import Event, Task, When
from calsync.quota import Api, Backoff, Budget, Limits, day_of
from calsync.service import SyncService, UserReport, UserStatus
from calsync.sides.google.factory import GoogleSettings
from tests.scenarios.world import CLIENT_ID, CLIENT_SECRET, World

# 21:00 in Los Angeles on 2 March: three hours before the quota day rolls over.
EVENING = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
EVENTS = 6


class Clock:
    """The one clock of the round service and the budget: tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def budgeted(world: World, clock: Clock, limits: Limits) -> tuple[SyncService, Budget]:
    """Return alice's round service with a Calendar API budget, on the test's clock."""
    budget = Budget(world.store, limits={Api.CALENDAR: limits}, today=lambda: day_of(clock()))
    google = GoogleSettings(
        CLIENT_ID, CLIENT_SECRET, api_url=world.google_url, token_url=f"{world.google_url}/token"
    )
    service = SyncService(
        world.store,
        world.crm.backend,
        google,
        budget=budget,
        backoff=Backoff(base=0.05, cap=0.2),
        now=clock,
    )
    return service, budget


def crm_events(world: World, start: datetime) -> None:
    for n in range(EVENTS):
        at = (start + timedelta(days=1 + n)).replace(minute=0, second=0, microsecond=0)
        world.crm.add_event("alice", Event(f"Visit {n}", When(at, at + timedelta(hours=1), "UTC")))


def google_writes(world: World) -> int:
    return len(world.google_writes())


def assert_all_synced_once(world: World) -> None:
    """Every CRM event is on Google exactly once and linked by one pair in good standing."""
    summaries = [str(e.get("summary")) for e in world.g.events()]
    assert sorted(summaries) == sorted(f"Visit {n}" for n in range(EVENTS))
    pairs = world.pairs(Kind.EVENT)
    assert len(pairs) == EVENTS
    assert {p.status for p in pairs} == {PairStatus.OK}
    assert len({p.google_id for p in pairs}) == EVENTS


def first_round_stops(world: World, service: SyncService) -> UserReport:
    """Run the round the budget stops: a listing and three inserts fit in the four calls."""
    world.clear_log()
    report = service.sync_user("alice")
    assert report.status is UserStatus.WAITING, report.message
    assert "daily budget of 4 calendar API calls" in report.message
    assert report.api_calls == 4
    # Stopped cleanly between two writes: three events are on Google, each linked once.
    assert len(world.g.events()) == 3 == google_writes(world)
    linked = [p for p in world.pairs(Kind.EVENT) if p.status is PairStatus.OK]
    assert len(linked) == 3
    # The refused insert left only its intent row (committed before any call, as for every
    # create): the next round finds no copy behind it and creates that event once.
    pending = [p for p in world.pairs(Kind.EVENT) if p.status is PairStatus.PENDING]
    assert len(pending) <= 1 and len(world.pairs(Kind.EVENT)) == 3 + len(pending)
    (wait,) = world.store.budget_waits("alice")
    assert (wait.api, wait.scope, wait.limit, wait.day) == ("calendar", "user", 4, day_of(EVENING))
    assert wait.stopped_in == "event:primary"
    return report


def test_stop_then_resume_when_the_budget_is_raised(world: World) -> None:
    """A round that would pass alice's budget stops after the calls that fit; the next round
    the same day waits without a single call; once the admin raises the budget the next round
    does the rest: every event on Google once."""
    clock = Clock(EVENING)
    world.now = EVENING
    crm_events(world, EVENING)
    service, budget = budgeted(world, clock, Limits(project=1000, user=4))
    first_round_stops(world, service)

    world.clear_log()
    clock.now += timedelta(minutes=30)
    again = service.sync_user("alice")
    assert again.status is UserStatus.WAITING
    assert again.api_calls == 0 and world.requests() == []

    budget.limits = {Api.CALENDAR: Limits(project=1000, user=20)}
    clock.now += timedelta(minutes=5)
    resumed = service.sync_user("alice")
    assert resumed.status is UserStatus.OK, resumed.message
    assert resumed.total("google").created == EVENTS - 3
    assert_all_synced_once(world)
    assert world.store.budget_waits("alice") == []
    # Nothing left behind: one more round writes nothing.
    world.clear_log()
    assert service.sync_user("alice").status is UserStatus.OK
    assert google_writes(world) == 0


def test_stop_then_resume_on_the_next_quota_day(world: World) -> None:
    """The same budget, not raised: rounds wait until midnight Pacific time (08:00 UTC in
    March before daylight saving time starts), then the new quota day's calls finish the job;
    a round at 07:59 UTC still waits."""
    clock = Clock(EVENING)
    world.now = EVENING
    crm_events(world, EVENING)
    service, _budget = budgeted(world, clock, Limits(project=1000, user=4))
    first_round_stops(world, service)

    clock.now = datetime(2026, 3, 3, 7, 59, tzinfo=UTC)
    world.clear_log()
    assert service.sync_user("alice").status is UserStatus.WAITING
    assert world.requests() == []

    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # midnight in Los Angeles
    resumed = service.sync_user("alice")
    # A listing and the three inserts left: four calls, the new day's whole budget.
    assert resumed.status is UserStatus.OK, resumed.message
    assert resumed.api_calls == 4
    assert_all_synced_once(world)
    assert world.store.calls_on(day_of(clock.now), "alice", Api.CALENDAR) == 4


def test_a_spent_tasks_budget_leaves_the_calendar_syncing(world: World) -> None:
    """The Tasks API's budget is its own: once it stops the to-dos, events still travel on
    later rounds while the to-dos wait; a raised Tasks budget brings every to-do over once."""
    clock = Clock(EVENING)
    world.now = EVENING
    world.prefs(tasklist="@default")
    for n in range(4):
        world.crm.add_task("alice", Task(f"To-do {n}"))
    service, budget = budgeted(world, clock, Limits(project=1000, user=100))
    budget.limits[Api.TASKS] = Limits(project=1000, user=3)
    report = service.sync_user("alice")
    assert report.status is UserStatus.WAITING, report.message
    assert "3 tasks API calls" in report.message
    (wait,) = world.store.budget_waits("alice")
    assert (wait.api, wait.stopped_in) == ("tasks", "task:@default")
    synced = len(world.g.tasks())
    assert 0 < synced < 4

    crm_events(world, EVENING)
    clock.now += timedelta(minutes=10)
    world.clear_log()
    again = service.sync_user("alice")
    assert again.status is UserStatus.WAITING
    assert again.total("google").created == EVENTS
    assert not [r for r in world.requests() if "/tasks/" in r["path"]]
    assert len(world.g.tasks()) == synced

    budget.limits[Api.TASKS] = Limits(project=1000, user=50)
    assert service.sync_user("alice").status is UserStatus.OK
    assert sorted(t["title"] for t in world.g.tasks()) == [f"To-do {n}" for n in range(4)]
    assert len(world.pairs(Kind.TASK)) == 4
