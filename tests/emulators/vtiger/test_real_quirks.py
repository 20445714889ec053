"""What a stock vtiger 8.4 on PHP 8 answered, and the emulator's defaults therefore answer.

Each test names the real answer it mirrors (shared/reference/vtiger.md, "Observed on a real
vtiger 8.4.0"); the kinder behaviour is only behind `--php7` / `--utf8mb4`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from tests.emulators.vtiger.conftest import Ws, event


def _code(answer: dict[str, Any]) -> str:
    assert answer["success"] is False, answer
    return str(answer["error"]["code"])


def _todo(owner: str, **overrides: Any) -> dict[str, Any]:
    fields = {
        "subject": "Call back",
        "assigned_user_id": owner,
        "date_start": "2026-03-10",
        "time_start": "09:00:00",
        "due_date": "2026-03-10",
        "taskstatus": "Not Started",
        "activitytype": "Task",
    }
    fields.update(overrides)
    return fields


def test_sync_is_http_500_by_default_and_works_with_php7(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Real: `operation=sync` answers HTTP 500 with an empty body on PHP 8 (vtws_sync gets two
    of its three arguments); on PHP 7 the same call returns the change feed."""
    ws = Ws(vt, alice)
    resp = ws.raw("GET", "sync", modifiedTime=0, elementType="Events")
    assert resp.status_code == 500 and resp.content == b""
    vt.set_php8(False)
    assert ws.ok("GET", "sync", modifiedTime=0, elementType="Events")["more"] is False


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("Aperitivo 🍹 con Luigi", "Aperitivo ?? con Luigi"),
        ("🚀", "??"),
        ("caffè — ☕ ok", "caffè — ☕ ok"),  # accents, dashes and BMP symbols survive
    ],
)
def test_text_outside_the_bmp_comes_back_as_question_marks(
    vt: VtigerEmulator, alice: EmulatedUser, text: str, stored: str
) -> None:
    """Real: the stock installer makes a 3-byte `utf8` database, so "Aperitivo 🍹 con Luigi"
    comes back "Aperitivo ?? con Luigi" and "🚀" as "??", in every text field."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id, subject=text, location=text, description=text))
    assert (rec["subject"], rec["location"], rec["description"]) == (stored, stored, stored)
    again = ws.ok("GET", "retrieve", id=rec["id"])
    assert again["subject"] == stored
    revised = ws.ok("POST", "revise", element=json.dumps({"id": rec["id"], "location": text}))
    assert revised["location"] == stored


def test_utf8mb4_keeps_text_outside_the_bmp(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """With a utf8mb4 database (`--utf8mb4`) emoji survive."""
    vt.set_utf8mb4(True)
    rec = Ws(vt, alice).create(**event(alice.id, subject="Aperitivo 🍹 con Luigi"))
    assert rec["subject"] == "Aperitivo 🍹 con Luigi"


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(30, "1"), (1800, "30"), (5400, "90"), (86400, "1441"), (0, "0")]
)
def test_reminder_is_written_in_seconds_and_read_in_minutes(
    vt: VtigerEmulator, alice: EmulatedUser, seconds: int, minutes: str
) -> None:
    """Real: `reminder_time` written 30 reads back 1, 1800 -> 30, 5400 -> 90, 86400 -> 1441,
    0 stays 0; the same on create, retrieve, revise and in query rows."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id, reminder_time=seconds))
    assert rec["reminder_time"] == minutes
    assert ws.ok("GET", "retrieve", id=rec["id"])["reminder_time"] == minutes
    row = ws.query(f"SELECT reminder_time FROM Events WHERE id = '{rec['id']}';")[0]
    assert row["reminder_time"] == minutes
    other = ws.create(**event(alice.id))
    element = json.dumps({"id": other["id"], "reminder_time": seconds})
    assert ws.ok("POST", "revise", element=element)["reminder_time"] == minutes


def test_a_record_without_reminder_reads_zero_in_queries(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Real: a record without a reminder reads "0" in query results (and in retrieve)."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id))
    assert rec["reminder_time"] == "0"
    assert ws.query("SELECT * FROM Events;")[0]["reminder_time"] == "0"


def test_revise_without_reminder_time_deletes_the_reminder(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Real: any `revise` that omits `reminder_time` deletes the record's reminder."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id, reminder_time=900))
    assert rec["reminder_time"] == "15"
    kept = ws.ok("POST", "revise", element=json.dumps({"id": rec["id"], "reminder_time": 900}))
    assert kept["reminder_time"] == "15"
    dropped = ws.ok("POST", "revise", element=json.dumps({"id": rec["id"], "location": "B"}))
    assert dropped["reminder_time"] == "0" and dropped["location"] == "B"


def test_event_without_visibility_stores_empty(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Real: an Events record created without `visibility` stores "" although describe's
    default is "Private"."""
    ws = Ws(vt, alice)
    fields = event(alice.id)
    del fields["visibility"]
    assert ws.create(**fields)["visibility"] == ""
    described = ws.ok("GET", "describe", elementType="Events")
    vis = next(f for f in described["fields"] if f["name"] == "visibility")
    assert vis["type"]["defaultValue"] == "Private"


def test_todo_defaults(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Real: a to-do created in Calendar comes back with visibility "", reminder_time "" and
    duration_hours "15"."""
    rec = Ws(vt, alice).create("Calendar", **_todo(alice.id))
    assert rec["id"].startswith("9x")
    assert (rec["visibility"], rec["reminder_time"], rec["duration_hours"]) == ("", "", "15")


def test_calendar_needs_time_start(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Real: this install refused a to-do without `time_start` (MANDATORY_FIELDS_MISSING)."""
    todo = _todo(alice.id)
    del todo["time_start"]
    answer = Ws(vt, alice).post("create", elementType="Calendar", element=json.dumps(todo))
    assert answer["error"] == {
        "code": "MANDATORY_FIELDS_MISSING",
        "message": "time_start does not have a value",
    }


def test_calendar_create_without_activitytype_becomes_an_event(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Real: a Calendar create without `activitytype` is stored as an Events record: its `9x`
    id fails, `18x` works, and `SELECT * FROM Calendar` never lists it."""
    ws = Ws(vt, alice)
    todo = _todo(alice.id)
    del todo["activitytype"]
    rec = ws.create("Calendar", **todo)
    crmid = rec["id"].split("x")[1]
    assert rec["id"] == f"18x{crmid}" and rec["activitytype"] == ""
    assert _code(ws.get("retrieve", id=f"9x{crmid}")) == "INVALID_ID_ATTRIBUTE"
    assert ws.ok("GET", "retrieve", id=f"18x{crmid}")["subject"] == "Call back"
    assert ws.query("SELECT * FROM Calendar;") == []


def test_event_types_include_mobile_call(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Real: Events `activitytype` values are Call, Meeting and Mobile Call."""
    ws = Ws(vt, alice)
    described = ws.ok("GET", "describe", elementType="Events")
    kind = next(f for f in described["fields"] if f["name"] == "activitytype")
    assert [v["value"] for v in kind["type"]["picklistValues"]] == [
        "Call",
        "Meeting",
        "Mobile Call",
    ]
    assert ws.create(**event(alice.id, activitytype="Mobile Call"))["activitytype"] == "Mobile Call"


def test_non_admin_cannot_list_users(
    vt: VtigerEmulator, alice: EmulatedUser, admin: EmulatedUser
) -> None:
    """Real: a non-admin's `SELECT * FROM Users;` is ACCESS_DENIED; an admin lists them; the
    user's own Users record can still be retrieved."""
    ws = Ws(vt, alice)
    assert _code(ws.get("query", query="SELECT * FROM Users;")) == "ACCESS_DENIED"
    assert ws.ok("GET", "retrieve", id=alice.id)["time_zone"] == "Europe/Rome"
    names = {u["user_name"] for u in Ws(vt, admin).query("SELECT * FROM Users;")}
    assert names == {"alice", "admin"}


def test_login_puts_the_profile_at_the_top_level(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Real: the login reply carries the user's profile fields (`time_zone`, `is_admin`, ...)
    at the top level of `result`, beside `sessionName` and `userId`; there is no `user` key."""
    result = Ws(vt).login(alice)
    assert "user" not in result
    assert result["userId"] == alice.id and result["time_zone"] == "Europe/Rome"
    assert result["is_admin"] == "off" and result["date_format"] == "yyyy-mm-dd"


def test_record_that_changes_module_loses_its_old_id(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Real: an inline edit in the UI can turn an event into a to-do; its old `18x` id then
    answers INVALID_ID_ATTRIBUTE while the record lives on under `9x`."""
    ws = Ws(vt, alice)
    rec = ws.create(**event(alice.id, subject="Turns into a to-do"))
    crmid = rec["id"].split("x")[1]
    moved = vt.move_record(rec["id"], "Calendar")
    assert moved["id"] == f"9x{crmid}" and moved["activitytype"] == "Task"
    assert _code(ws.get("retrieve", id=rec["id"])) == "INVALID_ID_ATTRIBUTE"
    element = json.dumps({"id": rec["id"], "subject": "x"})
    assert _code(ws.post("revise", element=element)) == "INVALID_ID_ATTRIBUTE"
    assert [r["id"] for r in ws.query("SELECT * FROM Calendar;")] == [moved["id"]]
    assert ws.query("SELECT * FROM Events;") == []
    back = vt.move_record(moved["id"], "Events")
    assert back["id"] == rec["id"] and back["activitytype"] == "Meeting"


def test_planted_record_is_stored_as_is(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """The control API plants a record exactly as given (no checks, no conversions)."""
    planted = vt.raw_record("Events", "alice", {"subject": "🚀 raw", "reminder_time": "7"})
    got = Ws(vt, alice).ok("GET", "retrieve", id=planted["id"])
    assert got["subject"] == "🚀 raw" and got["reminder_time"] == "7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cli_server(request: pytest.FixtureRequest) -> Iterator[str]:
    port = _free_port()
    args = [sys.executable, "-m", "calsync.emulators.vtiger", "--port", str(port), *request.param]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/_emulator/stats", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    ("cli_server", "expected"),
    [
        ([], {"php8": True, "utf8mb4": False}),
        (["--php8"], {"php8": True, "utf8mb4": False}),
        (["--php7", "--utf8mb4"], {"php8": False, "utf8mb4": True}),
    ],
    indirect=["cli_server"],
)
def test_command_line_flags(cli_server: str, expected: dict[str, bool]) -> None:
    """`python -m calsync.emulators.vtiger` is a PHP 8, 3-byte vtiger unless told otherwise."""
    assert httpx.post(f"{cli_server}/_emulator/config", json={}).json() == expected
