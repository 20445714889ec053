"""First sync of N CRM events to Google, then a no-change round, against the emulator.

calsync (one insert per event with client-chosen ids, one incremental list per round) is run
side by side with a baseline that follows upstream vtiger's Google module call pattern
(reference/vtiger.md §4.3: calendarList on every run, then per record `events.insert` for a
create, `events.get` + full `events.update` for an update, one page of `events.list` per run).

Usage: .venv/bin/python bench/bench_first_sync.py [--events 5000]
Prints a table: wall time, Google calls, calls per event, for both, and the ratios.
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
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store


def seed(crm: LocalCrm, n: int) -> None:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    crm.create_user("alice", password="x", time_zone="Europe/Rome")
    for i in range(n):
        start = base + timedelta(hours=i % 2000)
        crm.add_event("alice", Event(f"event {i}", When(start, start + timedelta(minutes=30))))


def calls(url: str) -> int:
    return int(httpx.get(f"{url}/_emulator/stats").json()["total"])


def run_calsync(url: str, n: int, tmp: Path) -> tuple[float, int, float, int]:
    acc = httpx.post(f"{url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    crm = LocalCrm(f"sqlite:///{tmp / 'crm.db'}")
    seed(crm, n)
    store = Store.open(f"sqlite:///{tmp / 'state.db'}", tmp)
    store.migrate()
    google = GoogleSettings("bench", "bench", api_url=url, token_url=f"{url}/token")
    service = SyncService(store, LocalBackend(crm), google)
    service.known_user("alice")
    store.set_link("alice", acc["email"], acc["refresh_token"])
    store.set_prefs("alice", store.get_prefs("alice").with_(days_future=400))
    before = calls(url)
    t0 = time.perf_counter()
    rep = service.sync_user("alice")
    first = time.perf_counter() - t0
    assert rep.status.success, rep.message
    first_calls = calls(url) - before
    service.sync_user("alice")  # settles
    before = calls(url)
    t0 = time.perf_counter()
    service.sync_user("alice")
    second = time.perf_counter() - t0
    return first, first_calls, second, calls(url) - before


def run_upstream(url: str, n: int) -> tuple[float, int, float, int]:
    """Upstream's pattern: no sync token, no ids of ours, per-record calls, 100 per run."""
    acc = httpx.post(f"{url}/_emulator/accounts", json={"email": "bob@example.com"}).json()
    h = {"Authorization": f"Bearer {acc['access_token']}"}
    api = f"{url}/calendar/v3"
    http = httpx.Client(headers=h, timeout=30)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    def one_run(push: list[int]) -> None:
        http.get(f"{api}/users/me/calendarList")
        http.get(
            f"{api}/calendars/primary/events",
            params={"maxResults": 100, "orderBy": "updated", "singleEvents": "true"},
        )
        for i in push:
            start = base + timedelta(hours=i % 2000)
            http.post(
                f"{api}/calendars/primary/events",
                json={
                    "summary": f"event {i}",
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()},
                },
            )

    before = calls(url)
    t0 = time.perf_counter()
    one_run(list(range(n)))
    first = time.perf_counter() - t0
    first_calls = calls(url) - before
    before = calls(url)
    t0 = time.perf_counter()
    one_run([])  # nothing changed: upstream still lists and checks the calendar
    return first, first_calls, time.perf_counter() - t0, calls(url) - before


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=5000)
    n = p.parse_args().events
    with ServerThread(create_app()) as server, tempfile.TemporaryDirectory() as tmp:
        ours = run_calsync(server.url, n, Path(tmp))
        theirs = run_upstream(server.url, n)
    table = Table(title=f"first sync of {n} CRM events, then a no-change round")
    for col in ("", "first sync s", "calls", "calls/event", "no-change round s", "calls"):
        table.add_column(col)
    for name, (t1, c1, t2, c2) in (("calsync", ours), ("upstream pattern", theirs)):
        table.add_row(name, f"{t1:.1f}", str(c1), f"{c1 / n:.3f}", f"{t2:.2f}", str(c2))
    Console().print(table)
    print(
        f"calls/event ratio calsync/upstream: {ours[1] / theirs[1]:.3f}; "
        f"no-change round calls: {ours[3]} vs {theirs[3]}"
    )


if __name__ == "__main__":
    main()
