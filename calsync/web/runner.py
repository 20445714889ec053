"""Runs "Sync now" rounds in background threads and remembers each user's latest status.

The round service counts every round in its metrics; this only keeps what the page shows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from calsync.service import RoundService, UserReport
from calsync.web.summary import describe_counts

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
    counts: dict[str, Any] = field(default_factory=dict)
    """The counts behind `summary`, for the page to word in its reader's language."""
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

    def __init__(self, service: RoundService) -> None:
        self._service = service
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
        try:
            report = self._service.sync_user(user, progress=lambda text: self._step(user, text))
        except Exception as err:  # one failed round must not kill the app; it is shown
            _LOGGER.warning("sync of %s failed: %s", user, err, exc_info=True)
            self._finish(user, "failed", False, error=_describe_error(err))
        else:
            self._finish_with(user, report)

    def _finish_with(self, user: str, report: UserReport) -> None:
        ok = report.status.success
        self._finish(
            user,
            report.status.value,
            ok,
            summary=describe_counts(report.counts()),
            counts=report.counts(),
            error="" if ok else report.message,
            note=report.message if ok else "",
        )

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
        counts: dict[str, Any] | None = None,
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
                counts=counts or {},
                error=error,
                note=note,
            )


def _describe_error(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 500 else text[:497] + "..."


def _now() -> datetime:
    return datetime.now(UTC)
