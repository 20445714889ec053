"""Items dated at the edges of the calendar (year 0001 or 9999) are skipped with a log line the
user sees; every other item of that user still syncs, round after round."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from tests.scenarios.drivers import VtigerDriver
from tests.scenarios.world import World


def soon(days: int = 1) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


@pytest.mark.vtiger_only
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (("9999-12-31", "22:00:00"), ("9999-12-31", "23:30:00")),
        (("9999-12-31", "00:00:00"), ("9999-12-31", "23:59:00")),
        (("0001-01-01", "00:00:00"), ("0001-01-01", "01:00:00")),
        (("0001-01-01", "00:00:00"), ("0001-01-01", "23:59:00")),
    ],
    ids=["9999-timed", "9999-all-day", "0001-timed", "0001-all-day"],
)
def test_vtiger_event_at_the_edge_of_time_is_skipped_and_shown(
    world: World, start: tuple[str, str], end: tuple[str, str]
) -> None:
    """A vtiger event in year 9999 or 0001 (which no zone arithmetic can hold) is skipped with
    a line in the user's sync log; the user's other event syncs, in this round and the next."""
    crm = world.crm
    assert isinstance(crm, VtigerDriver)
    world.crm.add_event("alice", Event("good", soon()))
    fields = {
        "subject": "edge",
        "date_start": start[0],
        "time_start": start[1],
        "due_date": end[0],
        "time_end": end[1],
        "activitytype": "Meeting",
    }
    r = httpx.post(
        f"{crm.url}/_emulator/records",
        json={"module": "Events", "owner": "alice", "fields": fields},
    )
    assert r.status_code == 200, r.text
    bad_id = r.json()["id"] if isinstance(r.json(), dict) and "id" in r.json() else None
    for _ in range(2):
        rep = world.sync()
        assert rep.status is UserStatus.OK, rep.message
        assert set(world.google_events()) == {"good"}
    skips = [e for e in world.store.logs("alice") if e.action == "skip"]
    assert skips, world.store.logs("alice")
    assert all(e.side == "crm" and e.level == "warning" for e in skips)
    if bad_id:
        assert any(bad_id in (e.key + e.message) for e in skips), skips


@pytest.mark.parametrize(
    "body",
    [
        {"start": {"date": "9999-12-31"}, "end": {"date": "9999-12-31"}},
        {
            "start": {"dateTime": "9999-12-31T23:00:00Z"},
            "end": {"dateTime": "9999-12-31T23:30:00Z"},
        },
        {
            "start": {"dateTime": "0001-01-01T00:00:00Z"},
            "end": {"dateTime": "0001-01-01T01:00:00Z"},
        },
    ],
    ids=["all-day-9999", "timed-9999", "timed-0001"],
)
def test_google_event_at_the_edge_of_time_is_skipped_and_shown(
    world: World, body: dict[str, object]
) -> None:
    """A Google event on 9999-12-31 (or in year 0001) is skipped with a line in the user's sync
    log; the user's other event still reaches the CRM, in this round and the next."""
    when = soon()
    world.g.insert(
        {
            "summary": "good",
            "start": {"dateTime": when.start.isoformat()},
            "end": {"dateTime": when.end.isoformat()},
        }
    )
    # Made after a first round, the event comes in through the sync token, which (unlike a
    # full listing) is not bounded by the sync window.
    assert world.sync().status is UserStatus.OK
    r = httpx.post(
        f"{world.google_url}/calendar/v3/calendars/primary/events",
        json={"summary": "edge", **body},
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    assert r.status_code == 200, r.text
    for _ in range(2):
        rep = world.sync()
        assert rep.status is UserStatus.OK, rep.message
        assert set(world.crm_events()) == {"good"}
    skips = [e for e in world.store.logs("alice") if e.action == "skip"]
    assert skips, world.store.logs("alice")
    assert any(e.side == "google" and r.json()["id"] in (e.key + e.message) for e in skips)
