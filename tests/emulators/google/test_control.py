"""Control API: faults (incl. apply-then-fail), rate limits, stats, request log, reset, clock,
and state kept in a SQLite file across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from calsync.emulators.google import create_app
from calsync.emulators.server import ServerThread

from .conftest import Emu
from .helpers import error_of, timed

EV = "/calendar/v3/calendars/primary/events"
LIST = "/calendar/v3/users/me/calendarList"


def test_fault_fails_next_matching_calls(emu: Emu, raw: httpx.Client) -> None:
    fault = emu.control(
        "POST",
        "faults",
        {
            "status": 503,
            "reason": "backendError",
            "count": 2,
            "path_prefix": "/calendar/v3/calendars",
        },
    )
    assert fault["count"] == 2 and fault["id"]
    assert raw.get(LIST).status_code == 200  # other paths untouched
    for _ in range(2):
        resp = raw.get(EV)
        assert resp.status_code == 503
        assert error_of(resp)["reason"] == "backendError"
    assert raw.get(EV).status_code == 200
    assert emu.control("GET", "faults") == {"faults": []}


def test_fault_by_method_and_official_client_retry(
    emu: Emu, cal: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("googleapiclient.http.time.sleep", lambda _s: None)  # skip backoff
    emu.control(
        "POST",
        "faults",
        {"status": 500, "count": 1, "method": "POST", "path_prefix": "/calendar/v3"},
    )
    cal.events().list(calendarId="primary").execute()  # GET untouched
    ev = cal.events().insert(calendarId="primary", body=timed()).execute(num_retries=2)
    assert ev["id"]
    statuses = [r["status"] for r in emu.requests(api_method="calendar.events.insert")]
    assert statuses == [500, 200]


def test_apply_then_fail_applies_the_write(emu: Emu, raw: httpx.Client) -> None:
    emu.control(
        "POST",
        "faults",
        {"status": 503, "count": 1, "method": "POST", "path_prefix": EV, "mode": "apply_then_fail"},
    )
    lost = raw.post(EV, json=timed(id="crm000001"))
    assert lost.status_code == 503
    assert raw.get(EV + "/crm000001").status_code == 200  # the write happened
    retry = raw.post(EV, json=timed(id="crm000001"))
    assert retry.status_code == 409


def test_fault_path_prefix_matches_decoded_email(emu: Emu, raw: httpx.Client) -> None:
    emu.control(
        "POST",
        "faults",
        {"status": 404, "count": 1, "path_prefix": "/calendar/v3/calendars/alice@example.com"},
    )
    assert raw.get("/calendar/v3/calendars/alice%40example.com/events").status_code == 404


def test_bad_fault_spec_is_400(emu: Emu) -> None:
    assert emu.http.post("/_emulator/faults", json={"count": 1}).status_code == 400
    assert emu.http.post("/_emulator/faults", json={"status": 500, "bogus": 1}).status_code == 400


@pytest.mark.parametrize("status", [403, 429])
def test_rate_limit_per_user(emu: Emu, alice: dict[str, Any], status: int) -> None:
    emu.control("POST", "config", {"rate_limit_per_user": 3, "rate_limit_status": status})
    raw = emu.raw(alice)
    bob = emu.raw(emu.account("bob@example.com"))
    assert [raw.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    resp = raw.get(LIST)
    assert resp.status_code == status
    assert resp.json()["error"]["errors"] == [
        {"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}
    ]
    assert resp.json()["error"]["code"] == status
    assert bob.get(LIST).status_code == 200  # per user
    emu.control("POST", "clock", {"advance_seconds": 61})
    assert raw.get(LIST).status_code == 200  # window slid


def test_rate_limit_per_project_and_switch_off(emu: Emu, alice: dict[str, Any]) -> None:
    emu.control("POST", "config", {"rate_limit_per_project": 2})
    raw = emu.raw(alice)
    bob = emu.raw(emu.account("bob@example.com"))
    assert raw.get(LIST).status_code == 200 and bob.get(LIST).status_code == 200
    assert bob.get(LIST).status_code == 403
    emu.control("POST", "config", {"rate_limit_per_project": None})
    assert bob.get(LIST).status_code == 200


def test_rate_limited_client_sees_retryable_error(emu: Emu, alice: dict[str, Any]) -> None:
    emu.control("POST", "config", {"rate_limit_per_user": 1, "rate_limit_status": 429})
    cal = emu.calendar(alice)
    cal.calendarList().list().execute()
    with pytest.raises(HttpError) as err:
        cal.calendarList().list().execute()
    assert err.value.resp.status == 429
    assert err.value.error_details[0]["reason"] == "rateLimitExceeded"


def test_stats_count_by_account_and_method(emu: Emu, alice: dict[str, Any]) -> None:
    raw = emu.raw(alice)
    raw.get(LIST)
    raw.post(EV, json=timed())
    raw.post(EV, json=timed())
    emu.http.get(LIST)  # unauthenticated calls count too, as "anonymous"
    stats = emu.control("GET", "stats")
    assert stats["total"] == 4
    assert stats["by_account"] == {"alice@example.com": 3, "anonymous": 1}
    assert stats["by_method"] == {"calendar.calendarList.list": 2, "calendar.events.insert": 2}
    assert stats["by_account_method"]["alice@example.com"]["calendar.events.insert"] == 2
    assert stats["by_status"] == {"200": 3, "401": 1}
    cleared = emu.http.delete("/_emulator/stats").json()
    assert cleared["total"] == 0


def test_reset_forgets_everything(emu: Emu, raw: httpx.Client) -> None:
    raw.post(EV, json=timed())
    emu.control("POST", "config", {"batch_cap": 5})
    emu.control("POST", "reset")
    assert emu.control("GET", "stats")["total"] == 0
    assert emu.control("GET", "accounts") == {"accounts": []}
    assert emu.control("GET", "config")["batch_cap"] == 1000
    assert raw.get(EV).status_code == 401


def test_request_log_filters(emu: Emu, raw: httpx.Client) -> None:
    raw.post(EV, params={"sendUpdates": "none"}, json=timed())
    raw.get(LIST)
    log = emu.requests(method="POST")
    assert len(log) == 1
    entry = log[0]
    assert entry["path"] == "/calendar/v3/calendars/primary/events"
    assert entry["query"] == {"sendUpdates": ["none"]}
    assert entry["status"] == 200 and entry["account"] == "alice@example.com"
    assert entry["batch"] is False and entry["body"]["summary"] == "Meeting"
    assert len(emu.requests(path_prefix="/calendar/v3/users")) == 1
    emu.http.delete("/_emulator/requests")
    assert emu.requests() == []


def test_unknown_control_endpoint_is_404(emu: Emu) -> None:
    assert emu.http.get("/_emulator/nothing").status_code == 404


def test_state_survives_restart_with_db(tmp_path: Path) -> None:
    db = tmp_path / "google.sqlite"
    with ServerThread(create_app(db=db)) as srv:
        c = httpx.Client(base_url=srv.url)
        acct = c.post("/_emulator/accounts", json={"email": "p@example.com"}).json()
        auth = {"Authorization": "Bearer " + acct["access_token"]}
        made = c.post(EV, headers=auth, json=timed(id="persist00")).json()
        c.post("/tasks/v1/lists/@default/tasks", headers=auth, json={"title": "keep"})
        token = c.get(EV, headers=auth).json()["nextSyncToken"]
    with ServerThread(create_app(db=db)) as srv:
        c = httpx.Client(base_url=srv.url)
        got = c.get(EV + "/persist00", headers=auth)
        assert got.status_code == 200 and got.json()["etag"] == made["etag"]
        tasks = c.get("/tasks/v1/lists/@default/tasks", headers=auth).json()["items"]
        assert [t["title"] for t in tasks] == ["keep"]
        c.post(EV, headers=auth, json=timed(id="after0000"))
        inc = c.get(EV, headers=auth, params={"syncToken": token}).json()["items"]
        assert [i["id"] for i in inc] == ["after0000"]
        refreshed = c.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": acct["refresh_token"],
                "client_id": "c",
                "client_secret": "s",
            },
        )
        assert refreshed.status_code == 200


def test_daily_limit(emu: Emu, raw: httpx.Client) -> None:
    emu.control("POST", "config", {"daily_limit_per_project": 2})
    assert [raw.get(LIST).status_code for _ in range(2)] == [200, 200]
    resp = raw.get(LIST)
    assert resp.status_code == 403 and error_of(resp)["reason"] == "dailyLimitExceeded"
    emu.control("POST", "clock", {"advance_seconds": 86400})
    fresh = emu.raw(emu.control("POST", "accounts/alice@example.com/tokens"))
    assert fresh.get(LIST).status_code == 200


def test_config_rejects_unknown_fields(emu: Emu) -> None:
    assert emu.http.post("/_emulator/config", json={"nope": 1}).status_code == 400
    assert emu.http.post("/_emulator/config", json={"rate_limit_status": 500}).status_code == 400
