"""The background runner behind "Sync now": outcomes of the real report shape, failures."""

from __future__ import annotations

from calsync.engine.pairs import Kind
from calsync.engine.run import RoundResult, SideCounts
from calsync.service import UserReport, UserStatus
from calsync.service.rounds import Progress
from calsync.web.runner import SyncRunner


class Rounds:
    """A round service answering every round with one report (or raising)."""

    def __init__(self, report: UserReport | None = None, error: Exception | None = None) -> None:
        self.report = report
        self.error = error

    def sync_user(
        self,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        new_round: bool = True,
    ) -> UserReport:
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def _run(rounds: Rounds) -> SyncRunner:
    runner = SyncRunner(rounds)
    assert runner.start("alice")
    runner.wait("alice")
    return runner


def test_a_report_with_counts_is_summarised() -> None:
    """The summary says what each side did."""
    done = RoundResult(
        "alice", Kind.EVENT, google=SideCounts(created=3, updated=1), crm=SideCounts()
    )
    runner = _run(Rounds(UserReport("alice", UserStatus.OK, rounds=[done])))
    status = runner.status("alice")
    assert status is not None and status.state == "ok" and status.ok
    assert status.summary == "CRM: nothing changed; Google: 3 created, 1 updated"


def test_an_unsuccessful_status_is_a_failure() -> None:
    """needs_reconnect is shown with the service's message."""
    report = UserReport("alice", UserStatus.NEEDS_RECONNECT, "invalid_grant")
    status = _run(Rounds(report)).status("alice")
    assert status is not None and not status.ok
    assert status.state == "needs_reconnect" and status.error == "invalid_grant"


def test_a_paused_round_is_a_note_not_an_error() -> None:
    """A skipped round of a paused user succeeded; its message is a note."""
    status = _run(Rounds(UserReport("alice", UserStatus.PAUSED, "sync is paused"))).status("alice")
    assert status is not None and status.ok and status.note == "sync is paused"


def test_an_exception_is_shown_not_raised() -> None:
    """A round that raises ends as failed with the reason; the runner survives."""
    runner = _run(Rounds(error=RuntimeError("CRM down")))
    status = runner.status("alice")
    assert status is not None and status.state == "failed" and status.error == "CRM down"
    assert runner.start("alice")
    runner.wait("alice")
