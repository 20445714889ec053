"""Running sync rounds on a schedule: in process (one machine) or on Celery workers (scale).

`enqueue_user_sync(user)` asks for one user's round now (a Google push notification).
"""

from calsync.jobs.queue import enqueue_user_sync

__all__ = ["enqueue_user_sync"]
