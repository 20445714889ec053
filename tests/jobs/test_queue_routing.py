"""`calsync.jobs.enqueue_user_sync` reaches whatever runs rounds in this process: the embedded
scheduler (the round runs at once, in its thread), or, with a broker, the beat's Celery queue
(a job is sent, at most one waiting per user); and the Celery task runs a round only when no
other round of the user runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from calsync.config import Settings
from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.jobs import enqueue_user_sync
from calsync.jobs.celery_app import (
    QUEUE,
    Beat,
    CeleryQueue,
    QueuedMarks,
    make_celery,
    register_round_task,
)
from calsync.jobs.scheduler import Scheduler
from calsync.model import Event
from calsync.service import SyncService, UserReport, UserStatus
from calsync.state.store import Store
from tests.distributed.cluster import free_redis_db
from tests.scenarios.drivers import LocalDriver
from tests.scenarios.test_postgres import soon
from tests.scenarios.world import make_world

WAIT = 30.0


class Rounds:
    """Records the rounds asked of it."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self.done = threading.Semaphore(0)

    def sync_user(self, name: str) -> UserReport:
        self.users.append(name)
        self.done.release()
        return UserReport(name, UserStatus.OK)

    def sync_all(self) -> list[UserReport]:
        return []


@pytest.fixture
def broker() -> Iterator[str]:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    url = free_redis_db()
    yield url
    redis.Redis.from_url(url).flushdb()


def test_nothing_running_rounds_says_so() -> None:
    assert enqueue_user_sync("alice") is False


def test_the_embedded_scheduler_runs_a_requested_round_now() -> None:
    rounds = Rounds()
    scheduler = Scheduler(cast(SyncService, rounds), interval=3600).start()
    try:
        assert enqueue_user_sync("alice") is True
        assert rounds.done.acquire(timeout=WAIT)
        assert rounds.users == ["alice"]
    finally:
        scheduler.stop()
    assert enqueue_user_sync("alice") is False


class NoUsers:
    """A state store without linked users (the beat's first tick sends nothing)."""

    def linked_users(self) -> list[str]:
        return []


def test_with_a_broker_a_job_is_sent_and_one_waits_per_user(broker: str, tmp_path: Path) -> None:
    """Requests for a user whose job has not started yet add no job; once it started, the
    next request sends another (the round running may have read Google before the change)."""
    queue = CeleryQueue.for_settings(Settings(data_dir=tmp_path, broker_url=broker))
    client = redis.Redis.from_url(broker)
    beat = Beat(queue, cast(Store, NoUsers()), interval=3600).start()
    try:
        assert enqueue_user_sync("alice") is True
        assert enqueue_user_sync("alice") is True
        assert enqueue_user_sync("bob") is True
        assert client.llen(QUEUE) == 2
        queue.marks.clear("alice")  # what the task does when alice's round starts
        enqueue_user_sync("alice")
        assert client.llen(QUEUE) == 3
    finally:
        beat.stop()
    assert enqueue_user_sync("alice") is False


@pytest.fixture
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


def test_a_job_never_runs_beside_its_users_round(
    broker: str, google_url: str, tmp_path: Path
) -> None:
    """While another round of alice holds her lock, her job runs no round: it is tried again
    (at once here, Celery's eager mode) until its retries are spent and ends "busy". Once the
    lock is free the job syncs her events."""
    world = make_world(google_url, LocalDriver(tmp_path), tmp_path)
    world.crm.add_event("alice", Event("Kickoff", soon()))
    settings = Settings(data_dir=tmp_path, broker_url=broker)
    marks = QueuedMarks.for_settings(settings)
    task = register_round_task(make_celery(settings), world.service, marks, busy_retry=0)
    with world.store.user_lock("alice"):
        busy = task.apply(args=["alice"])
    assert busy.result == "busy"
    assert world.store.last_run("alice") is None
    assert marks.mark("alice")  # the job took its mark away when it started
    done = task.apply(args=["alice"])
    assert done.state == "SUCCESS" and done.result == "ok"
    assert set(world.google_events()) == {"Kickoff"}
    assert marks.mark("alice")
