"""What a real CRM does to data: HTML kept through round trips, bad records, failing reads."""

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


HTML = (
    '<p>Agenda &amp; notes: <b>bold</b>, <a href="https://example.com/x?a=1&amp;b=2">link</a>,'
    "\na &lt; b, caffè</p>"
)
SCRIPTED = "<p>a <script>alert(1)</script> b</p>"


@pytest.mark.parametrize("description", [HTML, SCRIPTED], ids=["html", "script"])
def test_html_description_survives_ten_round_trips(world: World, description: str) -> None:
    """CRM -> Google -> CRM, edited on either side ten times: the HTML never changes or grows."""
    crm_id = world.crm.add_event("alice", Event("html", soon(), description=description))
    world.sync()
    g_id = world.pairs()[0].google_id
    assert g_id
    first_crm = world.crm_events()["html"].description
    for i in range(10):
        if i % 2:
            world.crm.edit_event("alice", crm_id, location=f"room {i}")
        else:
            world.g.patch(g_id, {"location": f"room {i}"})
        world.sync()
        assert world.google_events()["html"]["description"] == description
        assert world.crm_events()["html"].description == first_crm
    assert first_crm == description


def _vtiger(world: World) -> VtigerDriver:
    if not isinstance(world.crm, VtigerDriver):
        pytest.skip("vtiger-specific: the embedded CRM cannot hold malformed records")
    return world.crm


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "no start", "due_date": "2030-01-01", "time_end": "10:00:00"},
        {
            "subject": "bad date",
            "date_start": "2030-13-45",
            "time_start": "09:00:00",
            "due_date": "2030-13-45",
            "time_end": "10:00:00",
            "activitytype": "Meeting",
        },
        {
            "subject": "odd type",
            "date_start": "2030-01-02",
            "time_start": "09:00:00",
            "due_date": "2030-01-02",
            "time_end": "10:00:00",
            "activitytype": "Lunch",
        },
    ],
    ids=["missing-field", "malformed-date", "unknown-activity-type"],
)
def test_bad_vtiger_record_is_skipped_and_the_round_goes_on(
    world: World, fields: dict[str, str]
) -> None:
    """A record calsync cannot read is logged and skipped; every other event still syncs."""
    crm = _vtiger(world)
    world.crm.add_event("alice", Event("good", soon()))
    r = httpx.post(
        f"{crm.url}/_emulator/records",
        json={"module": "Events", "owner": "alice", "fields": fields},
    )
    assert r.status_code == 200, r.text
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert set(world.google_events()) == {"good"}


def test_failing_vtiger_read_deletes_nothing(world: World) -> None:
    """vtiger answering HTTP 500 fails the round without deleting anything anywhere."""
    crm = _vtiger(world)
    for i in range(3):
        world.crm.add_event("alice", Event(f"e{i}", soon(i + 1)))
    world.sync()
    world.sync()
    httpx.post(f"{crm.url}/_emulator/faults", json={"status": 500, "count": 50})
    rep = world.sync()
    assert rep.status is UserStatus.FAILED
    assert len(world.g.events()) == 3
    assert len(world.pairs()) == 3


def test_copies_made_by_vtigers_own_module_are_matched_not_duplicated(world: World) -> None:
    """Switching from vtiger's Google module: its Google copies carry no mark of ours, so the
    first sync matches them by title, start and end, reports it, and creates nothing."""
    for i in range(3):
        when = soon(i + 1)
        world.crm.add_event("alice", Event(f"meeting {i}", when))
        # What upstream wrote: UTC times with Z, no timeZone, no extended properties.
        world.g.insert(
            {
                "summary": f"meeting {i}",
                "start": {"dateTime": when.start.isoformat().replace("+00:00", "Z")},
                "end": {"dateTime": when.end.isoformat().replace("+00:00", "Z")},
            }
        )
    world.clear_log()
    rep = world.sync()
    world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert [w for w in world.google_writes() if w["method"] == "POST"] == []
    assert len(world.g.events()) == 3 and len(world.crm.events("alice")) == 3
    assert len(world.pairs()) == 3
    matched = [e for e in world.store.logs("alice") if "matched" in e.message]
    assert len(matched) == 3


def test_crm_edit_keeps_what_only_google_holds(world: World) -> None:
    """A CRM edit patches only what the CRM owns: attendees (which vtiger cannot hold), free
    time, and fields calsync does not model (conference data) stay as they are on Google."""
    when = soon(2)
    g = world.g.insert(
        {
            "summary": "review",
            "start": {"dateTime": when.start.isoformat()},
            "end": {"dateTime": when.end.isoformat()},
            "attendees": [{"email": "carol@example.com", "responseStatus": "accepted"}],
            "transparency": "transparent",
            "conferenceData": {"conferenceId": "abc-defg-hij", "notes": "bring slides"},
        }
    )
    world.sync()
    (crm_id,) = [r.id for r in world.crm.events("alice")]
    world.crm.edit_event("alice", crm_id, title="review (moved)")
    world.sync()
    after = world.g.get(g["id"])
    assert after["summary"] == "review (moved)"
    assert [a["email"] for a in after.get("attendees", [])] == ["carol@example.com"]
    assert after.get("transparency") == "transparent"
    assert after.get("conferenceData", {}).get("conferenceId") == "abc-defg-hij"
