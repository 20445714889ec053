"""Google API cost of calsync against a naive baseline, over the same work, on the emulator.

The work, done once by each (the emulator serves both, on loopback, over real HTTP):
1. a first sync of `--events` CRM events and `--tasks` CRM to-dos to an empty Google account;
2. `--rounds` rounds, each after `--changed` % of the items were edited, each on a random side
   (CRM or Google; the same items and sides for both);
3. `--rounds` idle rounds (nothing changed anywhere).

calsync is the real service (embedded CRM in SQLite, state store in SQLite, batches of
`--batch` calls). The baseline is written here, as the original module works: one API call per
item written, and a full re-read of the calendar and the task list every round; its CRM is a
dict, so its time is nearly all HTTP.

Usage: .venv/bin/python bench/api_calls.py [--events 5000] [--tasks 100] [--rounds 20]
       [--changed 1] [--batch 50] [--seed 7] [--latency-ms 0]
Prints, per phase: HTTP requests, API calls (each batched call counts one, as Google's quota),
wall time, for both; the ratios; and the targets: idle rounds at one list call per calendar
and task list, a first sync in at most 1/40 of the baseline's HTTP requests and less time,
changed rounds at most 1.05 x the floor (CRM-side changes, which must be written to Google,
plus one list per calendar and task list).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from calsync.emulators.google.app import create_app
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.server import ServerThread
from calsync.engine.pairs import Kind
from calsync.model import Event, Task, When
from calsync.service import SyncService
from calsync.sides.crm import LocalBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.local.crm import LocalCrm
from calsync.state.store import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
LISTS = 2
"""Synced lists: one calendar and one task list."""


@dataclass
class Cost:
    """What one phase cost one system."""

    http: int = 0
    calls: int = 0
    seconds: float = 0.0
    floor: int = 0
    """The fewest API calls the phase's work allows."""

    def add(self, other: Cost) -> None:
        self.http += other.http
        self.calls += other.calls
        self.seconds += other.seconds
        self.floor += other.floor


class Meter:
    """Counts the emulator's API calls and HTTP requests around one piece of work."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def measure(self, work: Callable[[], object], floor: int = 0) -> Cost:
        calls, batches, logged = (
            self.emu.stats.total,
            self.emu.stats.batches,
            len(self.emu.requests),
        )
        t0 = time.perf_counter()
        work()
        seconds = time.perf_counter() - t0
        alone = sum(1 for r in self.emu.requests[logged:] if not r["batch"])
        return Cost(
            http=alone + self.emu.stats.batches - batches,
            calls=self.emu.stats.total - calls,
            seconds=seconds,
            floor=floor,
        )


def start_at(i: int) -> datetime:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return base + timedelta(hours=i % 2000, minutes=30 * (i // 2000))


def event(i: int, title: str | None = None) -> Event:
    start = start_at(i)
    return Event(title or f"event {i}", When(start, start + timedelta(minutes=30), "UTC"))


def task(i: int, title: str | None = None) -> Task:
    return Task(title or f"to-do {i}", due=date.today() + timedelta(days=1 + i % 300))


def google_body(item: Event | Task) -> dict[str, Any]:
    if isinstance(item, Task):
        due = item.due.isoformat() + "T00:00:00.000Z" if item.due else None
        return {"title": item.title, "notes": item.notes, "due": due}
    assert isinstance(item.when.start, datetime) and isinstance(item.when.end, datetime)
    return {
        "summary": item.title,
        "start": {"dateTime": item.when.start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": item.when.end.isoformat(), "timeZone": "UTC"},
    }


@dataclass
class GoogleUser:
    """Edits on Google as its own apps would make them (outside every measured window)."""

    url: str
    token: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def patch(self, kind: Kind, id: str, body: dict[str, Any]) -> dict[str, Any]:
        path = (
            f"/calendar/v3/calendars/primary/events/{id}"
            if kind is Kind.EVENT
            else f"/tasks/v1/lists/@default/tasks/{id}"
        )
        r = self.http.patch(
            self.url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        r.raise_for_status()
        return dict(r.json())


# -- calsync -------------------------------------------------------------------------------


class Calsync:
    """The real service for one user, on the embedded CRM."""

    def __init__(self, url: str, tmp: Path, batch: int, n_events: int, n_tasks: int) -> None:
        acct = httpx.post(f"{url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
        self.google = GoogleUser(url, acct["access_token"])
        self.crm = LocalCrm(f"sqlite:///{tmp / 'crm.db'}")
        self.crm.create_user("alice", password="x", time_zone="UTC")
        events, tasks = self.crm.events_side("alice"), self.crm.tasks_side("alice")
        self.crm_ids = {
            Kind.EVENT: [events.create(event(i), None).id for i in range(n_events)],
            Kind.TASK: [tasks.create(task(i), None).id for i in range(n_tasks)],
        }
        self.store = Store.open(f"sqlite:///{tmp / 'state.db'}", KEY)
        self.store.migrate()
        settings = GoogleSettings(
            "bench", "bench", api_url=url, token_url=f"{url}/token", batch_size=batch
        )
        self.service = SyncService(self.store, LocalBackend(self.crm), settings)
        self.service.known_user("alice")
        self.store.set_link("alice", acct["email"], acct["refresh_token"])
        prefs = self.store.get_prefs("alice").with_(days_future=400, tasklist="@default")
        self.store.set_prefs("alice", prefs)
        self.google_ids: dict[Kind, dict[str, str]] = {}

    def sync(self) -> None:
        report = self.service.sync_user("alice")
        assert report.status.success, report.message

    def learn_ids(self) -> None:
        for kind in Kind:
            pairs = self.store.pairs("alice", kind)
            self.google_ids[kind] = {
                p.crm_id: p.google_id for p in pairs if p.crm_id and p.google_id
            }

    def edit(self, kind: Kind, i: int, side: str, title: str) -> None:
        crm_id = self.crm_ids[kind][i]
        item = event(i, title) if kind is Kind.EVENT else task(i, title)
        if side == "crm":
            if kind is Kind.EVENT:
                self.crm.edit_event("alice", crm_id, title=title)
            else:
                self.crm.edit_task("alice", crm_id, title=title)
        else:
            self.google.patch(kind, self.google_ids[kind][crm_id], {**google_body(item)})

    def check(self, titles: dict[tuple[Kind, int], str]) -> None:
        """Both sides hold the titles expected (the bench measures work that was done)."""
        crm = {r.item.title for r in self.crm.list_events("alice")}
        crm |= {r.item.title for r in self.crm.list_tasks("alice")}
        assert set(titles.values()) == crm, "calsync's CRM is not as expected"

    def close(self) -> None:
        self.store.close()
        self.crm.close()


# -- the naive baseline ----------------------------------------------------------------------


class Baseline:
    """One call per item written; every round re-reads the whole calendar and task list."""

    def __init__(self, url: str, n_events: int, n_tasks: int) -> None:
        acct = httpx.post(f"{url}/_emulator/accounts", json={"email": "bob@example.com"}).json()
        self.url = url
        self.google = GoogleUser(url, acct["access_token"])
        self.http = httpx.Client(
            timeout=60, headers={"Authorization": f"Bearer {acct['access_token']}"}
        )
        self.crm: dict[tuple[Kind, int], Event | Task] = {}
        for i in range(n_events):
            self.crm[Kind.EVENT, i] = event(i)
        for i in range(n_tasks):
            self.crm[Kind.TASK, i] = task(i)
        self.dirty = set(self.crm)
        self.google_ids: dict[tuple[Kind, int], str] = {}
        self.seen: dict[str, str] = {}
        """Google id -> etag as last read."""

    def _path(self, kind: Kind) -> str:
        if kind is Kind.EVENT:
            return f"{self.url}/calendar/v3/calendars/primary/events"
        return f"{self.url}/tasks/v1/lists/@default/tasks"

    def _list(self, kind: Kind) -> list[dict[str, Any]]:
        params = {"maxResults": "2500"} if kind is Kind.EVENT else {"maxResults": "100"}
        found: list[dict[str, Any]] = []
        while True:
            doc = self.http.get(self._path(kind), params=params).raise_for_status().json()
            found += doc.get("items") or []
            if not doc.get("nextPageToken"):
                return found
            params = {**params, "pageToken": doc["nextPageToken"]}

    def sync(self) -> None:
        by_id = {g: k for k, g in self.google_ids.items()}
        for kind in Kind:
            for doc in self._list(kind):  # the full re-read
                key = by_id.get(doc["id"])
                if key is None or self.seen.get(doc["id"]) == doc["etag"]:
                    continue
                self.seen[doc["id"]] = doc["etag"]
                i = key[1]
                title = doc.get("summary") if kind is Kind.EVENT else doc.get("title")
                self.crm[key] = event(i, title) if kind is Kind.EVENT else task(i, title)
        for key in sorted(self.dirty, key=lambda k: (k[0].value, k[1])):  # one call per item
            body = google_body(self.crm[key])
            gid = self.google_ids.get(key)
            if gid is None:
                r = self.http.post(self._path(key[0]), json=body)
            else:
                r = self.http.patch(f"{self._path(key[0])}/{gid}", json=body)
            doc = r.raise_for_status().json()
            self.google_ids[key] = doc["id"]
            self.seen[doc["id"]] = doc["etag"]
        self.dirty.clear()

    def edit(self, kind: Kind, i: int, side: str, title: str) -> None:
        item = event(i, title) if kind is Kind.EVENT else task(i, title)
        if side == "crm":
            self.crm[kind, i] = item
            self.dirty.add((kind, i))
        else:
            self.google.patch(kind, self.google_ids[kind, i], google_body(item))

    def check(self, titles: dict[tuple[Kind, int], str]) -> None:
        assert {k: v.title for k, v in self.crm.items()} == titles, "baseline CRM not as expected"


# -- the run ---------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--tasks", type=int, default=100)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--changed", type=float, default=1.0, help="% of items changed per round")
    p.add_argument("--batch", type=int, default=50, help="calsync's calls per batch request")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--latency-ms", type=int, default=0, help="the emulator's per-request wait")
    args = p.parse_args()
    app = create_app()
    emu: Emulator = app.state.emulator
    emu.store.config.latency_ms = args.latency_ms
    meter = Meter(emu)
    items = [(Kind.EVENT, i) for i in range(args.events)]
    items += [(Kind.TASK, i) for i in range(args.tasks)]
    per_round = max(1, round(len(items) * args.changed / 100))
    rng = random.Random(args.seed)
    plan = [
        [(kind, i, rng.choice(("crm", "google"))) for kind, i in rng.sample(items, per_round)]
        for _ in range(args.rounds)
    ]
    costs: dict[str, dict[str, Cost]] = {}
    with ServerThread(app) as server, tempfile.TemporaryDirectory() as tmp:
        ours = Calsync(server.url, Path(tmp), args.batch, args.events, args.tasks)
        theirs = Baseline(server.url, args.events, args.tasks)
        for name, system in (("calsync", ours), ("baseline", theirs)):
            phases = costs[name] = {"first": Cost(), "changed": Cost(), "idle": Cost()}
            phases["first"] = meter.measure(system.sync, floor=len(items) + LISTS)
            if system is ours:
                ours.sync()  # calsync's settling round: the cursors catch up with its writes
                ours.learn_ids()
            titles = {
                (kind, i): (f"event {i}" if kind is Kind.EVENT else f"to-do {i}")
                for kind, i in items
            }
            for r, changes in enumerate(plan):
                for kind, i, side in changes:
                    title = f"{kind.value} {i} edit {r} on {side}"
                    system.edit(kind, i, side, title)
                    titles[kind, i] = title
                floor = sum(1 for _, _, side in changes if side == "crm") + LISTS
                phases["changed"].add(meter.measure(system.sync, floor=floor))
            for _ in range(args.rounds):
                phases["idle"].add(meter.measure(system.sync, floor=LISTS))
            system.check(titles)
        ours.close()
    report(costs, args, per_round)


def report(costs: dict[str, dict[str, Cost]], args: argparse.Namespace, per_round: int) -> None:
    table = Table(
        title=f"{args.events} events + {args.tasks} to-dos: first sync, {args.rounds} rounds "
        f"with {per_round} items changed, {args.rounds} idle rounds "
        f"(batches of {args.batch}, latency {args.latency_ms} ms)"
    )
    for col in ("phase", "system", "HTTP requests", "API calls", "floor", "calls/floor", "s"):
        table.add_column(col, justify="right")
    for phase in ("first", "changed", "idle"):
        for name in ("calsync", "baseline"):
            c = costs[name][phase]
            table.add_row(
                phase,
                name,
                str(c.http),
                str(c.calls),
                str(c.floor),
                f"{c.calls / c.floor:.3f}" if c.floor else "-",
                f"{c.seconds:.2f}",
            )
    Console().print(table)
    us, them = costs["calsync"], costs["baseline"]
    for phase in ("first", "changed", "idle"):
        a, b = us[phase], them[phase]
        print(
            f"{phase:>8}: baseline/calsync HTTP requests {b.http / max(a.http, 1):.1f}x, "
            f"API calls {b.calls / max(a.calls, 1):.1f}x, time {b.seconds / a.seconds:.2f}x"
        )
    idle = us["idle"].calls / args.rounds
    checks = {
        f"idle round: {idle:.2f} API calls (target {LISTS}: one list per calendar and task list)": (
            idle <= LISTS
        ),
        f"first sync HTTP requests: {us['first'].http} <= baseline's / 40 = "
        f"{them['first'].http / 40:.1f}": us["first"].http <= them["first"].http / 40,
        f"first sync time: {us['first'].seconds:.2f} s < baseline's "
        f"{them['first'].seconds:.2f} s": us["first"].seconds < them["first"].seconds,
        f"changed rounds: {us['changed'].calls} API calls <= 1.05 x floor "
        f"{us['changed'].floor}": us["changed"].calls <= 1.05 * us["changed"].floor,
    }
    for text, ok in checks.items():
        print(f"[{'met' if ok else 'MISSED'}] {text}")


if __name__ == "__main__":
    main()
