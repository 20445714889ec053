"""A first sync of one user's N CRM events under the old per-user limit (300 calls a minute,
half Google's quota) and under Google's own (600 a minute, a bucket that lets 600 through
at once): how long the round waits on calsync's own limit.

Usage: .venv/bin/python bench/first_sync_rate.py [--events 300] [--limits 300,600]
Prints a table (seconds of the first round, Google calls, seconds spent waiting for tokens).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.model import Event, When
from calsync.quota import Budget, MemoryCounter
from calsync.ratelimit import RateLimiter
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


def first_sync(url: str, events: int, per_user: int) -> tuple[float, int, float]:
    httpx.post(f"{url}/_emulator/reset")
    waited = [0.0]

    def sleep(seconds: float) -> None:
        waited[0] += seconds
        time.sleep(seconds)

    with tempfile.TemporaryDirectory() as tmp:
        crm = LocalCrm(f"sqlite:///{Path(tmp) / 'crm.db'}")
        crm.create_user("alice", time_zone="Europe/Rome")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        for i in range(events):
            at = start + timedelta(hours=i)
            crm.add_event("alice", Event(f"event {i}", When(at, at + timedelta(minutes=30))))
        acct = httpx.post(f"{url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
        with Store.open(f"sqlite:///{Path(tmp) / 'state.db'}", KEY) as store:
            store.migrate()
            google = GoogleSettings("bench", "bench", api_url=url, token_url=f"{url}/token")
            rate = RateLimiter(per_user=per_user, sleep=sleep)
            budget = Budget(MemoryCounter(), rate=rate)
            service = SyncService(store, LocalBackend(crm), google, budget=budget)
            service.known_user("alice")
            store.set_link("alice", "alice@example.com", acct["refresh_token"])
            t0 = time.perf_counter()
            report = service.sync_user("alice")
            seconds = time.perf_counter() - t0
            assert report.status.success, report.message
        crm.close()
    return seconds, report.api_calls, waited[0]


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--limits", default="300,600", help="per-user calls a minute to compare")
    args = p.parse_args()
    table = Table(title=f"first sync of one user's {args.events} CRM events")
    for col in ("calls/min per user", "round s", "Google calls", "s waiting for tokens"):
        table.add_column(col, justify="right")
    with ServerThread(create_app()) as server:
        for limit in (int(x) for x in args.limits.split(",")):
            seconds, calls, waited = first_sync(server.url, args.events, limit)
            table.add_row(str(limit), f"{seconds:.1f}", str(calls), f"{waited:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
