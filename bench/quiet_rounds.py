"""Quiet rounds (nothing changed on either side) of N users against the Google emulator:
a new HTTP client and a token refresh every round (the old path) vs the process's shared
client and cached tokens.

Every user has a few CRM events and a to-do, synced to their calendar and task list; after a
first round and a settling one, each mode runs a warm-up pass and then `--repeat` passes of
quiet rounds of every user, one user after another (modes interleaved), and keeps its fastest.

Usage: .venv/bin/python bench/quiet_rounds.py [--users 200] [--events 3] [--repeat 3]
       [--latency-ms 0] [--mode both|baseline|shared]
Prints a table (ms per user per quiet round, token refreshes and API calls per round) and the
ratio baseline/shared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from calsync.emulators.google.app import create_app
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.server import ServerThread
from calsync.model import Event, Task, When
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.auth import RefreshTokenAuth
from calsync.sides.google.connections import GoogleConnections
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="


class NewEachRound(GoogleConnections):
    """The old path: every side builds its own httpx client and refreshes its own token."""

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=30.0)

    def token_source(
        self, refresh_token: str, client_id: str, client_secret: str, token_url: str
    ) -> RefreshTokenAuth:
        return RefreshTokenAuth(refresh_token, client_id, client_secret, token_url)


@dataclass
class Pass:
    seconds: float
    refreshes: int
    calls: int


def seed(url: str, crm: LocalCrm, store: Store, service: SyncService, users: int, n: int) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    for u in range(users):
        name = f"user{u:04d}"
        crm.create_user(name, time_zone="Europe/Rome")
        for i in range(n):
            at = start + timedelta(hours=i)
            crm.add_event(name, Event(f"{name} event {i}", When(at, at + timedelta(minutes=30))))
        crm.add_task(name, Task(f"{name} to-do"))
        email = f"{name}@example.com"
        acct = httpx.post(f"{url}/_emulator/accounts", json={"email": email}).json()
        service.known_user(name)
        store.set_link(name, email, acct["refresh_token"])
        store.set_prefs(name, store.get_prefs(name).with_(tasklist="@default"))


def quiet_pass(emu: Emulator, service: SyncService, names: list[str]) -> Pass:
    tokens, calls = len(emu.store.access_tokens), emu.stats.total
    t0 = time.perf_counter()
    for name in names:
        report = service.sync_user(name)
        assert report.status.success, report.message
        # A quiet round changes nothing; anything else would measure other work.
        changed = [vars(report.total(side)) for side in ("crm", "google")]
        assert not any(c[k] for c in changed for k in ("created", "updated", "deleted")), name
    seconds = time.perf_counter() - t0
    return Pass(seconds, len(emu.store.access_tokens) - tokens, emu.stats.total - calls)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--events", type=int, default=3, help="CRM events per user")
    p.add_argument("--repeat", type=int, default=3, help="quiet passes per mode (best kept)")
    p.add_argument("--latency-ms", type=int, default=0, help="the emulator's per-request wait")
    p.add_argument("--mode", choices=("both", "baseline", "shared"), default="both")
    args = p.parse_args()
    app = create_app()
    emu: Emulator = app.state.emulator
    emu.store.config.latency_ms = args.latency_ms
    modes = {"baseline": NewEachRound, "shared": GoogleConnections}
    if args.mode != "both":
        modes = {args.mode: modes[args.mode]}
    with ServerThread(app) as server, tempfile.TemporaryDirectory() as tmp:
        url = server.url
        crm = LocalCrm(f"sqlite:///{Path(tmp) / 'crm.db'}")
        with Store.open(f"sqlite:///{Path(tmp) / 'state.db'}", KEY) as store:
            store.migrate()
            google = GoogleSettings("bench", "bench", api_url=url, token_url=f"{url}/token")

            def service(connections: GoogleConnections) -> SyncService:
                return SyncService(store, LocalBackend(crm), google, connections=connections)

            warm = service(GoogleConnections())
            seed(url, crm, store, warm, args.users, args.events)
            names = store.linked_users(status=None)
            for name in names:  # the first sync, then a round that settles what it wrote
                warm.sync_user(name)
                warm.sync_user(name)
            services = {mode: service(make()) for mode, make in modes.items()}
            passes: dict[str, list[Pass]] = {mode: [] for mode in modes}
            for svc in services.values():
                quiet_pass(emu, svc, names)  # warm-up: the shared mode fetches its tokens
            for _ in range(args.repeat):  # interleaved, so a busy moment hits both modes
                for mode, svc in services.items():
                    passes[mode].append(quiet_pass(emu, svc, names))
            results = {mode: min(ps, key=lambda r: r.seconds) for mode, ps in passes.items()}
        crm.close()
    n = len(names)
    table = Table(
        title=f"quiet rounds of {n} users x {args.events} events + 1 to-do, "
        f"latency {args.latency_ms} ms (best of {args.repeat})"
    )
    for col in ("", "s per pass", "ms per user", "token refreshes/round", "API calls/round"):
        table.add_column(col)
    for mode, r in results.items():
        table.add_row(
            mode,
            f"{r.seconds:.2f}",
            f"{1000 * r.seconds / n:.1f}",
            f"{r.refreshes / n:.2f}",
            f"{r.calls / n:.2f}",
        )
    Console().print(table)
    if len(results) == 2:
        ratio = results["baseline"].seconds / results["shared"].seconds
        print(f"quiet round time, baseline / shared: {ratio:.2f}x")


if __name__ == "__main__":
    main()
