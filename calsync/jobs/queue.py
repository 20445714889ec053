"""Asking for one user's round now, from wherever a change is noticed (a Google push
notification): `enqueue_user_sync(user)`.

Embedded (no broker): the scheduler running in this process runs it as soon as it can.
"""

from __future__ import annotations

import logging

from calsync.jobs.scheduler import running_scheduler

_LOGGER = logging.getLogger(__name__)


def enqueue_user_sync(user: str) -> bool:
    """Queue a round of `user`; return False when nothing in this process runs rounds (the
    change then waits for the next scheduled round elsewhere)."""
    scheduler = running_scheduler()
    if scheduler is None:
        _LOGGER.warning("no scheduler runs here: the round of %s asked for is not queued", user)
        return False
    scheduler.request(user)
    return True
