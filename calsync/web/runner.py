"""Runs "Sync now" rounds in background threads and remembers each user's latest status."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from calsync.web.metrics import WebMetrics
from calsync.web.services import SyncServiceLike, describe_report

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunStatus:
    """What the status fragment shows about a user's round started here."""

    user: str
    state: str
    """running | ok | failed."""
    started: datetime
    finished: datetime | None = None
    summary: str = ""
    error: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"


class SyncRunner:
    """At most one round per user at a time (the service also locks across processes)."""

    def __init__(self, service: SyncServiceLike, metrics: WebMetrics) -> None:
        self._service = service
        self._metrics = metrics
        self._lock = threading.Lock()
        self._status: dict[str, RunStatus] = {}
        self._threads: dict[str, threading.Thread] = {}

    def start(self, user: str) -> bool:
        """Start a round for `user` in the background; False when one is already running."""
        with self._lock:
            current = self._status.get(user)
            if current is not None and current.running:
                return False
            self._status[user] = RunStatus(user=user, state="running", started=_now())
            thread = threading.Thread(
                target=self._run, args=(user,), name=f"sync-{user}", daemon=True
            )
            self._threads[user] = thread
        thread.start()
        return True

    def status(self, user: str) -> RunStatus | None:
        """Return the latest round started here for `user`, or None."""
        with self._lock:
            return self._status.get(user)

    def wait(self, user: str, timeout: float = 60) -> RunStatus | None:
        """Wait for the user's running round to end (tests, shutdown); return its status."""
        thread = self._threads.get(user)
        if thread is not None:
            thread.join(timeout)
        return self.status(user)

    def _run(self, user: str) -> None:
        t0 = time.perf_counter()
        try:
            report = self._service.sync_user(user)
        except Exception as err:  # one failed round must not kill the app; it is shown
            _LOGGER.warning("sync of %s failed: %s", user, err, exc_info=True)
            self._metrics.syncs.labels("failed").inc()
            self._metrics.failures.inc()
            self._finish(user, "failed", error=_describe_error(err))
        else:
            calls = getattr(report, "api_calls", None)
            if isinstance(calls, int) and calls > 0:
                self._metrics.api_calls.inc(calls)
            failed = bool(getattr(report, "failed", False)) or getattr(report, "ok", True) is False
            self._metrics.syncs.labels("failed" if failed else "ok").inc()
            if failed:
                self._metrics.failures.inc()
            error = str(getattr(report, "error", "") or "") if failed else ""
            self._finish(
                user, "failed" if failed else "ok", summary=describe_report(report), error=error
            )
        finally:
            self._metrics.latency.observe(time.perf_counter() - t0)

    def _finish(self, user: str, state: str, summary: str = "", error: str = "") -> None:
        with self._lock:
            current = self._status[user]
            self._status[user] = replace(
                current, state=state, finished=_now(), summary=summary, error=error
            )


def _describe_error(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 500 else text[:497] + "..."


def _now() -> datetime:
    return datetime.now(UTC)
