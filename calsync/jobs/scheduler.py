"""The embedded scheduler: a thread that runs a round for every linked user at an interval.

Rounds of one user never overlap (the service takes the user's lock); a manual "sync now"
arriving during a scheduled round is answered "busy" and its edits are picked up next round.
`request(user)` asks for one user's round at once (e.g. on a push notification); it runs in
the scheduler's thread, and a user whose round is running elsewhere is tried again a little
later.

Public API: `Scheduler(service, interval)` with `start`, `stop`, `request`;
`running_scheduler()`, the one started in this process (for `calsync.jobs.enqueue_user_sync`).
"""

from __future__ import annotations

import logging
import random
import threading
import time

from calsync.service import SyncService, UserReport, UserStatus

_LOGGER = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 2.0
"""How long a requested round waits before it is tried again when the user was busy."""
BUSY_RETRIES = 30
"""How many times a requested round is tried again before the next scheduled one takes over."""


_running: Scheduler | None = None
_running_lock = threading.Lock()


def running_scheduler() -> Scheduler | None:
    """Return the scheduler started in this process and not stopped, or None."""
    with _running_lock:
        return _running


class Scheduler:
    """Run `service.sync_all()` every `interval` seconds (±10 % jitter) until stopped, and the
    rounds asked for with `request` as soon as they are asked for."""

    def __init__(
        self,
        service: SyncService,
        interval: float = 900.0,
        busy_retry: float = BUSY_RETRY_SECONDS,
    ) -> None:
        self.service = service
        self.interval = interval
        self.busy_retry = busy_retry
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._guard = threading.Lock()
        self._pending: dict[str, tuple[float, int]] = {}
        """Users whose round was asked for: when it may run (monotonic) and tries so far."""
        self._thread = threading.Thread(target=self._loop, name="calsync-scheduler", daemon=True)

    def start(self) -> Scheduler:
        global _running
        with _running_lock:
            _running = self
        self._thread.start()
        return self

    def stop(self) -> None:
        global _running
        with _running_lock:
            if _running is self:
                _running = None
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def request(self, user: str) -> None:
        """Run a round of `user` as soon as possible (once, however often asked meanwhile)."""
        with self._guard:
            self._pending.setdefault(user, (time.monotonic(), 0))
        self._wake.set()

    def _next_interval(self) -> float:
        # Jitter spreads the calls of many installs apart, as Google asks.
        return self.interval * random.uniform(0.9, 1.1)

    def _loop(self) -> None:
        next_round = time.monotonic() + self._next_interval()
        while not self._stop.is_set():
            now = time.monotonic()
            with self._guard:
                wake_at = min([next_round, *(at for at, _ in self._pending.values())])
            self._wake.wait(max(0.0, wake_at - now))
            self._wake.clear()
            if self._stop.is_set():
                return
            self._run_requested()
            if time.monotonic() >= next_round:
                self._run_all()
                next_round = time.monotonic() + self._next_interval()

    def _due_requests(self) -> list[tuple[str, int]]:
        now = time.monotonic()
        with self._guard:
            due = [(user, tries) for user, (at, tries) in self._pending.items() if at <= now]
            for user, _ in due:
                del self._pending[user]
        return due

    def _run_requested(self) -> None:
        for user, tries in self._due_requests():
            try:
                report = self.service.sync_user(user)
            except Exception:  # keep the scheduler alive whatever one round did
                _LOGGER.exception("requested round of %s failed", user)
                continue
            if report.status is UserStatus.BUSY and tries < BUSY_RETRIES:
                # Its round is running elsewhere and may have started before what was asked
                # for happened: try again once that round is likely over.
                with self._guard:
                    self._pending.setdefault(user, (time.monotonic() + self.busy_retry, tries + 1))
            _log(report, "requested")

    def _run_all(self) -> None:
        try:
            reports = self.service.sync_all()
        except Exception:  # keep the scheduler alive whatever one round did
            _LOGGER.exception("scheduled round failed")
            return
        for rep in reports:
            _log(rep, "scheduled")


def _log(report: UserReport, what: str) -> None:
    _LOGGER.info("%s round %s: %s %s", what, report.user, report.status, report.message)
