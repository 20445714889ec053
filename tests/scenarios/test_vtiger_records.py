"""What a real vtiger 8.4 does to data, end to end: reminders in seconds, a revise dropping the
reminder, records that change module, visibility "", Mobile Call, a non-admin access key.

vtiger only: the emulator runs in its default mode (a stock vtiger 8.4 on PHP 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.engine.pairs import Kind
from calsync.model import utcnow
from calsync.service import UserStatus
from tests.scenarios.drivers import VtigerDriver
from tests.scenarios.world import World, make_world

pytestmark = pytest.mark.vtiger_only

LIST = "@default"


def _vtiger(world: World) -> VtigerDriver:
    if not isinstance(world.crm, VtigerDriver):
        pytest.skip("vtiger-specific")
    return world.crm


def _slot(days: int = 1) -> dict[str, str]:
    """Return a one-hour slot `days` ahead as vtiger fields (UTC)."""
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=1)
    return {
        "date_start": start.strftime("%Y-%m-%d"),
        "time_start": start.strftime("%H:%M:%S"),
        "due_date": end.strftime("%Y-%m-%d"),
        "time_end": end.strftime("%H:%M:%S"),
    }


def _ui_event(subject: str, **fields: Any) -> dict[str, Any]:
    """Return an Events record as vtiger's UI saves one."""
    return {
        "subject": subject,
        **_slot(),
        "duration_hours": "1",
        "eventstatus": "Planned",
        "activitytype": "Meeting",
        "visibility": "Public",
        "reminder_time": "0",
        **fields,
    }


def _google_body(summary: str, overrides: list[dict[str, Any]]) -> dict[str, Any]:
    slot = _slot()
    return {
        "summary": summary,
        "start": {"dateTime": f"{slot['date_start']}T{slot['time_start']}Z"},
        "end": {"dateTime": f"{slot['due_date']}T{slot['time_end']}Z"},
        "reminders": {"useDefault": False, "overrides": overrides},
    }


def _popups(event: dict[str, Any]) -> set[int]:
    overrides = (event.get("reminders") or {}).get("overrides") or []
    return {int(o["minutes"]) for o in overrides if o.get("method") == "popup"}


def _ok(world: World) -> None:
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message


def _crm_id(world: World, title: str) -> str:
    """Return the vtiger id of the synced event titled `title`."""
    crm = _vtiger(world)
    for pair in world.pairs(Kind.EVENT):
        if pair.crm_id and crm.record(pair.crm_id)["subject"] == title:
            return str(pair.crm_id)
    raise AssertionError(f"no pair for {title!r}")


def test_google_reminder_reaches_vtiger_in_minutes(world: World) -> None:
    """vtiger reads `reminder_time` as seconds: a 30-minute Google popup must read back 30 in
    vtiger, not 1."""
    crm = _vtiger(world)
    world.g.insert(_google_body("Standup", [{"method": "popup", "minutes": 30}]))
    _ok(world)
    assert crm.record(_crm_id(world, "Standup"))["reminder_time"] == "30"


def test_vtiger_reminder_survives_a_google_edit(world: World) -> None:
    """A 15-minute reminder set in vtiger reaches Google as 15, and a Google edit of the title
    leaves vtiger's reminder at 15 (not 1, not gone)."""
    crm = _vtiger(world)
    id = crm.plant("alice", _ui_event("Review", reminder_time="15"))
    _ok(world)
    g = world.google_events()["Review"]
    assert _popups(g) == {15}
    world.g.patch(g["id"], {"summary": "Review (moved)"})
    _ok(world)
    rec = crm.record(id)
    assert (rec["subject"], rec["reminder_time"]) == ("Review (moved)", "15")
    _ok(world)
    assert _popups(world.google_events()["Review (moved)"]) == {15}


def test_vtiger_edit_never_wipes_googles_reminder(world: World) -> None:
    """Google popup 30 + email 1440: after calsync's writes and an edit in vtiger's UI, Google
    still has its 30-minute popup (before, it became 1 minute, or none after a revise)."""
    crm = _vtiger(world)
    world.g.insert(
        _google_body(
            "Aperitivo",
            [{"method": "popup", "minutes": 30}, {"method": "email", "minutes": 1440}],
        )
    )
    _ok(world)
    id = _crm_id(world, "Aperitivo")
    g = world.google_events()["Aperitivo"]
    world.g.patch(g["id"], {"location": "Bar Luigi"})
    _ok(world)
    assert crm.record(id)["reminder_time"] == "30"
    crm.ui_edit(id, subject="Aperitivo con Luigi")
    _ok(world)
    after = world.google_events()["Aperitivo con Luigi"]
    assert 30 in _popups(after)


def _reminders(event: dict[str, Any]) -> set[tuple[str, int]]:
    overrides = (event.get("reminders") or {}).get("overrides") or []
    return {(str(o["method"]), int(o["minutes"])) for o in overrides}


def test_vtiger_title_edit_keeps_both_google_reminders(world: World) -> None:
    """vtiger holds one reminder per event: Google's popup 30 + email 1440 is popup 30 there.
    A title edit in vtiger reaches Google, which keeps both of its reminders."""
    crm = _vtiger(world)
    both = [{"method": "popup", "minutes": 30}, {"method": "email", "minutes": 1440}]
    world.g.insert(_google_body("Aperitivo", both))
    _ok(world)
    id = _crm_id(world, "Aperitivo")
    assert crm.record(id)["reminder_time"] == "30"
    crm.ui_edit(id, subject="Aperitivo con Luigi")
    _ok(world)
    after = world.google_events()["Aperitivo con Luigi"]
    assert _reminders(after) == {("popup", 30), ("email", 1440)}
    _ok(world)
    assert crm.record(id)["reminder_time"] == "30"
    assert _reminders(world.google_events()["Aperitivo con Luigi"]) == {
        ("popup", 30),
        ("email", 1440),
    }


def test_one_day_google_reminder_survives_a_vtiger_edit(world: World) -> None:
    """vtiger reads a one-day reminder back as 1441 minutes: a later vtiger edit must not
    turn Google's 1440 into 1441."""
    crm = _vtiger(world)
    world.g.insert(_google_body("Trip", [{"method": "popup", "minutes": 1440}]))
    _ok(world)
    id = _crm_id(world, "Trip")
    assert crm.record(id)["reminder_time"] == "1441"
    crm.ui_edit(id, subject="Trip to Milano", reminder_time=86400)
    _ok(world)
    assert _reminders(world.google_events()["Trip to Milano"]) == {("popup", 1440)}


def test_vtiger_reminder_change_reaches_google(world: World) -> None:
    """A real change of vtiger's reminder (15 -> 60 minutes) still travels to Google."""
    crm = _vtiger(world)
    world.g.insert(_google_body("Review", [{"method": "popup", "minutes": 15}]))
    _ok(world)
    id = _crm_id(world, "Review")
    assert crm.record(id)["reminder_time"] == "15"
    crm.ui_edit(id, reminder_time=3600)
    _ok(world)
    assert _reminders(world.google_events()["Review"]) == {("popup", 60)}


def test_todo_reminder_survives_a_google_edit(world: World) -> None:
    """A revise without `reminder_time` deletes vtiger's reminder: a to-do's reminder (which
    Google Tasks cannot hold) survives calsync writing a Google Tasks edit into it."""
    crm = _vtiger(world)
    world.prefs(tasklist=LIST)
    slot = _slot(2)
    id = crm.plant(
        "alice",
        {
            "subject": "Send offer",
            "date_start": slot["date_start"],
            "time_start": "08:00:00",
            "due_date": slot["date_start"],
            "taskstatus": "Not Started",
            "activitytype": "Task",
            "reminder_time": "10",
        },
        module="Calendar",
    )
    _ok(world)
    (pair,) = world.pairs(Kind.TASK)
    url = f"{world.google_url}/tasks/v1/lists/{LIST}/tasks/{pair.google_id}"
    headers = {"Authorization": f"Bearer {world.g.access_token}"}
    r = httpx.patch(url, json={"title": "Send offer v2"}, headers=headers)
    assert r.status_code == 200, r.text
    _ok(world)
    rec = crm.record(id)
    assert (rec["subject"], rec["reminder_time"]) == ("Send offer v2", "10")


@pytest.mark.parametrize("tasks", [False, True], ids=["events-only", "with-todos"])
def test_event_turned_into_a_todo_does_not_stop_the_round(world: World, tasks: bool) -> None:
    """An inline edit in vtiger's UI turned an event into a to-do; its old id answers
    INVALID_ID_ATTRIBUTE. Every later round still works: the Google event goes, the to-do
    arrives as a Google task when to-dos are synced, and other events keep syncing."""
    crm = _vtiger(world)
    if tasks:
        world.prefs(tasklist=LIST)
    id = crm.plant("alice", _ui_event("Call Marta"))
    crm.plant("alice", _ui_event("Other"))
    _ok(world)
    assert set(world.google_events()) == {"Call Marta", "Other"}
    crm.move(id, "Calendar")
    _ok(world)
    assert set(world.google_events()) == {"Other"}
    g_tasks = [t["title"] for t in world.g.tasks()]
    assert g_tasks == (["Call Marta"] if tasks else [])
    crm.plant("alice", _ui_event("Later"))
    _ok(world)
    _ok(world)
    assert set(world.google_events()) == {"Other", "Later"}


def test_todo_turned_into_an_event_travels_as_an_event(world: World) -> None:
    """The other way: a to-do becomes an event; the Google task goes, a Google event comes."""
    crm = _vtiger(world)
    world.prefs(tasklist=LIST)
    slot = _slot(2)
    id = crm.plant(
        "alice",
        {
            "subject": "Visit",
            **slot,
            "taskstatus": "Not Started",
            "activitytype": "Task",
        },
        module="Calendar",
    )
    _ok(world)
    assert [t["title"] for t in world.g.tasks()] == ["Visit"]
    crm.move(id, "Events")
    _ok(world)
    _ok(world)
    assert [t["title"] for t in world.g.tasks() if not t.get("deleted")] == []
    assert set(world.google_events()) == {"Visit"}


def test_event_without_visibility_reaches_google_as_public(world: World) -> None:
    """An event created in vtiger without `visibility` stores "": vtiger shows it to colleagues,
    so it is not a private event on Google either."""
    crm = _vtiger(world)
    fields = _ui_event("Open house")
    del fields["visibility"]
    id = crm.plant("alice", fields)
    assert crm.record(id)["visibility"] == ""
    _ok(world)
    assert world.google_events()["Open house"].get("visibility", "default") != "private"


def test_mobile_call_is_synced(world: World) -> None:
    """vtiger 8.4's event types include "Mobile Call": such an event syncs like a Call."""
    crm = _vtiger(world)
    crm.plant("alice", _ui_event("Ring Ugo", activitytype="Mobile Call"))
    _ok(world)
    assert "Ring Ugo" in world.google_events()


@pytest.fixture
def own_key_world(google_url: str, vtiger_url: str, tmp_path: Path) -> Iterator[World]:
    """alice syncs with her own, non-admin access key (no admin key configured)."""
    httpx.post(f"{google_url}/_emulator/reset")
    httpx.post(f"{vtiger_url}/_emulator/reset")
    yield make_world(google_url, VtigerDriver(vtiger_url, admin=False), tmp_path)


def test_a_non_admin_key_syncs(own_key_world: World) -> None:
    """A non-admin's `SELECT * FROM Users;` is ACCESS_DENIED: calsync syncs the key's own user
    (read from its own record) both ways instead of failing every round."""
    world = own_key_world
    crm = _vtiger(world)
    crm.plant("alice", _ui_event("From vtiger"))
    world.g.insert(_google_body("From Google", []))
    _ok(world)
    _ok(world)
    assert {"From vtiger", "From Google"} <= set(world.google_events())
    assert {"From vtiger", "From Google"} <= set(world.crm_events())
