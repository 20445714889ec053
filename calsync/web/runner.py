"""Runs "Sync now" rounds in background threads and remembers each user's latest status."""

from __future__ import annotations

import inspect
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
    """running, or how the round ended (the service's status: ok, failed, paused, ...)."""
    started: datetime
    ok: bool = True
    finished: datetime | None = None
    summary: str = ""
    error: str = ""
    note: str = ""
    """Why a successful round did nothing (e.g. sync is paused)."""
    step: str = ""
    """What the running round is doing, as the service reports it (e.g. "events (primary)")."""

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
        # The lead's SyncService reports steps through `progress=`; simpler services may not.
        try:
            params = inspect.signature(service.sync_user).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        self._progress = "progress" in params

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
            if self._progress:
                report = self._service.sync_user(  # type: ignore[call-arg]
                    user, progress=lambda text: self._step(user, text)
                )
            else:
                report = self._service.sync_user(user)
        except Exception as err:  # one failed round must not kill the app; it is shown
            _LOGGER.warning("sync of %s failed: %s", user, err, exc_info=True)
            self._metrics.syncs.labels("failed").inc()
            self._metrics.failures.inc()
            self._finish(user, "failed", False, error=_describe_error(err))
        else:
            calls = getattr(report, "api_calls", None)
            if isinstance(calls, int) and calls > 0:
                self._metrics.api_calls.inc(calls)
            state, ok = report_outcome(report)
            self._metrics.syncs.labels("ok" if ok else "failed").inc()
            if not ok:
                self._metrics.failures.inc()
            message = str(getattr(report, "message", "") or getattr(report, "error", "") or "")
            self._finish(
                user,
                state,
                ok,
                summary=describe_report(report),
                error="" if ok else message,
                note=message if ok else "",
            )
        finally:
            self._metrics.latency.observe(time.perf_counter() - t0)

    def _step(self, user: str, text: str) -> None:
        with self._lock:
            current = self._status.get(user)
            if current is not None and current.running:
                # The service prefixes steps with the user's name; the page needs no repeat.
                self._status[user] = replace(current, step=text.removeprefix(f"{user}: "))

    def _finish(
        self,
        user: str,
        state: str,
        ok: bool,
        summary: str = "",
        error: str = "",
        note: str = "",
    ) -> None:
        with self._lock:
            current = self._status[user]
            self._status[user] = replace(
                current,
                state=state,
                ok=ok,
                finished=_now(),
                summary=summary,
                error=error,
                note=note,
            )


def report_outcome(report: object) -> tuple[str, bool]:
    """Return (status, success) of a sync report: `status` with `.success`, or `ok`/`failed`."""
    status = getattr(report, "status", None)
    if status is not None:
        success = getattr(status, "success", None)
        ok = bool(success) if success is not None else str(status) == "ok"
        return str(status), ok
    failed = bool(getattr(report, "failed", False)) or getattr(report, "ok", True) is False
    return ("failed", False) if failed else ("ok", True)


def _describe_error(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 500 else text[:497] + "..."


def _now() -> datetime:
    return datetime.now(UTC)
