"""The embedded scheduler: a thread that runs a round for every linked user at an interval,
and another that runs the rounds asked for in between (a Google push notification).

Rounds of one user never overlap (the service takes the user's lock); a manual "sync now"
arriving during a scheduled round is answered "busy" and its edits are picked up next round.
A requested round that finds its user busy is tried again a little later, since the running
round may have read Google before the change it was asked for.

With `processes` (a `ProcessRounds`, `CALSYNC_PROCESSES` above 1), the round of every user is
shared by its child processes, kept from one round to the next and stopped with the scheduler;
requested rounds stay in this process.

Public API: `Scheduler(service, interval=..., push=..., processes=...)` with `start`, `stop`,
`request`;
`running_scheduler()`, the one started in this process (for `calsync.jobs.enqueue_user_sync`).
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time

from calsync.jobs.processes import ProcessRounds
from calsync.jobs.running import Running
from calsync.service import PushService, SyncService, UserStatus

_LOGGER = logging.getLogger(__name__)

BUSY_RETRY = 2.0
"""Seconds before a requested round that found its user busy is tried again."""
BUSY_TRIES = 30

_running: Running[Scheduler] = Running()


def running_scheduler() -> Scheduler | None:
    """Return the scheduler started in this process and not stopped, or None."""
    return _running.get()


class Scheduler:
    """Run `service.sync_all()` every `interval` seconds (±10 % jitter) until stopped; run
    requested users' rounds as soon as possible; keep push channels up (every `push_every`
    seconds and after each scheduled round) when `push` is given; with `processes`, its
    children run the rounds of every user (`stop` closes it)."""

    def __init__(
        self,
        service: SyncService,
        interval: float = 900.0,
        *,
        push: PushService | None = None,
        push_every: float = 3600.0,
        processes: ProcessRounds | None = None,
    ) -> None:
        self.service = service
        self.processes = processes
        self.interval = interval
        self.push = push
        self.push_every = push_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="calsync-scheduler", daemon=True)
        self._asked = threading.Thread(
            target=self._asked_loop, name="calsync-requested-rounds", daemon=True
        )
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, str, int]] = []
        """(due, order, user, tries) of requested rounds."""
        self._queued: set[str] = set()
        self._order = 0

    def start(self) -> Scheduler:
        _running.started(self)
        self._thread.start()
        self._asked.start()
        return self

    def stop(self) -> None:
        _running.stopped(self)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=30)
        self._asked.join(timeout=30)
        if self.processes is not None:
            self.processes.close()

    def request(self, user: str) -> None:
        """Run a round of `user` as soon as possible (once, however often asked meanwhile)."""
        self._add(user, 0.0, 1)

    def _add(self, user: str, delay: float, tries: int) -> None:
        with self._cond:
            if user in self._queued:
                return
            self._queued.add(user)
            self._order += 1
            heapq.heappush(self._queue, (time.monotonic() + delay, self._order, user, tries))
            self._cond.notify()

    def _next_asked(self) -> tuple[str, int] | None:
        with self._cond:
            while not self._stop.is_set():
                if self._queue:
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        _, _, user, tries = heapq.heappop(self._queue)
                        # Asked again from now on: a change after this point needs a new round.
                        self._queued.discard(user)
                        return user, tries
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
        return None

    def _asked_loop(self) -> None:
        while (asked := self._next_asked()) is not None:
            user, tries = asked
            try:
                report = self.service.sync_user(user)
            except Exception:  # keep the thread alive whatever one round did
                _LOGGER.exception("requested round of %s failed", user)
                continue
            _LOGGER.info("requested round %s: %s %s", user, report.status, report.message)
            if report.status is UserStatus.BUSY and tries < BUSY_TRIES:
                self._add(user, BUSY_RETRY, tries + 1)

    def _loop(self) -> None:
        self._maintain()
        next_round = time.monotonic() + self.interval * random.uniform(0.9, 1.1)
        next_push = time.monotonic() + self.push_every
        while not self._stop.wait(max(0.0, min(next_round, next_push) - time.monotonic())):
            now = time.monotonic()
            if now >= next_round:
                # Jitter spreads the calls of many installs apart, as Google asks.
                next_round = now + self.interval * random.uniform(0.9, 1.1)
                self._round()
                next_push = time.monotonic()  # channels follow what the round learnt
            if time.monotonic() >= next_push:
                next_push = time.monotonic() + self.push_every
                self._maintain()

    def _round(self) -> None:
        try:
            every = self.processes or self.service
            reports = every.sync_all()
        except Exception:  # keep the scheduler alive whatever one round did
            _LOGGER.exception("scheduled round failed")
            return
        for rep in reports:
            _LOGGER.info("scheduled round %s: %s %s", rep.user, rep.status, rep.message)

    def _maintain(self) -> None:
        if self.push is None or self._stop.is_set():
            return
        try:
            done = self.push.maintain_all()
        except Exception:
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
