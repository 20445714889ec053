"""The embedded scheduler: a thread that runs a round for every linked user at an interval.

Rounds of one user never overlap (the service takes the user's lock); a manual "sync now"
arriving during a scheduled round is answered "busy" and its edits are picked up next round.
"""

from __future__ import annotations

import logging
import random
import threading

from calsync.service import SyncService

_LOGGER = logging.getLogger(__name__)


class Scheduler:
    """Run `service.sync_all()` every `interval` seconds (±10 % jitter) until stopped."""

    def __init__(self, service: SyncService, interval: float = 900.0) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="calsync-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        # Jitter spreads the calls of many installs apart, as Google asks.
        while not self._stop.wait(self.interval * random.uniform(0.9, 1.1)):
            try:
                reports = self.service.sync_all()
            except Exception:  # keep the scheduler alive whatever one round did
                _LOGGER.exception("scheduled round failed")
                continue
            for rep in reports:
                _LOGGER.info("scheduled round %s: %s %s", rep.user, rep.status, rep.message)
