"""Transport, authentication and sessions of the emulator, as vtiger 8.4 answered."""

from __future__ import annotations

import hashlib

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from tests.emulators.vtiger.conftest import Ws


def _error(answer: dict[str, object]) -> tuple[object, object]:
    assert answer["success"] is False
    err = answer["error"]
    assert isinstance(err, dict)
    return err["code"], err["message"]


def test_challenge_login_and_profile(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """Login with md5(token + accessKey) answers the session, ids, versions and the profile."""
    ws = Ws(vt)
    result = ws.login(alice)
    assert result["userId"] == alice.id
    assert result["version"] == "0.22" and result["vtigerVersion"] == "8.4.0"
    assert result["time_zone"] == "Europe/Rome"
    assert result["is_admin"] == "off"
    assert result["sessionName"] != ws.login(alice)["sessionName"]  # each login: a new session


def test_challenge_for_unknown_user_is_access_denied(vt: VtigerEmulator) -> None:
    answer = Ws(vt).get("getchallenge", username="nobody")
    assert _error(answer) == ("ACCESS_DENIED", "username does not exists")


def test_wrong_key_and_login_by_get(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """A wrong key is INVALID_USER_CREDENTIALS; login by GET is INVALID_AUTH_TOKEN."""
    ws = Ws(vt)
    token = ws.get("getchallenge", username="alice")["result"]["token"]
    bad = ws.post("login", username="alice", accessKey="0" * 32)
    assert _error(bad) == ("INVALID_USER_CREDENTIALS", "Invalid username or password")
    key = hashlib.md5((token + alice.access_key).encode()).hexdigest()
    by_get = ws.get("login", username="alice", accessKey=key)
    assert _error(by_get)[0] == "INVALID_AUTH_TOKEN"
    assert ws.post("login", username="alice", accessKey=key)["success"]  # token reusable


def test_inactive_user_is_refused_like_a_wrong_key(vt: VtigerEmulator) -> None:
    carol = vt.add_user("carol", active=False)
    ws = Ws(vt)
    token = ws.get("getchallenge", username="carol")["result"]["token"]
    key = hashlib.md5((token + carol.access_key).encode()).hexdigest()
    assert _error(ws.post("login", username="carol", accessKey=key))[0] == (
        "INVALID_USER_CREDENTIALS"
    )


def test_challenge_token_expires_after_five_minutes(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    ws = Ws(vt)
    token = ws.get("getchallenge", username="alice")["result"]["token"]
    vt.advance(301)
    key = hashlib.md5((token + alice.access_key).encode()).hexdigest()
    assert _error(ws.post("login", username="alice", accessKey=key))[0] == "INVALID_AUTH_TOKEN"


def test_session_errors(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """No session, unknown session, idle 1800 s, and lifetime 86400 s each have their code."""
    ws = Ws(vt)
    assert _error(ws.get("listtypes")) == ("AUTHENTICATION_REQUIRED", "Authencation required")
    assert _error(ws.get("listtypes", sessionName="nope")) == (
        "INVALID_SESSIONID",
        "Session Identifier provided is Invalid",
    )
    idle = Ws(vt, alice)
    vt.advance(1700)
    assert idle.get("listtypes")["success"]  # use keeps it alive
    vt.advance(1801)
    assert _error(idle.get("listtypes"))[0] == "SESSION_LEFT_IDLE"
    busy = Ws(vt, alice)
    for _ in range(48):  # 48 x 1790 s = 85920 s: still inside the 86400 s lifetime
        vt.advance(1790)
        assert busy.get("listtypes")["success"]
    vt.advance(1000)
    assert _error(busy.get("listtypes"))[0] == "SESSION_EXPIRED"


def test_logout_ends_the_session(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    assert ws.ok("POST", "logout") == {"message": "successfull"}
    assert _error(ws.get("listtypes"))[0] == "INVALID_SESSIONID"


def test_unknown_operation_is_http_500_with_empty_body(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    resp = Ws(vt, alice).raw("GET", "frobnicate")
    assert resp.status_code == 500 and resp.content == b""


def test_wrong_http_method_is_access_denied(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """create by GET and query by POST answer ACCESS_DENIED; params sent the wrong way are lost."""
    ws = Ws(vt, alice)
    assert _error(ws.get("create", elementType="Events", element="{}"))[0] == "ACCESS_DENIED"
    assert _error(ws.post("query", query="SELECT * FROM Events;"))[0] == "ACCESS_DENIED"


def test_operation_name_is_case_insensitive(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    assert Ws(vt, alice).get("ListTypes")["success"]


def test_listtypes_and_describe(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    """describe carries vtiger's mandatory flags, which an admin may change at run time."""
    ws = Ws(vt, alice)
    assert set(ws.ok("GET", "listtypes")["types"]) >= {"Events", "Calendar", "Users"}
    events = ws.ok("GET", "describe", elementType="Events")
    flags = {f["name"]: f["mandatory"] for f in events["fields"]}
    assert events["idPrefix"] == "18"
    assert all(flags[f] for f in ("subject", "time_start", "time_end", "duration_hours"))
    assert not flags["location"]
    todo = ws.ok("GET", "describe", elementType="Calendar")
    tflags = {f["name"]: f["mandatory"] for f in todo["fields"]}
    assert tflags["taskstatus"] and tflags["time_start"] and not tflags["time_end"]
    vt.set_mandatory("Calendar", "time_end")
    todo = ws.ok("GET", "describe", elementType="Calendar")
    assert {f["name"]: f["mandatory"] for f in todo["fields"]}["time_end"]


def test_injected_faults_and_stats(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    vt.fail_next(2, status=503, operation="listtypes")
    assert ws.raw("GET", "listtypes").status_code == 503
    assert ws.get("describe", elementType="Events")["success"]  # other operations unaffected
    assert ws.raw("GET", "listtypes").status_code == 503
    assert ws.get("listtypes")["success"]
    stats = vt.stats()
    assert stats["calls"]["listtypes"] == 3 and stats["by_user"]["alice"] >= 2
