"""Quiet rounds of every user, one after another (`pool_size=1`, the old way) vs a pool of
threads, and in one process vs several (`CALSYNC_PROCESSES`), against the Google emulator run
as its own process, with and without latency.

Every user has a few CRM events and a to-do, synced to their calendar and task list; after a
first round of every user and a settling one, each (latency, processes, pool size) runs a
warm-up pass, then `--repeat` quiet passes of `ProcessRounds.sync_all` (with 1 process:
`SyncService.sync_all`) and keeps its fastest; each process syncs `pool size` users at once,
and the children are started before the passes are timed. The application is wired by
`calsync.wiring.build`, as `calsync` wires it, in this process and in each child: the daily
budgets counted in the state store (SQLite files) and the per-minute rate limits in in-process
buckets (so counted per process). Those limits are raised out of the way unless
`--google-limits` keeps Google's (600 a user, 10,000 for the project): a few passes of 1,000
users spend the project's minute, and the next pass would time the wait for the next minute
instead of the round.

Usage: .venv/bin/python bench/pool_rounds.py [--users 200] [--events 3] [--pools 1,8,32]
       [--processes 1] [--latency-ms 0,100] [--repeat 1] [--no-budget] [--google-limits]
Prints a table (seconds per pass, users per second, speed-up against the first set-up at the
same latency, Google calls per pass).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from calsync.config import isolated_settings
from calsync.jobs.processes import ProcessRounds
from calsync.model import Event, Task, When
from calsync.quota import Budget, MemoryCounter
from calsync.service import SyncService
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store
from calsync.wiring import build, rate_limiter

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
UNLIMITED = {
    "google_user_calls_per_minute": 1_000_000,
    "google_project_calls_per_minute": 10_000_000,
}
"""Per-minute limits no pass reaches (the settings' highest)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "calsync.emulators.google", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/_emulator/stats", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the Google emulator did not start")


def seed(url: str, crm: LocalCrm, store: Store, service: SyncService, users: int, n: int) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    with httpx.Client(timeout=30) as http:
        for u in range(users):
            name = f"user{u:04d}"
            crm.create_user(name, time_zone="Europe/Rome")
            for i in range(n):
                at = start + timedelta(hours=i)
                when = When(at, at + timedelta(minutes=30))
                crm.add_event(name, Event(f"{name} event {i}", when))
            crm.add_task(name, Task(f"{name} to-do"))
            email = f"{name}@example.com"
            acct = http.post(f"{url}/_emulator/accounts", json={"email": email}).json()
            service.known_user(name)
            store.set_link(name, email, acct["refresh_token"])
            store.set_prefs(name, store.get_prefs(name).with_(tasklist="@default"))


def calls(url: str) -> int:
    return int(httpx.get(f"{url}/_emulator/stats", timeout=30).json()["total"])


def quiet_pass(rounds: ProcessRounds, url: str, pool: int) -> tuple[float, int, int]:
    before = calls(url)
    t0 = time.perf_counter()
    reports = rounds.sync_all(pool_size=pool)
    seconds = time.perf_counter() - t0
    for r in reports:
        assert r.status.success, (r.user, r.message)
        changed = [vars(r.total(side)) for side in ("crm", "google")]
        assert not any(c[k] for c in changed for k in ("created", "updated", "deleted")), r.user
    return seconds, len(reports), calls(url) - before


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--events", type=int, default=3, help="CRM events per user")
    p.add_argument("--pools", default="1,8,32", help="pool sizes to compare (1 first)")
    p.add_argument("--processes", default="1", help="process counts to compare (1 first), e.g. 1,2")
    p.add_argument("--latency-ms", default="0,100", help="emulator latencies to run at")
    p.add_argument("--repeat", type=int, default=1, help="quiet passes per set-up (best kept)")
    p.add_argument(
        "--google-limits",
        action="store_true",
        help="keep Google's per-minute limits (passes may wait for the next minute)",
    )
    p.add_argument(
        "--no-budget",
        action="store_true",
        help="count the daily budgets in memory, not in the state store",
    )
    args = p.parse_args()
    pools = [int(x) for x in args.pools.split(",")]
    counts = [int(x) for x in args.processes.split(",")]
    if args.no_budget and max(counts) > 1:
        p.error("--no-budget counts in this process only: use it with --processes 1")
    latencies = [int(x) for x in args.latency_ms.split(",")]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = start_emulator(port)
    rows: list[tuple[int, int, int, float, int, int]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = isolated_settings(
                data_dir=Path(tmp),
                secret_key=KEY,
                google_api_url=url,
                google_token_url=f"{url}/token",
                google_client_id="bench",
                google_client_secret="bench",
                pool_size=max(pools),
                **({} if args.google_limits else UNLIMITED),
            )
            app = build(settings)
            crm = LocalCrm(settings.local_crm_url)
            store, service = app.store, app.service
            if args.no_budget:
                service.budget = Budget(MemoryCounter(), rate=rate_limiter(settings))
            seed(url, crm, store, service, args.users, args.events)
            t0 = time.perf_counter()
            for _ in range(2):  # the first sync, then a round that settles what it wrote
                for r in service.sync_all(pool_size=max(pools)):
                    assert r.status.success, (r.user, r.message)
            print(f"first sync and settling round: {time.perf_counter() - t0:.1f} s")
            every = {n: ProcessRounds(settings, service, n) for n in counts}
            for rounds in every.values():
                if rounds.processes > 1:
                    rounds.pids()  # started (and built) before any pass is timed
            for latency in latencies:
                httpx.post(f"{url}/_emulator/config", json={"latency_ms": latency}, timeout=30)
                for n, rounds in every.items():
                    for pool in pools:
                        # Warm-up at this latency; the same chunks go to the same children
                        # (per pool size), which then hold their users' connections and tokens.
                        rounds.sync_all(pool_size=pool)
                        best = min(
                            (quiet_pass(rounds, url, pool) for _ in range(args.repeat)),
                            key=lambda r: r[0],
                        )
                        rows.append((latency, n, pool, *best))
            for rounds in every.values():
                rounds.close()
            store.close()
            crm.close()
    finally:
        emulator.terminate()
        emulator.wait(10)
    table = Table(
        title=f"quiet rounds of {args.users} users x {args.events} events + 1 to-do "
        f"(best of {args.repeat})"
    )
    columns = (
        "latency ms",
        "processes",
        "pool",
        "s per pass",
        "users/s",
        "speed-up",
        "API calls/pass",
    )
    for col in columns:
        table.add_column(col, justify="right")
    base: dict[int, float] = {}
    for latency, n, pool, seconds, users, api in rows:
        rate = users / seconds
        base.setdefault(latency, rate)
        table.add_row(
            str(latency),
            str(n),
            str(pool),
            f"{seconds:.2f}",
            f"{rate:.1f}",
            f"{rate / base[latency]:.1f}x",
            str(api),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
