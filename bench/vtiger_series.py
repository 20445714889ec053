"""What a daily series made in vtiger's UI costs on Google: as single events or as one series.

For each series length, alice's series is stored in the vtiger emulator as vtiger's UI saves
one (a record per occurrence), then one sync round runs against the Google emulator:
- calsync: the series is recovered and written as one recurring event with its instances;
- baseline: the behaviour before series recovery, one single event per occurrence.
Counted on Google: the events a calendar listing shows, write requests and all requests in
the round, and in a second round (nothing changed) all requests.

Usage: .venv/bin/python bench/vtiger_series.py [--sizes 5,30,200]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.testing import VtigerEmulator
from calsync.model import Event
from calsync.service import SyncService, UserStatus
from calsync.sides.base import ChangeSet, Side
from calsync.sides.crm import CrmUserInfo, VtigerBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.vtiger.side import VtigerEventsSide
from calsync.state.store import Store


class SinglesSide(VtigerEventsSide):
    """The baseline: no series recovered, every occurrence a single event."""

    def _annotate(self, cs: ChangeSet[Event]) -> ChangeSet[Event]:
        return cs


class BenchBackend(VtigerBackend):
    baseline = False

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        if not self.baseline:
            return super().events_side(user)
        return SinglesSide(self.client, user.crm_id, user.time_zone, feed=self.feed)


def google_requests(url: str) -> list[dict[str, Any]]:
    reqs = httpx.get(f"{url}/_emulator/requests").json()["requests"]
    return [r for r in reqs if str(r.get("path", "")).startswith(("/calendar", "/batch"))]


def measure(google_url: str, vt: VtigerEmulator, n: int, baseline: bool) -> dict[str, Any]:
    httpx.post(f"{google_url}/_emulator/reset")
    vt.control("reset")
    admin = vt.add_user("admin", is_admin=True)
    vt.add_user("alice", time_zone="Europe/Rome")
    day = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    first = {
        "subject": "stand-up",
        "date_start": day,
        "due_date": day,
        "time_start": "08:00:00",
        "time_end": "08:30:00",
        "visibility": "Public",
    }
    vt.series("alice", first, "Daily", n)
    acc = httpx.post(f"{google_url}/_emulator/accounts", json={"email": "alice@example.com"}).json()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'state.db'}", Path(tmp))
        store.migrate()
        backend = BenchBackend(vt.url, admin.user_name, admin.access_key)
        backend.baseline = baseline
        google = GoogleSettings(
            "bench", "bench", api_url=google_url, token_url=f"{google_url}/token"
        )
        service = SyncService(store, backend, google)
        service.known_user("alice")
        store.set_link("alice", acc["email"], acc["refresh_token"])
        store.set_prefs("alice", store.get_prefs("alice").with_(days_future=400))
        httpx.delete(f"{google_url}/_emulator/requests")
        rep = service.sync_user("alice")
        assert rep.status is UserStatus.OK, rep.message
        first_round = google_requests(google_url)
        httpx.delete(f"{google_url}/_emulator/requests")
        vt.advance(2)
        again = service.sync_user("alice")
        assert again.status is UserStatus.OK, again.message
        second_round = google_requests(google_url)
        store.close()
    listed = httpx.get(
        f"{google_url}/calendar/v3/calendars/primary/events",
        params={"maxResults": "2500"},
        headers={"Authorization": f"Bearer {acc['access_token']}"},
    ).json()["items"]
    return {
        "events": len([e for e in listed if e.get("status") != "cancelled"]),
        "writes": sum(r["method"] in ("POST", "PATCH", "PUT", "DELETE") for r in first_round),
        "requests": len(first_round),
        "quiet": len(second_round),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5,30,200")
    args = ap.parse_args()
    table = Table(title="Google requests for a vtiger daily series, first round then a quiet one")
    for col in ("occurrences", "how", "events listed", "writes", "requests", "quiet round"):
        table.add_column(col, justify="right")
    with ServerThread(create_app()) as google, VtigerEmulator() as vt:
        for n in (int(s) for s in args.sizes.split(",")):
            for how, baseline in (("series", False), ("singles", True)):
                r = measure(google.url, vt, n, baseline)
                table.add_row(
                    str(n),
                    how,
                    str(r["events"]),
                    str(r["writes"]),
                    str(r["requests"]),
                    str(r["quiet"]),
                )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
