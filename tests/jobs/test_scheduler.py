"""The embedded scheduler's requested rounds: `enqueue_user_sync` reaches the running
scheduler, which runs that user's round at once (not at the next interval), once per burst of
requests, and again later when the user was busy."""

from __future__ import annotations

import threading
from typing import cast

from calsync.jobs import enqueue_user_sync
from calsync.jobs.scheduler import Scheduler, running_scheduler
from calsync.service import SyncService, UserReport, UserStatus

WAIT = 30.0


class Rounds:
    """Records the rounds asked of it; answers BUSY to the first `busy` rounds."""

    def __init__(self, busy: int = 0) -> None:
        self.busy = busy
        self.users: list[str] = []
        self.polls = 0
        self.done = threading.Semaphore(0)
        self.gate = threading.Event()
        self.gate.set()

    def sync_user(self, name: str) -> UserReport:
        self.gate.wait(WAIT)
        self.users.append(name)
        self.done.release()
        if self.busy:
            self.busy -= 1
            return UserReport(name, UserStatus.BUSY, "a round is running")
        return UserReport(name, UserStatus.OK)

    def sync_all(self) -> list[UserReport]:
        self.polls += 1
        return []


def _scheduler(rounds: Rounds) -> Scheduler:
    return Scheduler(cast(SyncService, rounds), interval=3600).start()


def test_enqueue_without_a_scheduler_says_so() -> None:
    assert running_scheduler() is None
    assert enqueue_user_sync("alice") is False


def test_a_requested_round_runs_now_not_at_the_interval() -> None:
    rounds = Rounds()
    scheduler = _scheduler(rounds)
    try:
        assert enqueue_user_sync("alice") is True
        assert rounds.done.acquire(timeout=WAIT)
        assert rounds.users == ["alice"] and rounds.polls == 0
    finally:
        scheduler.stop()
    assert running_scheduler() is None


def test_requests_during_a_wait_make_one_round() -> None:
    """Many notifications for a user still waiting for its round: one round."""
    rounds = Rounds()
    rounds.gate.clear()
    scheduler = _scheduler(rounds)
    try:
        enqueue_user_sync("bob")  # taken by the thread, held at the gate
        for _ in range(5):
            enqueue_user_sync("alice")
        rounds.gate.set()
        assert rounds.done.acquire(timeout=WAIT) and rounds.done.acquire(timeout=WAIT)
        assert not rounds.done.acquire(timeout=0.5)
        assert sorted(rounds.users) == ["alice", "bob"]
    finally:
        scheduler.stop()


def test_a_busy_user_is_tried_again() -> None:
    """The round running meanwhile may have read Google before the change: try again."""
    rounds = Rounds(busy=1)
    scheduler = _scheduler(rounds)
    try:
        scheduler.request("alice")
        assert rounds.done.acquire(timeout=WAIT) and rounds.done.acquire(timeout=WAIT)
        assert rounds.users == ["alice", "alice"]
    finally:
        scheduler.stop()
