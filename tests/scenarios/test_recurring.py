"""Recurring events made in Google reach the CRM the way the CRM stores series: as one event
with its rule (embedded CRM), or one record per occurrence (vtiger)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from calsync.service import UserStatus
from tests.scenarios.drivers import VtigerDriver
from tests.scenarios.world import World

ROME = ZoneInfo("Europe/Rome")


def weekly(world: World, count: int = 4) -> dict[str, Any]:
    day = (datetime.now(ROME) + timedelta(days=1)).date()
    start = datetime.combine(day, datetime.min.time(), ROME).replace(hour=9)
    return world.g.insert(
        {
            "summary": "weekly review",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {
                "dateTime": (start + timedelta(hours=1)).isoformat(),
                "timeZone": "Europe/Rome",
            },
            "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
        }
    )


def instances(world: World, series_id: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{world.google_url}/calendar/v3/calendars/primary/events/{series_id}/instances",
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i.get("status") != "cancelled"]


def test_google_series_reaches_the_crm_as_the_crm_stores_series(world: World) -> None:
    """One event with its RRULE in the embedded CRM; one record per occurrence in vtiger,
    each at 09:00 Rome time; a second round writes nothing."""
    weekly(world)
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    events = [r.item for r in world.crm.events("alice")]
    if isinstance(world.crm, VtigerDriver):
        assert len(events) == 4
        starts = sorted(e.when.start for e in events)
        assert all(isinstance(s, datetime) and s.astimezone(ROME).hour == 9 for s in starts)
        assert [(b - a).days for a, b in pairwise(starts)] == [7, 7, 7]
    else:
        (event,) = events
        assert event.recurrence is not None
        assert event.recurrence.lines == ("RRULE:FREQ=WEEKLY;COUNT=4",)
    world.sync()
    world.clear_log()
    world.sync()
    assert world.google_writes() == []


def test_occurrence_edits_and_cancellations_travel_one_occurrence_at_a_time(
    world: World,
) -> None:
    """vtiger: a Google-cancelled occurrence leaves the CRM; an occurrence edited in the CRM
    becomes an exception on Google while the others stay as they were."""
    if not isinstance(world.crm, VtigerDriver):
        pytest.skip("the embedded CRM keeps a series whole; per-occurrence records are vtiger's")
    series = weekly(world)
    world.sync()
    occ = instances(world, series["id"])
    assert len(occ) == 4
    world.g.delete(occ[1]["id"])
    world.sync()
    crm = sorted(world.crm.events("alice"), key=lambda r: r.item.when.start)
    assert len(crm) == 3
    world.crm.edit_event("alice", crm[0].id, title="weekly review (kick-off)")
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    titles = sorted(i["summary"] for i in instances(world, series["id"]))
    assert titles == ["weekly review", "weekly review", "weekly review (kick-off)"]
    # Still one series: besides its master, only the exception, which belongs to it.
    others = [e for e in world.g.events() if e["id"] != series["id"]]
    assert [e.get("recurringEventId") for e in others] == [series["id"]]
