"""A series made in vtiger's UI (one record per occurrence, no link the webservice shows)
reaches Google as one recurring event; what is not certain stays single events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.app import create_app as vtiger_emulator
from calsync.service import UserStatus
from calsync.sides.vtiger.side import VtigerEventsSide
from tests.scenarios.drivers import VtigerDriver
from tests.scenarios.world import World, make_world

pytestmark = [pytest.mark.vtiger_only, pytest.mark.vtiger_php7]


def first_occurrence(days: int = 1, **fields: Any) -> dict[str, Any]:
    day = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    return {
        "subject": "stand-up",
        "date_start": day,
        "time_start": "08:00:00",
        "due_date": day,
        "time_end": "08:30:00",
        "duration_hours": "0",
        "duration_minutes": "30",
        "description": "<p>every morning</p>",
        "location": "room 4",
        "visibility": "Public",
        **fields,
    }


def vtiger(world: World) -> VtigerDriver:
    assert isinstance(world.crm, VtigerDriver)
    return world.crm


def instances(world: World, series_id: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{world.google_url}/calendar/v3/calendars/primary/events/{series_id}/instances",
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def ok(world: World) -> None:
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message


def quiet(world: World) -> None:
    """Two more rounds write nothing on Google."""
    ok(world)
    world.clear_log()
    ok(world)
    assert world.google_writes() == []


def the_series(world: World) -> dict[str, Any]:
    (master,) = [e for e in world.g.events() if e.get("recurrence")]
    return master


def test_a_daily_series_of_five_is_one_recurring_event(world: World) -> None:
    """One master with a daily rule of five, five instances at the vtiger times, five pairs;
    later rounds write nothing and create no duplicate."""
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    live = world.g.events()
    assert len(live) == 1
    master = live[0]
    assert master["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]
    assert master["summary"] == "stand-up" and master["location"] == "room 4"
    occ = instances(world, master["id"])
    assert len(occ) == 5
    starts = {datetime.fromisoformat(o["start"]["dateTime"]).astimezone(UTC) for o in occ}
    assert {s.time().isoformat() for s in starts} == {"08:00:00"}  # as vtiger stores them
    assert {p.google_id for p in world.pairs()} == {o["id"] for o in occ}
    assert {p.crm_id for p in world.pairs()} == set(ids)
    quiet(world)
    assert len(world.g.events()) == 1 and len(world.crm.events("alice")) == 5


def test_an_occurrence_edited_in_vtiger_becomes_one_exception(world: World) -> None:
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    master = the_series(world)
    world.crm.edit_event("alice", ids[2], title="stand-up (demo day)")
    ok(world)
    live = world.g.events()
    exceptions = [e for e in live if e.get("recurringEventId") == master["id"]]
    assert [e["summary"] for e in exceptions] == ["stand-up (demo day)"]
    assert len(live) == 2  # the master and its one exception
    titles = sorted(o["summary"] for o in instances(world, master["id"]))
    assert titles == ["stand-up"] * 4 + ["stand-up (demo day)"]
    quiet(world)


def test_an_occurrence_deleted_in_vtiger_becomes_one_cancelled_instance(world: World) -> None:
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    master = the_series(world)
    world.crm.delete_event("alice", ids[1])
    ok(world)
    occ = instances(world, master["id"])
    assert len(occ) == 4
    assert len(world.g.events()) == 1
    assert len(world.pairs()) == 4
    quiet(world)


def test_look_alikes_made_apart_stay_single_events(world: World) -> None:
    """Records labelled Daily with the same text on consecutive days, but saved minutes apart:
    not certainly one series, so they stay three single events (as before)."""
    vt = vtiger(world)
    for n in range(3):
        vt.plant(
            "alice",
            {
                **first_occurrence(1 + n),
                "recurringtype": "Daily",
                "activitytype": "Meeting",
                "eventstatus": "Planned",
            },
        )
        httpx.post(f"{vt.url}/_emulator/clock", json={"advance": 400})
    ok(world)
    live = world.g.events()
    assert len(live) == 3
    assert not any(e.get("recurrence") or e.get("recurringEventId") for e in live)
    quiet(world)


def test_single_events_synced_before_the_upgrade_stay_single(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A series that reached Google as five single events (calsync without series) is neither
    duplicated nor turned into a recurring event once calsync recovers series; an occurrence
    added to it later stays single too."""
    vt = vtiger(world)
    ids = vt.series("alice", first_occurrence(), "Daily", 5)
    with monkeypatch.context() as m:
        m.setattr(VtigerEventsSide, "_annotate", lambda self, cs: cs)
        ok(world)
    assert len(world.g.events()) == 5
    ok(world)
    quiet(world)
    live = world.g.events()
    assert len(live) == 5 and not any(e.get("recurrence") for e in live)
    assert {p.crm_id for p in world.pairs()} == set(ids)


@pytest.fixture
def db_world(google_url: str, tmp_path: Path) -> Iterator[World]:
    """vtiger with a database file calsync reads its series tables from (read-only)."""
    db = tmp_path / "vtiger.db"
    with ServerThread(vtiger_emulator(str(db))) as server:
        httpx.post(f"{google_url}/_emulator/reset")
        driver = VtigerDriver(server.url, db_url=f"sqlite:///{db}")
        yield make_world(google_url, driver, tmp_path)


def test_vtigers_tables_give_the_series_with_its_gaps_and_exceptions(db_world: World) -> None:
    """With the database, a series whose second occurrence was deleted and whose fourth was
    edited before the first sync is one recurring event with one EXDATE and one exception
    (the webservice alone would have left it as single events)."""
    world = db_world
    vt = vtiger(world)
    ids = vt.series("alice", first_occurrence(), "Daily", 5)
    world.crm.delete_event("alice", ids[1])
    vt.ui_edit(ids[3], subject="stand-up (retro)")
    ok(world)
    master = the_series(world)
    assert master["recurrence"][0] == "RRULE:FREQ=DAILY;COUNT=5"
    assert len(master["recurrence"]) == 2 and master["recurrence"][1].startswith("EXDATE")
    occ = instances(world, master["id"])
    assert sorted(o["summary"] for o in occ) == ["stand-up"] * 3 + ["stand-up (retro)"]
    assert len(world.g.events()) == 2  # the master and the exception
    quiet(world)


def test_an_all_events_edit_in_vtiger_updates_the_series(world: World) -> None:
    """vtiger's "all events" edit rewrites every occurrence alike: Google gets one PATCH of the
    recurring event, no exceptions."""
    vt = vtiger(world)
    ids = vt.series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    master = the_series(world)
    for i in ids:
        vt.ui_edit(i, subject="stand-up (new room)", location="room 7")
    world.clear_log()
    ok(world)
    writes = world.google_writes()
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in writes] == [
        ("PATCH", master["id"])
    ]
    live = world.g.events()
    assert len(live) == 1 and live[0]["summary"] == "stand-up (new room)"
    assert {o["location"] for o in instances(world, master["id"])} == {"room 7"}
    quiet(world)


def test_an_edit_of_some_occurrences_alike_stays_exceptions(world: World) -> None:
    """The first two occurrences edited alike look like a series of their own: the recurring
    event keeps its content, the two become exceptions, the others are untouched."""
    vt = vtiger(world)
    ids = vt.series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    master = the_series(world)
    for i in ids[:2]:
        vt.ui_edit(i, subject="stand-up (moved)")
    ok(world)
    titles = sorted(o["summary"] for o in instances(world, master["id"]))
    assert titles == ["stand-up"] * 3 + ["stand-up (moved)"] * 2
    assert the_series(world)["summary"] == "stand-up"
    assert sorted(e.item.title for e in world.crm.events("alice")) == titles
    quiet(world)


def test_a_wiped_state_relinks_the_series_without_duplicates(world: World) -> None:
    """With the pairs lost, the next round links vtiger's occurrences to the instances again
    (by title and time: neither copy holds our key) and creates nothing."""
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    world.store.wipe_pairs("alice")
    world.store.wipe_cursors("alice")
    world.clear_log()
    ok(world)
    assert world.google_writes() == []
    assert {p.crm_id for p in world.pairs()} == set(ids)
    assert len(world.g.events()) == 1 and len(world.crm.events("alice")) == 5


def test_a_lost_reply_to_the_series_insert_makes_no_duplicate(world: World) -> None:
    """Google applied the recurring event's insert but its reply was lost: the retry's 409
    finds it, and the occurrences join it."""
    vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    world.fault(
        status=503,
        reason="backendError",
        count=1,
        path_prefix="/calendar/v3/calendars/primary/events",
        method="POST",
        mode="apply_then_fail",
    )
    ok(world)
    ok(world)
    live = world.g.events()
    assert len(live) == 1 and live[0]["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]
    assert len(world.pairs()) == 5
    quiet(world)


def test_with_the_tables_an_edit_after_the_first_sync_is_one_exception(db_world: World) -> None:
    """An increment holding one edited occurrence reads its series' other members by id."""
    world = db_world
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    master = the_series(world)
    vtiger(world).ui_edit(ids[4], subject="stand-up (last)")
    world.clear_log()
    ok(world)
    assert [w["method"] for w in world.google_writes()] == ["PATCH"]
    titles = sorted(o["summary"] for o in instances(world, master["id"]))
    assert titles == ["stand-up"] * 4 + ["stand-up (last)"]
    quiet(world)


def test_an_unreadable_database_falls_back_to_the_webservice(
    google_url: str, vtiger_url: str, tmp_path: Path
) -> None:
    httpx.post(f"{google_url}/_emulator/reset")
    httpx.post(f"{vtiger_url}/_emulator/reset")
    driver = VtigerDriver(vtiger_url, db_url=f"sqlite:///{tmp_path / 'missing.db'}")
    world = make_world(google_url, driver, tmp_path)
    driver.series("alice", first_occurrence(), "Daily", 5)
    ok(world)
    assert [e["recurrence"] for e in world.g.events()] == [["RRULE:FREQ=DAILY;COUNT=5"]]


def test_an_instance_whose_occurrence_vtiger_deleted_unseen_is_not_copied_back(
    world: World,
) -> None:
    """The recurring event holds occurrences beyond the sync window; one of them deleted in
    vtiger before it came into the window is not made again in vtiger from Google's copy."""
    world.prefs(days_future=3)
    ids = vtiger(world).series("alice", first_occurrence(), "Daily", 6)
    ok(world)
    assert len(world.pairs()) < 6
    world.crm.delete_event("alice", ids[4])
    world.prefs(days_future=30)
    ok(world)
    ok(world)
    assert sorted(r.id for r in world.crm.events("alice")) == sorted(ids[:4] + ids[5:])
    assert {p.crm_id for p in world.pairs()} == set(ids[:4] + ids[5:])
