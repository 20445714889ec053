"""What the web app hands requested rounds to: the last one started and not stopped."""

from __future__ import annotations

from calsync.jobs.running import Running


def test_an_older_one_stopping_leaves_the_newer_one_running() -> None:
    running: Running[object] = Running()
    first, second = object(), object()
    assert running.get() is None
    running.started(first)
    running.started(second)
    running.stopped(first)
    assert running.get() is second
    running.stopped(second)
    assert running.get() is None
