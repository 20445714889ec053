"""Sync rounds on Celery workers: the app, the task running one user's round, the beat.

A job is one user's round. Workers on any number of machines take jobs from the Redis
broker and run them through the same `SyncService` as the embedded scheduler, on a shared
PostgreSQL state store; the user's lock keeps two rounds of one user from overlapping.

A job is acknowledged only once its round ended (`acks_late`), and each worker takes one job
at a time (prefetch 1), so a worker killed mid-round leaves its job unacknowledged; the broker
hands it to another worker after `broker_visibility_timeout`, whose round picks up where the
dead one stopped (rounds commit after each action and adopt what a lost reply created, so
nothing is lost or made twice). A job whose user's round is running elsewhere is tried again
a little later, never run beside it.

Enqueuing is deduplicated: a user has at most one job waiting (a `calsync:queued:<user>` key
in Redis, set when the job is sent, removed when its round starts), so any number of beats,
and the web app's requests, may enqueue without piling up rounds.

Public API: `make_celery(settings)`, `register_round_task(app, service, marks)`, `QueuedMarks`,
`CeleryQueue` (`request`, `enqueue_due`), `Beat`, `running_queue()` (the queue of the beat
started in this process, for `calsync.jobs.enqueue_user_sync`), `check_broker_url`,
`TASK_NAME`, `QUEUE`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery, Task

from calsync.config import Settings
from calsync.errors import ConfigError
from calsync.jobs.running import Running
from calsync.service import PushService, SyncService, UserStatus
from calsync.state.store import Store

_LOGGER = logging.getLogger(__name__)

TASK_NAME = "calsync.sync_user"
QUEUE = "calsync"
MARK_PREFIX = "calsync:queued:"
BUSY_RETRIES = 3
"""How many times a job whose user was busy is tried again before polling takes over."""


def check_broker_url(url: str | None) -> str:
    """Return the broker URL, or raise ConfigError when calsync cannot use it."""
    if not url:
        raise ConfigError(
            "no broker configured: set CALSYNC_BROKER_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss"):
        raise ConfigError(
            f"CALSYNC_BROKER_URL must be a Redis URL (redis:// or rediss://), not {scheme}://"
        )
    return url


def make_celery(settings: Settings) -> Celery:
    """Return the Celery app on the configured broker (no task registered: `send_task` works)."""
    app = Celery("calsync", broker=check_broker_url(settings.broker_url), set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Acknowledge a job when its round ended, and give it back if the worker died.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(settings.broker_visibility_timeout),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def transport_options(visibility_timeout: int) -> dict[str, int]:
    """Return the Redis transport's options for jobs given back after `visibility_timeout`.

    Each worker looks for jobs whose worker died (unacknowledged past the timeout) every
    tenth of it, at most every 10 s; kombu's own default looks every ~100 s whatever the
    timeout, so a short one alone would not bring a dead worker's job back sooner.
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }


class QueuedMarks:
    """The Redis keys saying that a user has a job waiting (at most one at a time)."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self._redis = client
        self._ttl = ttl

    @classmethod
    def for_settings(cls, settings: Settings) -> QueuedMarks:
        """Return the marks in the broker's Redis; they expire with a lost job's chance."""
        client = redis.Redis.from_url(check_broker_url(settings.broker_url))
        ttl = int(max(settings.broker_visibility_timeout, settings.sync_interval))
        return cls(client, ttl)

    def mark(self, user: str) -> bool:
        """Mark `user` as having a job waiting; False when one already waits."""
        return bool(self._redis.set(MARK_PREFIX + user, "1", nx=True, ex=self._ttl))

    def clear(self, user: str) -> None:
        """Say that `user`'s waiting job has started: a later request needs a new job."""
        self._redis.delete(MARK_PREFIX + user)


class CeleryQueue:
    """Sends round jobs to the workers."""

    def __init__(self, app: Celery, marks: QueuedMarks) -> None:
        self.app = app
        self.marks = marks

    @classmethod
    def for_settings(cls, settings: Settings) -> CeleryQueue:
        return cls(make_celery(settings), QueuedMarks.for_settings(settings))

    def request(self, user: str) -> bool:
        """Send a job for `user`'s round unless one already waits; True when one was sent."""
        if not self.marks.mark(user):
            return False
        try:
            self.app.send_task(TASK_NAME, args=[user], queue=QUEUE)
        except BaseException:
            self.marks.clear(user)
            raise
        return True

    def enqueue_due(self, store: Store) -> int:
        """Send a job for every linked user without one waiting; return how many were sent."""
        sent = 0
        # Links needing reconnection are left out: their round would only say so again.
        for user in store.linked_users():
            sent += self.request(user)
        return sent


def register_round_task(
    app: Celery, service: SyncService, marks: QueuedMarks, busy_retry: float = 15.0
) -> Task:
    """Register the task running one user's round through `service`; return it."""

    @app.task(  # type: ignore[untyped-decorator]
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=BUSY_RETRIES,
        ignore_result=True,
    )
    def sync_user(task: Any, user: str) -> str:
        # Cleared before the round: a request arriving during it gets a job of its own.
        marks.clear(user)
        report = service.sync_user(user)
        _LOGGER.info("job %s: %s %s", user, report.status, report.message)
        if report.status is UserStatus.BUSY and task.request.retries < BUSY_RETRIES:
            # Its round runs elsewhere (or this job was handed out twice): never beside it,
            # and it may have started before what this job was sent for; try again later.
            raise task.retry(countdown=busy_retry)
        return report.status.value

    return sync_user


_running: Running[CeleryQueue] = Running()


def running_queue() -> CeleryQueue | None:
    """Return the queue of the beat started in this process and not stopped, or None."""
    return _running.get()


class Beat:
    """A thread enqueuing every due user's round at start, then every `interval` seconds;
    with `push`, it keeps the push channels up after each time, as the scheduler does."""

    def __init__(
        self,
        queue: CeleryQueue,
        store: Store,
        interval: float,
        *,
        push: PushService | None = None,
    ) -> None:
        self.queue = queue
        self.store = store
        self.interval = interval
        self.push = push
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="calsync-beat", daemon=True)

    def start(self) -> Beat:
        _running.started(self.queue)
        self._thread.start()
        return self

    def stop(self) -> None:
        _running.stopped(self.queue)
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            try:
                sent = self.queue.enqueue_due(self.store)
                _LOGGER.info("beat: %d round jobs sent", sent)
            except Exception:  # a broker or database hiccup: try again next time
                _LOGGER.exception("beat: enqueuing failed")
            self._maintain()
            # Jitter is not needed here: the workers spread the jobs over time.
            if self._stop.wait(self.interval):
                return

    def _maintain(self) -> None:
        if self.push is None:
            return
        try:
            done = self.push.maintain_all()
        except Exception:  # Google or the database: channels are tried again next time
            _LOGGER.exception("maintaining push channels failed")
            return
        if done.opened or done.renewed or done.stopped or done.failed:
            _LOGGER.info(
                "push channels: %d opened, %d renewed, %d stopped, %d failed",
                done.opened,
                done.renewed,
                done.stopped,
                done.failed,
            )
