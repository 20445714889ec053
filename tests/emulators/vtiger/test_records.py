"""Records on the emulator: create/retrieve/update/revise/delete, values and permissions."""

from __future__ import annotations

import json

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from tests.emulators.vtiger.conftest import Ws, event


def _code(answer: dict[str, object]) -> object:
    assert answer["success"] is False, answer
    err = answer["error"]
    assert isinstance(err, dict)
    return err["code"]


def test_create_returns_the_stored_record(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Records carry id, label, source, modifiedby, one-second times; empty references are ""."""
    rec = Ws(vt, alice).create(**event(alice.id, time_start="14:05"))
    assert rec["id"].startswith("18x") and rec["label"] == "Planning"
    assert rec["source"] == "WEBSERVICE" and rec["modifiedby"] == alice.id
    assert rec["time_start"] == "14:05"  # unpadded, kept as sent
    assert rec["parent_id"] == "" and rec["contact_id"] == ""
    assert rec["reminder_time"] == "0" and rec["recurringtype"] == ""
    assert len(rec["modifiedtime"]) == 19 and rec["createdtime"] == rec["modifiedtime"]
    longer = Ws(vt, alice).create(**event(alice.id, time_end="10:30:00", duration_minutes="7"))
    assert longer["duration_minutes"] == "30"  # recomputed from the times


def test_missing_mandatory_field(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    fields = event(alice.id)
    del fields["subject"]
    answer = ws.post("create", elementType="Events", element=json.dumps(fields))
    assert answer["error"] == {
        "code": "MANDATORY_FIELDS_MISSING",
        "message": "subject does not have a value",
    }


def test_admin_made_mandatory_field_is_enforced(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """An admin may make any field mandatory: the switch makes create refuse a to-do without it."""
    ws = Ws(vt, alice)
    todo = {
        "subject": "Call back",
        "assigned_user_id": alice.id,
        "date_start": "2026-03-10",
        "time_start": "09:00",
        "due_date": "2026-03-11",
        "taskstatus": "Not Started",
        "activitytype": "Task",
    }
    assert ws.create("Calendar", **todo)["id"].startswith("9x")
    vt.set_mandatory("Calendar", "time_end")
    answer = ws.post("create", elementType="Calendar", element=json.dumps(todo))
    assert _code(answer) == "MANDATORY_FIELDS_MISSING"


def test_todo_without_activitytype_becomes_an_event(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    ws = Ws(vt, alice)
    todo = {
        "subject": "Orphan",
        "assigned_user_id": alice.id,
        "date_start": "2026-03-10",
        "time_start": "09:00",
        "due_date": "2026-03-10",
        "taskstatus": "Not Started",
    }
    rec = ws.create("Calendar", **todo)
    assert rec["id"].startswith("18x") and rec["activitytype"] == ""
    crmid = rec["id"].split("x")[1]
    assert _code(ws.get("retrieve", id=f"9x{crmid}")) == "INVALID_ID_ATTRIBUTE"
    assert ws.query("SELECT * FROM Calendar;") == []


def test_invalid_json_element_is_internal_error(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    answer = Ws(vt, alice).post("create", elementType="Events", element="{not json")
    assert _code(answer) == "INTERNAL_SERVER_ERROR"


def test_script_in_description_escapes_the_whole_text(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    ws = Ws(vt, alice)
    plain = "<p>Hi <b>all</b> &amp; <a href='x' onclick='y()'>link</a></p>\n1 < 2 > 0 è"
    assert ws.create(**event(alice.id, description=plain))["description"] == plain
    rec = ws.create(**event(alice.id, description="<p>a <script>alert(1)</script></p>"))
    assert rec["description"] == "&lt;p&gt;a &lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;"
    assert ws.ok("GET", "retrieve", id=rec["id"])["description"] == rec["description"]


def test_nothing_is_validated(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Unknown picklist values and owners are accepted; an unknown owner comes back bare."""
    rec = Ws(vt, alice).create(
        **event("19x999", activitytype="Lunch", eventstatus="Whatever", duration_hours="-3")
    )
    assert rec["activitytype"] == "Lunch" and rec["eventstatus"] == "Whatever"
    assert rec["assigned_user_id"] == "999" and rec["duration_hours"] == "-3"


def test_update_needs_all_mandatory_fields_revise_does_not(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id, location="Room 1"))
    answer = ws.post("update", element=json.dumps({"id": rec["id"], "subject": "New"}))
    assert _code(answer) == "MANDATORY_FIELDS_MISSING"
    vt.advance(2)
    revised = ws.ok("POST", "revise", element=json.dumps({"id": rec["id"], "subject": "New"}))
    assert revised["subject"] == "New" and revised["location"] == "Room 1"
    assert revised["modifiedtime"] > rec["modifiedtime"]
    full = ws.ok("POST", "update", element=json.dumps({**event(alice.id), "id": rec["id"]}))
    assert full["location"] == ""  # update replaces the whole record
    blank = ws.post("revise", element=json.dumps({"id": rec["id"], "subject": ""}))
    assert _code(blank) == "MANDATORY_FIELDS_MISSING"


def test_deleted_and_unknown_ids(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """A deleted or unknown id answers ACCESS_DENIED everywhere; a wrong prefix is a bad id."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id))
    crmid = rec["id"].split("x")[1]
    assert _code(ws.get("retrieve", id=f"9x{crmid}")) == "INVALID_ID_ATTRIBUTE"
    assert ws.ok("POST", "delete", id=rec["id"]) == {"status": "successful"}
    for answer in (
        ws.get("retrieve", id=rec["id"]),
        ws.post("revise", element=json.dumps({"id": rec["id"], "subject": "x"})),
        ws.post("delete", id=rec["id"]),
        ws.get("retrieve", id="18x424242"),
    ):
        assert answer["error"]["code"] == "ACCESS_DENIED"
        assert answer["error"]["message"] == "Permission to perform the operation is denied"
    assert ws.query("SELECT * FROM Events;") == []


def test_permissions_of_a_non_admin(
    vt: VtigerEmulator, alice: EmulatedUser, bob: EmulatedUser, admin: EmulatedUser
) -> None:
    """Others' Public events are readable, Private ones are not; others' records are read-only."""
    mine = Ws(vt, alice)
    public = mine.create(**event(alice.id, description="<p>open</p>"))
    private = mine.create(**event(alice.id, visibility="Private"))
    other = Ws(vt, bob)
    assert other.ok("GET", "retrieve", id=public["id"])["description"] == "<p>open</p>"
    denied = other.get("retrieve", id=private["id"])
    assert denied["error"]["message"] == "Permission to read given object is denied"
    assert _code(other.post("revise", element=json.dumps({"id": public["id"]}))) == (
        "ACCESS_DENIED"
    )
    assert _code(other.post("delete", id=public["id"])) == "ACCESS_DENIED"
    boss = Ws(vt, admin)
    assert boss.ok("GET", "retrieve", id=private["id"])["visibility"] == "Private"
    assert boss.ok("POST", "delete", id=private["id"])["status"] == "successful"


def test_users_cannot_be_created_but_can_be_read(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    answer = ws.post("create", elementType="Users", element=json.dumps({"user_name": "x"}))
    assert _code(answer) == "ACCESS_DENIED"
    assert ws.ok("GET", "retrieve", id=alice.id)["time_zone"] == "Europe/Rome"
