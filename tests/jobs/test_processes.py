"""A round of every user shared by child processes: real processes on the same SQLite files,
the Google emulator over HTTP. The users' rounds converge with nothing doubled, one user's
failure stays its own, and a child killed mid-round fails only its chunk's users, whose next
round converges with no duplicate."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from calsync.config import Settings, isolated_settings
from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.jobs.processes import CHILD_DIED, ProcessRounds, child_settings
from calsync.jobs.scheduler import Scheduler
from calsync.model import Event, When, utcnow
from calsync.service import UserReport, UserStatus
from calsync.sides.local.crm import LocalCrm
from calsync.sides.local.tables import events as crm_events
from calsync.sides.local.tables import users as crm_users
from calsync.wiring import App, build
from tests.scenarios.world import GoogleUser

USERS = 20
EVENTS = 3
WAIT = 60.0
"""Upper bound for a round to end (a hang guard, not a timing assertion)."""


@pytest.fixture(scope="module")
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


@dataclass
class Install:
    """An installation on files: 20 CRM users with 3 events each, all linked to Google."""

    settings: Settings
    app: App
    crm: LocalCrm
    google_url: str
    google: dict[str, GoogleUser] = field(default_factory=dict)

    def rounds(self, processes: int = 2) -> ProcessRounds:
        return ProcessRounds(self.settings, self.app.service, processes)

    def latency(self, ms: int) -> None:
        httpx.post(f"{self.google_url}/_emulator/config", json={"latency_ms": ms})

    def assert_converged(self) -> None:
        """Every CRM event of every user is on their Google calendar exactly once."""
        for name, google in self.google.items():
            on_google = Counter(e["summary"] for e in google.events())
            in_crm = Counter(r.item.title for r in self.crm.list_events(name))
            assert on_google == in_crm, name
            assert set(on_google.values()) == {1}, name


@pytest.fixture
def install(google_url: str, tmp_path: Path) -> Iterator[Install]:
    httpx.post(f"{google_url}/_emulator/reset")
    settings = isolated_settings(
        data_dir=tmp_path,
        crm="local",
        google_api_url=google_url,
        google_auth_url=f"{google_url}/o/oauth2/auth",
        google_token_url=f"{google_url}/token",
        google_client_id="processes.apps.example.com",
        google_client_secret="processes-secret",
        pool_size=2,
    )
    crm = LocalCrm(settings.local_crm_url)
    app = build(settings)
    found = Install(settings, app, crm, google_url)
    start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    for u in range(USERS):
        name, email = f"user{u:02d}", f"user{u:02d}@example.com"
        crm.create_user(name, email=email, time_zone="Europe/Rome")
        for i in range(EVENTS):
            at = start + timedelta(hours=i)
            crm.add_event(name, Event(f"{name} event {i}", When(at, at + timedelta(minutes=30))))
        account = httpx.post(f"{google_url}/_emulator/accounts", json={"email": email}).json()
        app.service.known_user(name)
        app.accounts.link_token(name, account["refresh_token"], email)
        found.google[name] = GoogleUser(
            google_url, email, account["access_token"], account["refresh_token"]
        )
    yield found
    found.latency(0)
    app.store.close()
    crm.close()


def writes(report: UserReport) -> int:
    return sum(report.total(side).writes for side in ("crm", "google"))


def test_two_processes_sync_every_user_once(install: Install) -> None:
    """20 users synced by 2 processes: reports in the users' order, every event on Google
    once; the next round, by the same children, writes nothing."""
    names = [f"user{u:02d}" for u in range(USERS)]
    with install.rounds() as rounds:
        first = rounds.sync_all()
        assert [r.user for r in first] == names
        assert all(r.status is UserStatus.OK for r in first), [r.message for r in first]
        assert sum(r.total("google").created for r in first) == USERS * EVENTS
        install.assert_converged()
        pids = rounds.pids()
        quiet = rounds.sync_all()
        assert [r.status for r in quiet] == [UserStatus.OK] * USERS
        assert not any(writes(r) for r in quiet)
        assert rounds.pids() == pids  # the pool lives from one round to the next
    assert os.getpid() not in pids and len(set(pids)) == 2
    install.assert_converged()


def test_a_failing_user_does_not_stop_the_others(install: Install) -> None:
    """A user gone from the CRM fails its round; every other user syncs in full."""
    with install.crm.engine.begin() as conn:
        conn.execute(sa.delete(crm_events).where(crm_events.c.owner == "user07"))
        conn.execute(sa.delete(crm_users).where(crm_users.c.name == "user07"))
    with install.rounds() as rounds:
        reports = {r.user: r for r in rounds.sync_all()}
    gone = reports.pop("user07")
    assert gone.status is UserStatus.FAILED and "no longer in the CRM" in gone.message
    assert all(r.status is UserStatus.OK for r in reports.values())
    assert install.google.pop("user07").events() == []
    install.assert_converged()


def _kill_once_google_is_called(install: Install, pid: int) -> None:
    """Kill `pid` as soon as the round has reached Google (its children are mid-round)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        stats = httpx.get(f"{install.google_url}/_emulator/stats").json()
        if stats["total"] > 0:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.01)
    raise AssertionError("the round never reached Google")


def test_a_killed_child_fails_only_its_users(
    install: Install, caplog: pytest.LogCaptureFixture
) -> None:
    """One child killed mid-round: the users of the chunk it was running fail saying so, the
    others sync; the next round (with a new child) converges, nothing on Google twice."""
    install.latency(100)  # rounds long enough to be killed in the middle of
    with install.rounds() as rounds:
        victim, _ = rounds.pids()
        ended: list[list[UserReport]] = []
        run = threading.Thread(target=lambda: ended.append(rounds.sync_all()))
        with caplog.at_level(logging.ERROR, logger="calsync.jobs.processes"):
            run.start()
            _kill_once_google_is_called(install, victim)
            run.join(WAIT)
        assert ended, "the round did not end"
        died = [r for r in ended[0] if r.status is UserStatus.FAILED]
        assert died and all(r.message == CHILD_DIED for r in died)
        assert len(died) < USERS
        assert all(r.status is UserStatus.OK for r in ended[0] if r not in died)
        assert "a sync process died" in caplog.text
        log = install.app.store.logs(died[0].user, limit=5)
        assert any(entry.message == CHILD_DIED for entry in log)

        install.latency(0)
        again = rounds.sync_all()
        assert all(r.status is UserStatus.OK for r in again), [r.message for r in again]
        assert victim not in rounds.pids()
    install.assert_converged()


def test_the_scheduler_runs_its_rounds_in_the_children(install: Install) -> None:
    """The embedded scheduler given a process pool syncs every user with it, and stopping
    the scheduler stops the children."""
    rounds = install.rounds()
    scheduler = Scheduler(install.app.service, interval=0.05, processes=rounds).start()
    try:
        pids = rounds.pids()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not all(
            (user := install.app.store.get_user(name)) and user.last_sync_status == "ok"
            for name in install.google
        ):
            time.sleep(0.1)
    finally:
        scheduler.stop()
    install.assert_converged()
    assert rounds._children == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_an_in_memory_store_stays_in_this_process(
    google_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An in-memory state store cannot be opened by another process: the round runs here."""
    settings = isolated_settings(
        database_url="sqlite://",
        local_crm_url="sqlite://",
        google_api_url=google_url,
        secret_key="in-memory-test-key",
    )
    app = build(settings)
    with ProcessRounds(settings, app.service, 2) as rounds, caplog.at_level(logging.INFO):
        assert rounds.sync_all() == []
        assert rounds._children == []  # no child was started
    assert "syncing every user in this process" in caplog.text


def test_without_redis_each_child_keeps_to_its_part_of_the_project_rate() -> None:
    """The per-minute limits are counted per process without Redis: N children each keep to
    1/N of the project's limit, so together they stay under it; with Redis they share it."""
    alone = isolated_settings(google_project_calls_per_minute=10_000)
    assert child_settings(alone, 1) is alone
    part = child_settings(alone, 4)
    assert part.google_project_calls_per_minute == 2_500
    assert part.google_user_calls_per_minute == 600
    tight = child_settings(isolated_settings(google_project_calls_per_minute=1_000), 4)
    assert tight.google_project_calls_per_minute == 250
    assert tight.google_user_calls_per_minute == 250
    shared = isolated_settings(redis_url="redis://127.0.0.1:6379/0")
    assert child_settings(shared, 4) is shared
