"""Asking for one user's round now, from wherever a change is noticed (a Google push
notification): `enqueue_user_sync(user)`.

With a broker (`CALSYNC_BROKER_URL`), the beat started in this process sends a Celery job
(unless one for the user already waits). Embedded (no broker): the scheduler running in this
process runs the round as soon as it can.
"""

from __future__ import annotations

import logging

from calsync.jobs.scheduler import running_scheduler

_LOGGER = logging.getLogger(__name__)


def enqueue_user_sync(user: str) -> bool:
    """Queue a round of `user`; return False when nothing in this process runs rounds (the
    change then waits for the next scheduled round elsewhere)."""
    scheduler = running_scheduler()
    if scheduler is not None:
        scheduler.request(user)
        return True
    try:
        from calsync.jobs.celery_app import running_queue
    except ImportError:  # the `distributed` extra is not installed: no broker can be in use
        queue = None
    else:
        queue = running_queue()
    if queue is not None:
        queue.request(user)
        return True
    _LOGGER.warning("no scheduler runs here: the round of %s asked for is not queued", user)
    return False
