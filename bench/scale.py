"""Users per second of a sync round of N users against the Google emulator with Google-like
latency: one after another (today's scheduler), the in-process pool, and 2 and 4 Celery
workers, in one run; Google calls per minute against the quotas; push versus polling.

Every user has `--events` CRM events. The first round (latency 0, on 4 Celery workers) and
a settling round copy them to Google; then the emulator waits `--latency-ms` per request and
each mode runs one round of every user with nothing changed (a quiet round: what every
scheduled round is, most of the time). Each mode starts from a fresh process (no access token
cached), as a newly started scheduler or worker does.

Needs PostgreSQL (CALSYNC_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1/postgres)
and Redis on 127.0.0.1:6379: Celery workers share the state store and the embedded CRM there.
Every mode uses them, so the comparison is on the same store.

Usage: .venv/bin/python bench/scale.py [--users 1000] [--events 50] [--latency-ms 100]
       [--pool-size 32] [--workers 2 4] [--worker-concurrency 1] [--interval 900]
Prints a table and the speed-ups against the sequential round.
"""

from __future__ import annotations

import argparse
import inspect
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from calsync.config import Settings
from calsync.emulators.server import free_port
from calsync.jobs.celery_app import CeleryQueue
from calsync.model import Event, When
from calsync.service import SyncService
from calsync.wiring import build

ROOT = Path(__file__).resolve().parents[1]
KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
USER_QUOTA = 600
"""Google Calendar API's default: requests per minute per user."""
PROJECT_QUOTA = 10_000
"""Google Calendar API's default: requests per minute per project."""
out = Console(width=130)


@dataclass
class Pass:
    mode: str
    seconds: float
    users: int
    calls: int
    busiest_user_calls: int
    failed: int = 0

    @property
    def users_per_second(self) -> float:
        return self.users / self.seconds

    @property
    def calls_per_minute(self) -> float:
        return 60 * self.calls / self.seconds

    @property
    def user_calls_per_minute(self) -> float:
        # A user's calls all fall in the pass: per minute they are at most this many (a pass
        # shorter than a minute still counts whole, as a sliding one-minute window would).
        return self.busiest_user_calls / max(1.0, self.seconds / 60)


# -- the services --------------------------------------------------------------------------


@contextmanager
def fresh_database(base: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_redis_db(base: str) -> str:
    for n in range(15, 0, -1):
        url = f"{base}/{n}"
        if redis.Redis.from_url(url).dbsize() == 0:
            return url
    raise SystemExit("no empty Redis database")


class Emulator:
    """The Google emulator in its own process (the bench's own work must not slow it)."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "calsync.emulators.google", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.http = httpx.Client(base_url=self.url, timeout=120)
        for _ in range(200):
            try:
                if self.http.get("/_emulator/stats").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("the Google emulator did not start")

    def latency(self, ms: int) -> None:
        self.http.post("/_emulator/config", json={"latency_ms": ms}).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/_emulator/stats").json())

    def account(self, email: str) -> dict[str, Any]:
        return dict(self.http.post("/_emulator/accounts", json={"email": email}).json())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@dataclass
class Setup:
    settings: Settings
    env: dict[str, str]
    emulator: Emulator
    data_dir: Path

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.settings.database_url, poolclass=sa.NullPool)


def seed(setup: Setup, users: int, events: int) -> dict[str, str]:
    """Create `users` CRM users with `events` events each, linked to fresh Google accounts;
    return each user's Google access token (to edit as the user would)."""
    app = build(setup.settings)
    crm = app.crm.crm  # type: ignore[attr-defined]  # the embedded CRM (LocalBackend)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    def one(u: int) -> tuple[str, str]:
        name = f"user{u:04d}"
        crm.create_user(name, time_zone="Europe/Rome")
        for i in range(events):
            at = start + timedelta(hours=i)
            crm.add_event(name, Event(f"{name} event {i}", When(at, at + timedelta(minutes=30))))
        acct = setup.emulator.account(f"{name}@example.com")
        app.service.known_user(name)
        app.store.set_link(name, acct["email"], acct["refresh_token"])
        return name, str(acct["access_token"])

    with ThreadPoolExecutor(8) as pool:
        tokens = dict(pool.map(one, range(users)))
    app.store.close()
    return tokens


# -- the modes -----------------------------------------------------------------------------


def busiest(before: dict[str, Any], after: dict[str, Any]) -> int:
    was = before["by_account"]
    return max(
        (n - was.get(acct, 0) for acct, n in after["by_account"].items()),
        default=0,
    )


def measure(setup: Setup, mode: str, users: int, run: Callable[[], int]) -> Pass:
    """Run one pass of `users` (`run` returns how many failed) and count its Google calls."""
    before = setup.emulator.stats()
    t0 = time.perf_counter()
    failed = run()
    seconds = time.perf_counter() - t0
    after = setup.emulator.stats()
    return Pass(
        mode, seconds, users, after["total"] - before["total"], busiest(before, after), failed
    )


def in_process(setup: Setup, pool_size: int) -> Callable[[], int] | None:
    """Return a pass of `sync_all` in this process, `pool_size` users at once (None: no pool
    on this branch, where every round runs in turn)."""
    app = build(setup.settings)  # a fresh process's state: no connection or token cached
    service: SyncService = app.service
    pooled = _has_pool(service)
    if pool_size > 1 and not pooled:
        return None

    def run() -> int:
        # Where the pool exists its default size comes from the settings: ask for 1 in turn.
        kw: dict[str, Any] = {"pool_size": pool_size} if pooled else {}
        reports = service.sync_all(**kw)
        app.store.close()
        return sum(not r.status.success for r in reports)

    return run


def _has_pool(service: SyncService) -> bool:
    # `sync_all(pool_size=N)` comes with the in-process pool; older services lack it.
    return "pool_size" in inspect.signature(service.sync_all).parameters


class Workers:
    """`calsync worker` processes on the bench's broker and store."""

    def __init__(self, setup: Setup, n: int, concurrency: int = 1) -> None:
        self.setup = setup
        self.logs = [setup.data_dir / f"worker-{n}-{i}.log" for i in range(n)]
        self.procs = []
        for log in self.logs:
            with log.open("wb") as f:
                self.procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "calsync.cli",
                            "worker",
                            "--concurrency",
                            str(concurrency),
                        ],
                        cwd=setup.data_dir,
                        env=setup.env,
                        stdout=f,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 120
        while not all(" ready." in log.read_text() for log in self.logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise SystemExit(f"workers did not start; see {self.logs}")
            time.sleep(0.2)

    def round(self) -> int:
        """Enqueue every user's round and wait until each has ended; return the failures."""
        with self.setup.engine().connect() as conn:
            last = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM sync_runs")).scalar()
        queue = CeleryQueue.for_settings(self.setup.settings)
        app = build(self.setup.settings)
        sent = queue.enqueue_due(app.store)
        app.store.close()
        query = sa.text(
            "SELECT status, count(*) FROM sync_runs WHERE id > :last AND status != 'running'"
            " GROUP BY status"
        )
        while True:
            with self.setup.engine().connect() as conn:
                done = dict(conn.execute(query, {"last": last}).all())  # type: ignore[arg-type]
            if sum(done.values()) >= sent:
                return sum(n for status, n in done.items() if status != "ok")
            time.sleep(0.05)

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            p.wait(60)


def celery_pass(setup: Setup, n: int, concurrency: int) -> tuple[Workers, Callable[[], int]]:
    workers = Workers(setup, n, concurrency)
    return workers, workers.round


# -- push versus polling -------------------------------------------------------------------


def polling_latency(interval: float, round_seconds: float) -> tuple[float, float]:
    """Return the mean and the worst seconds from a Google-side edit to the CRM by polling:
    the edit waits for the next scheduled round (half an interval on average, ±10 % jitter),
    then for that user's round."""
    return interval / 2 + round_seconds, interval * 1.1 + round_seconds


def push_latency(setup: Setup, user: str, token: str, workers: int) -> float | None:
    """Return the seconds from a Google-side edit to the CRM when Google's notification
    triggers the round: `calsync serve` (with a public URL, so it opens a watch channel per
    user, and the beat) receives the notification and enqueues the user's job, which one of
    `workers` Celery workers runs. None (and the reason printed) when it could not be measured.
    """
    from calsync.service.push import NOTIFY_PATH

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    log = setup.data_dir / "serve.log"
    running = Workers(setup, workers)
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "calsync.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=setup.data_dir,
            env={**setup.env, "CALSYNC_PUBLIC_URL": public},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    broker = redis.Redis.from_url(setup.settings.broker_url or "")
    api = httpx.Client(
        base_url=setup.emulator.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    try:
        deadline = time.monotonic() + 600

        def settled() -> bool:
            # serve's beat enqueued everyone's round and opened the channels: wait for both.
            channels = setup.emulator.http.get("/_emulator/channels").json()["channels"]
            opened = any(c["address"] == public + NOTIFY_PATH for c in channels)
            return opened and broker.llen("calsync") + broker.hlen("unacked") == 0

        while not settled():
            if time.monotonic() > deadline or serve.poll() is not None:
                out.print(f"[yellow]push:[/] serve did not settle; see {log}")
                return None
            time.sleep(0.5)
        time.sleep(2)  # the last rounds record their end
        events = api.get("/calendar/v3/calendars/primary/events").json()["items"]
        edited = f"{user} edited on Google"
        t0 = time.perf_counter()
        api.patch(
            f"/calendar/v3/calendars/primary/events/{events[0]['id']}", json={"summary": edited}
        ).raise_for_status()
        app = build(setup.settings)
        crm = app.crm.crm  # type: ignore[attr-defined]
        while edited not in {r.item.title for r in crm.list_events(user)}:
            if time.perf_counter() - t0 > 120:
                out.print(f"[yellow]push:[/] the edit did not reach the CRM; see {log}")
                return None
            time.sleep(0.05)
        return time.perf_counter() - t0
    finally:
        serve.terminate()
        serve.wait(30)
        running.stop()


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--events", type=int, default=50, help="CRM events per user")
    p.add_argument("--latency-ms", type=int, default=100, help="the emulator's per-request wait")
    p.add_argument("--pool-size", type=int, default=32, help="users at once in the pool")
    p.add_argument("--workers", type=int, nargs="*", default=[2, 4], help="Celery worker counts")
    p.add_argument(
        "--worker-concurrency",
        type=int,
        default=1,
        help="rounds each worker runs at once (1: one process per round, Celery's solo pool)",
    )
    p.add_argument("--interval", type=float, default=900.0, help="polling interval, seconds")
    args = p.parse_args()

    base = os.environ.get(
        "CALSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    broker = free_redis_db("redis://127.0.0.1:6379")
    emulator = Emulator()
    passes: list[Pass] = []
    skipped: list[str] = []
    try:
        with (
            fresh_database(base, "calsync_bench") as state,
            fresh_database(base, "calsync_bench_crm") as crm,
            tempfile.TemporaryDirectory() as tmp,
        ):
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")},
                "PYTHONPATH": str(ROOT),
                "CALSYNC_DATA_DIR": tmp,
                "CALSYNC_DATABASE_URL": state,
                "CALSYNC_LOCAL_CRM_URL": crm,
                "CALSYNC_SECRET_KEY": KEY,
                "CALSYNC_BROKER_URL": broker,
                "CALSYNC_GOOGLE_API_URL": emulator.url,
                "CALSYNC_GOOGLE_TOKEN_URL": f"{emulator.url}/token",
                "CALSYNC_GOOGLE_CLIENT_ID": "bench",
                "CALSYNC_GOOGLE_CLIENT_SECRET": "bench",
            }
            settings = Settings(
                data_dir=Path(tmp),
                database_url=state,
                local_crm_url=crm,
                secret_key=KEY,
                broker_url=broker,
                google_api_url=emulator.url,
                google_token_url=f"{emulator.url}/token",
                google_client_id="bench",
                google_client_secret="bench",
            )
            setup = Setup(settings, env, emulator, Path(tmp))
            t0 = time.perf_counter()
            tokens = seed(setup, args.users, args.events)
            out.print(
                f"seeded {args.users} users x {args.events} events in "
                f"{time.perf_counter() - t0:.0f} s"
            )

            # The first round and a settling one, fast (no latency), on 4 workers.
            workers = Workers(setup, 4)
            first = measure(setup, "first round", args.users, workers.round)
            workers.round()
            workers.stop()
            out.print(
                f"first round: {first.seconds:.1f} s, {first.calls} calls, {first.failed} failed"
            )

            emulator.latency(args.latency_ms)
            sequential = in_process(setup, 1)
            assert sequential is not None
            passes.append(measure(setup, "1 process, sequential", args.users, sequential))
            pool = in_process(setup, args.pool_size)
            if pool is None:
                skipped.append("in-process pool: SyncService.sync_all(pool_size=...) is not here")
            else:
                passes.append(
                    measure(setup, f"1 process, pool of {args.pool_size}", args.users, pool)
                )
            for n in args.workers:
                workers, run = celery_pass(setup, n, args.worker_concurrency)
                label = f"{n} Celery workers" + (
                    f" x {args.worker_concurrency} threads" if args.worker_concurrency > 1 else ""
                )
                try:
                    passes.append(measure(setup, label, args.users, run))
                finally:
                    workers.stop()
            push = push_latency(setup, *next(iter(tokens.items())), args.workers[0])
    finally:
        emulator.stop()
        redis.Redis.from_url(broker).flushdb()

    base_pass = passes[0]
    table = Table(
        title=f"quiet round of {args.users} users x {args.events} events, "
        f"Google latency {args.latency_ms} ms"
    )
    for col in ("mode", "s", "users/s", "speed-up", "calls/min (project)", "calls/min (user)"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    for r in passes:
        table.add_row(
            r.mode + (f" ({r.failed} failed)" if r.failed else ""),
            f"{r.seconds:.1f}",
            f"{r.users_per_second:.1f}",
            f"{r.users_per_second / base_pass.users_per_second:.1f}x",
            f"{r.calls_per_minute:,.0f} / {PROJECT_QUOTA:,}",
            f"{r.user_calls_per_minute:.0f} / {USER_QUOTA}",
        )
    out.print(table)
    for line in skipped:
        out.print(f"[yellow]not measured:[/] {line}")
    mean, worst = polling_latency(args.interval, base_pass.seconds / base_pass.users)
    out.print(
        f"Google-side edit to CRM: polling every {args.interval:.0f} s: {mean:.0f} s on average, "
        f"{worst:.0f} s at worst; push: "
        + (
            f"{push:.1f} s (serve + {args.workers[0]} workers)"
            if push is not None
            else "not measured"
        )
    )
    best = max(passes, key=lambda r: r.users_per_second)
    out.print(
        f"speed-up of {best.mode} over sequential: "
        f"{best.users_per_second / base_pass.users_per_second:.1f}x"
    )


if __name__ == "__main__":
    main()
