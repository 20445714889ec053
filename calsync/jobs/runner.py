"""What runs the rounds of this process: the embedded scheduler, or the beat feeding Celery.

`start_jobs(app)` starts the one the settings ask for (a broker configured: the beat, which
enqueues a job per due user for the workers; none: the embedded scheduler, which runs the
rounds itself) and makes it this process's target for `enqueue_user_sync(user)`, the one call
that asks for a user's round at once (e.g. when Google notifies a change). The web app is
handed `Jobs.enqueue_user_sync` (or calls the module function) without knowing which it is.

Public API: `start_jobs(app) -> Jobs`, `Jobs`, `enqueue_user_sync(user)`, `SyncQueue`.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from calsync.jobs.scheduler import Scheduler
from calsync.wiring import App

_LOGGER = logging.getLogger(__name__)


class SyncQueue(Protocol):
    """Something that runs, or has a worker run, a user's round soon."""

    def enqueue_user_sync(self, user: str) -> object:
        """Ask for a round of `user` as soon as possible."""
        ...


class Runner(Protocol):
    """A thread that runs or enqueues rounds until stopped."""

    def stop(self) -> None:
        """Stop it (the round running now ends first)."""
        ...


class Jobs:
    """The round runner started in this process (scheduler or beat) and its queue."""

    def __init__(
        self,
        queue: SyncQueue,
        running: Runner,
        *,
        distributed: bool,
    ) -> None:
        self.queue = queue
        self.distributed = distributed
        """True when the rounds run on Celery workers (a broker is configured)."""
        self._running = running

    def enqueue_user_sync(self, user: str) -> None:
        """Ask for a round of `user` now: a Celery job, or a round in the scheduler's thread."""
        self.queue.enqueue_user_sync(user)

    def stop(self) -> None:
        """Stop the scheduler or the beat, and stop being this process's target."""
        global _active
        self._running.stop()
        with _guard:
            if _active is self:
                _active = None


_active: Jobs | None = None
_guard = threading.Lock()


def start_jobs(app: App) -> Jobs:
    """Start the round runner the settings ask for; it becomes `enqueue_user_sync`'s target."""
    global _active
    settings = app.settings
    if settings.broker_url:
        from calsync.jobs.celery_app import Beat, CeleryQueue

        queue = CeleryQueue.for_settings(settings)
        beat = Beat(queue, app.store, settings.sync_interval).start()
        jobs = Jobs(queue, beat, distributed=True)
    else:
        scheduler = Scheduler(app.service, settings.sync_interval).start()
        jobs = Jobs(scheduler, scheduler, distributed=False)
    with _guard:
        _active = jobs
    return jobs


def enqueue_user_sync(user: str) -> None:
    """Ask for a round of `user` now, through the runner `start_jobs` started in this process.

    With a broker it sends a Celery job (unless one for the user already waits); without, the
    embedded scheduler runs the round in its thread. RuntimeError when none was started.
    """
    with _guard:
        jobs = _active
    if jobs is None:
        raise RuntimeError("no round runner started in this process (see start_jobs)")
    jobs.enqueue_user_sync(user)
