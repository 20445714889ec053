"""The background runner behind "Sync now": any service shape, outcomes, metrics."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from calsync.web.metrics import WebMetrics
from calsync.web.runner import SyncRunner


class Plain:
    """A service with only `sync_user(name)` (no progress reporting)."""

    def sync_user(self, user_name: str) -> dict[str, int]:
        return {"created": 2}


class Status(enum.StrEnum):
    OK = "ok"
    NEEDS_RECONNECT = "needs_reconnect"

    @property
    def success(self) -> bool:
        return self is Status.OK


@dataclass
class ShapedReport:
    status: Status
    message: str = ""

    def counts(self) -> dict[str, dict[str, int]]:
        return {"crm": {"created": 0}, "google": {"created": 3, "updated": 1}}


class Shaped:
    def __init__(self, status: Status, message: str = "") -> None:
        self.report = ShapedReport(status, message)

    def sync_user(self, user_name: str) -> ShapedReport:
        return self.report


class Broken:
    def sync_user(self, user_name: str) -> object:
        raise RuntimeError("CRM down")


def _run(service: object) -> tuple[SyncRunner, WebMetrics]:
    metrics = WebMetrics()
    runner = SyncRunner(service, metrics)  # type: ignore[arg-type]
    assert runner.start("alice")
    runner.wait("alice")
    return runner, metrics


def test_a_plain_service_works() -> None:
    """Any object with sync_user(name) will do; its report is summarised."""
    runner, _ = _run(Plain())
    status = runner.status("alice")
    assert status is not None and status.state == "ok" and status.ok
    assert "created: 2" in status.summary


def test_a_report_with_status_and_counts() -> None:
    """The service's report: status with `.success`, message, counts per side."""
    runner, _ = _run(Shaped(Status.OK))
    status = runner.status("alice")
    assert status is not None
    assert status.summary == "CRM: nothing changed; Google: 3 created, 1 updated"


def test_an_unsuccessful_status_is_a_failure() -> None:
    """needs_reconnect is shown with the service's message and counted as a failure."""
    runner, metrics = _run(Shaped(Status.NEEDS_RECONNECT, "invalid_grant"))
    status = runner.status("alice")
    assert status is not None and not status.ok
    assert status.state == "needs_reconnect" and status.error == "invalid_grant"
    assert 'calsync_syncs_total{result="failed"} 1.0' in metrics.render().decode()


def test_an_exception_is_shown_not_raised() -> None:
    """A round that raises ends as failed with the reason; the runner survives."""
    runner, metrics = _run(Broken())
    status = runner.status("alice")
    assert status is not None and status.state == "failed" and status.error == "CRM down"
    assert "calsync_sync_failures_total 1.0" in metrics.render().decode()
    assert runner.start("alice")
    runner.wait("alice")
