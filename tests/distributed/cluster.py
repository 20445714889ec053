"""A calsync installation spread over processes: the Google emulator, the embedded CRM and the
state store on PostgreSQL, Redis as the broker, and `calsync worker` subprocesses.

The test process seeds users, enqueues jobs and reads both sides; the workers only see the
environment a real deployment would give them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa

from calsync.config import Settings
from calsync.emulators.server import free_port
from calsync.jobs.celery_app import QUEUE, CeleryQueue
from calsync.model import Event, When, utcnow
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
CLIENT_ID = "distributed-client"
CLIENT_SECRET = "distributed-secret"
ROOT = Path(__file__).resolve().parents[2]

WAIT = 120.0
"""Upper bound on any wait for the processes (a hang guard, not a timing assertion)."""


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout: float = WAIT,
    show: Callable[[], object] | None = None,
) -> None:
    """Poll `check` until it holds; fail naming `what` (and what `show` returns then) after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            seen = f": {show()}" if show is not None else ""
            raise AssertionError(f"gave up waiting for {what}{seen}")
        time.sleep(0.25)


def free_redis_db(base: str = "redis://127.0.0.1:6379") -> str:
    """Return the URL of an empty Redis database (others may be in use by parallel tests)."""
    for n in range(15, 0, -1):
        url = f"{base}/{n}"
        client = redis.Redis.from_url(url)
        try:
            if client.dbsize() == 0:
                return url
        finally:
            client.close()
    raise RuntimeError("no empty Redis database left")


class GoogleEmulator:
    """`python -m calsync.emulators.google` in a subprocess."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "calsync.emulators.google",
                "--port",
                str(self.port),
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wait_until(self._answers, "the Google emulator to answer", 30)
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def _answers(self) -> bool:
        assert self.proc.poll() is None, "the Google emulator exited"
        try:
            return httpx.get(f"{self.url}/_emulator/stats", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def account(self, email: str) -> dict[str, Any]:
        r = self.http.post("/_emulator/accounts", json={"email": email})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def insert(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(
            "/calendar/v3/calendars/primary/events",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def summaries(self, token: str) -> Counter[str]:
        """Return how many live events of each summary the account's primary calendar has."""
        r = self.http.get(
            "/calendar/v3/calendars/primary/events",
            params={"maxResults": "2500"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        assert not doc.get("nextPageToken")
        return Counter(
            e.get("summary", "") for e in doc.get("items", []) if e.get("status") != "cancelled"
        )

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/_emulator/stats").json())

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)


@dataclass
class SeededUser:
    name: str
    access_token: str
    expected: set[str]
    """Every event title the user has, on one side or the other, before any round."""


@dataclass
class Cluster:
    """The shared services and the environment every worker gets."""

    state_url: str
    crm_url: str
    broker_url: str
    google: GoogleEmulator
    data_dir: Path
    visibility_timeout: int = 5
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    users: list[SeededUser] = field(default_factory=list)
    _engine: sa.Engine | None = None

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")},
            "PYTHONPATH": str(ROOT),
            "CALSYNC_DATA_DIR": str(self.data_dir),
            "CALSYNC_DATABASE_URL": self.state_url,
            "CALSYNC_LOCAL_CRM_URL": self.crm_url,
            "CALSYNC_SECRET_KEY": KEY,
            "CALSYNC_BROKER_URL": self.broker_url,
            "CALSYNC_BROKER_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "CALSYNC_GOOGLE_API_URL": self.google.url,
            "CALSYNC_GOOGLE_TOKEN_URL": f"{self.google.url}/token",
            "CALSYNC_GOOGLE_CLIENT_ID": CLIENT_ID,
            "CALSYNC_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            # Test users would otherwise wait on the per-user rate meant for real Google.
            "CALSYNC_GOOGLE_USER_CALLS_PER_MINUTE": "600",
        }

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=self.state_url,
            local_crm_url=self.crm_url,
            broker_url=self.broker_url,
            broker_visibility_timeout=self.visibility_timeout,
        )

    def store(self) -> Store:
        return Store.open(self.state_url, KEY)

    def start_worker(self, log: Path, *options: str) -> subprocess.Popen[bytes]:
        """Start one `calsync worker [options]` process (its output goes to `log`)."""
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "calsync.cli", "worker", *options],
                cwd=self.data_dir,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> None:
        """End every worker at once (the test is over: nothing they hold matters)."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.kill()
        for proc in self.workers:
            proc.wait(10)

    def seed(self, users: int, crm_events: int = 1, google_events: int = 1) -> None:
        """Create `users` CRM users, each linked to a fresh Google account, with events born
        on each side (none synced yet)."""
        start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        crm = LocalCrm(self.crm_url)
        store = self.store()
        store.migrate()
        google = GoogleSettings(CLIENT_ID, CLIENT_SECRET, api_url=self.google.url)
        service = SyncService(store, LocalBackend(crm), google)

        def one(u: int) -> SeededUser:
            name = f"user{u:03d}"
            crm.create_user(name, time_zone="Europe/Rome")
            acct = self.google.account(f"{name}@example.com")
            expected: set[str] = set()
            for i in range(crm_events):
                at = start + timedelta(hours=i)
                title = f"{name} crm {i}"
                crm.add_event(name, Event(title, When(at, at + timedelta(minutes=30))))
                expected.add(title)
            for i in range(google_events):
                at = start + timedelta(days=1, hours=i)
                title = f"{name} google {i}"
                end = at + timedelta(minutes=45)
                self.google.insert(
                    acct["access_token"],
                    {
                        "summary": title,
                        "start": {"dateTime": at.isoformat()},
                        "end": {"dateTime": end.isoformat()},
                    },
                )
                expected.add(title)
            service.known_user(name)
            store.set_link(name, acct["email"], acct["refresh_token"])
            return SeededUser(name, acct["access_token"], expected)

        try:
            # Threads overlap the waits on the database and the emulator.
            with ThreadPoolExecutor(8) as pool:
                self.users.extend(pool.map(one, range(users)))
        finally:
            store.close()
            crm.close()

    def enqueue_all(self) -> int:
        """Send a round job for every linked user, as the beat does; return how many."""
        queue = CeleryQueue.for_settings(self.settings())
        store = self.store()
        try:
            return queue.enqueue_due(store)
        finally:
            store.close()

    # -- what the database and the broker show -----------------------------------------------

    def query(self, sql: str, **params: Any) -> list[Any]:
        if self._engine is None:
            self._engine = sa.create_engine(self.state_url, poolclass=sa.NullPool)
        with self._engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())

    def run_statuses(self) -> Counter[str]:
        return Counter(
            {
                r.status: r.n
                for r in self.query("SELECT status, count(*) AS n FROM sync_runs GROUP BY status")
            }
        )

    def users_synced_ok(self) -> int:
        rows = self.query("SELECT count(DISTINCT user_name) FROM sync_runs WHERE status = 'ok'")
        return int(rows[0][0])

    def running_round_owners(self) -> list[str]:
        """Return the lock owners (`host:pid:thread`) of the rounds recorded as running."""
        # The lease row names the lock's holder while it is held.
        rows = self.query(
            "SELECT l.holder FROM leases l JOIN sync_runs r"
            " ON l.user_name = r.user_name AND r.status = 'running'"
            " WHERE l.holder IS NOT NULL"
        )
        return [r.holder for r in rows]

    def jobs_waiting(self) -> int:
        """Return the jobs in the queue or taken by a worker and not yet acknowledged."""
        client = redis.Redis.from_url(self.broker_url)
        try:
            return int(client.llen(QUEUE)) + int(client.hlen("unacked"))
        finally:
            client.close()

    def crm_titles(self, name: str) -> Counter[str]:
        crm = LocalCrm(self.crm_url)
        try:
            return Counter(r.item.title for r in crm.list_events(name))
        finally:
            crm.close()
