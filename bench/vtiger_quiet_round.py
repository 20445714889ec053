"""Webservice requests of a quiet sync round against vtiger on PHP 8 (the VTQL fallback).

For each calendar size, alice's vtiger events are synced once to the Google emulator (a full
round), then quiet rounds (nothing changed anywhere) are run and the requests the vtiger
emulator received are counted, by operation:
- calsync: the record count is checked with one query; ids are listed only when it changed;
- baseline: the behaviour before that check, every id listed each round (100 per request).

Usage: .venv/bin/python bench/vtiger_quiet_round.py [--sizes 100,1000,5000] [--rounds 3]
Prints a table of requests per quiet round for both, and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.testing import VtigerEmulator, event_element
from calsync.model import Event
from calsync.service import SyncService, UserStatus
from calsync.sides.base import Side
from calsync.sides.crm import CrmUserInfo, VtigerBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.vtiger.side import VtigerEventsSide
from calsync.state.store import Store


class ListingEventsSide(VtigerEventsSide):
    """The baseline: never trusts an unchanged count, so every round lists every id."""

    def _holds_exactly(self, ids: set[str]) -> bool:
        return False


class BenchBackend(VtigerBackend):
    """A vtiger backend whose events side is calsync's or the baseline's."""

    baseline = False

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        if not self.baseline:
            return super().events_side(user)
        return ListingEventsSide(self.client, user.crm_id, user.time_zone, feed=self.feed)


def seed(vt: VtigerEmulator, owner: str, n: int) -> None:
    """Store `n` events of `owner` directly in the emulator (as if made in vtiger's UI)."""
    store = vt.app.state.emulator.store
    uid = int(owner.split("x")[1])
    base = datetime.now(UTC).date() + timedelta(days=1)
    for i in range(n):
        day = (base + timedelta(days=i % 300)).isoformat()
        hour = f"{8 + i % 10:02d}"
        fields = event_element(
            owner,
            subject=f"event {i}",
            date_start=day,
            due_date=day,
            time_start=f"{hour}:00:00",
            time_end=f"{hour}:30:00",
        )
        fields.pop("assigned_user_id")
        store.insert("Events", uid, fields, uid)


def requests(vt: VtigerEmulator) -> Counter[str]:
    return Counter({k: int(v) for k, v in vt.stats()["calls"].items()})


def measure(google_url: str, vt: VtigerEmulator, n: int, rounds: int) -> dict[str, Any]:
    """Return the requests per quiet round (calsync and baseline) with `n` events."""
    httpx.post(f"{google_url}/_emulator/reset")
    vt.control("reset")
    vt.set_php8(True)
    admin = vt.add_user("admin", is_admin=True)
    alice = vt.add_user("alice", time_zone="Europe/Rome")
    seed(vt, alice.id, n)
    vt.advance(2)
    acc = httpx.post(f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'state.db'}", Path(tmp))
        store.migrate()
        backend = BenchBackend(vt.url, admin.user_name, admin.access_key)
        google = GoogleSettings(
            "bench", "bench", api_url=google_url, token_url=f"{google_url}/token"
        )
        service = SyncService(store, backend, google)
        service.known_user("alice")
        store.set_link("alice", acc["email"], acc["refresh_token"])
        store.set_prefs("alice", store.get_prefs("alice").with_(days_future=400))
        first = service.sync_user("alice")
        assert first.status is UserStatus.OK, first.message
        assert len(store.pairs("alice", first.rounds[0].kind)) == n
        out: dict[str, Any] = {"events": n}
        for name, baseline in (("calsync", False), ("baseline", True)):
            backend.baseline = baseline
            per_round: list[Counter[str]] = []
            for _ in range(rounds):
                vt.advance(2)
                before = requests(vt)
                rep = service.sync_user("alice")
                assert rep.status is UserStatus.OK, rep.message
                assert rep.total("crm").writes == rep.total("google").writes == 0
                per_round.append(requests(vt) - before)
            total = sum(sum(c.values()) for c in per_round) / rounds
            ops: Counter[str] = sum(per_round, Counter())
            out[name] = total
            out[f"{name}_ops"] = ", ".join(f"{k} {v / rounds:g}" for k, v in sorted(ops.items()))
        store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with ServerThread(create_app()) as google, VtigerEmulator() as vt:
        for n in sizes:
            rows.append(measure(google.url, vt, n, args.rounds))
    table = Table(title="vtiger webservice requests per quiet round (PHP 8, VTQL fallback)")
    for col in (
        "events",
        "calsync",
        "baseline",
        "baseline / calsync",
        "calsync by operation",
        "baseline by operation",
    ):
        table.add_column(col, justify="left" if "operation" in col else "right")
    for r in rows:
        table.add_row(
            str(r["events"]),
            f"{r['calsync']:g}",
            f"{r['baseline']:g}",
            f"{r['baseline'] / r['calsync']:.1f}x",
            r["calsync_ops"],
            r["baseline_ops"],
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
