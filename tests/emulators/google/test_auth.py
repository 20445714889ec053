"""Bearer-token checks: missing, unknown, expired and revoked tokens give Google's 401."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Emu
from .helpers import error_of

LIST = "/calendar/v3/users/me/calendarList"


def test_missing_token_is_401_auth_error(emu: Emu, alice: dict[str, Any]) -> None:
    """No Authorization header -> 401 authError on the Authorization header."""
    resp = emu.http.get(LIST, params={"alt": "json"})
    assert resp.status_code == 401
    err = error_of(resp)
    assert err["reason"] == "authError"
    assert err["message"] == "Invalid Credentials"
    assert err["location"] == "Authorization" and err["locationType"] == "header"


def test_unknown_token_is_401(emu: Emu, alice: dict[str, Any]) -> None:
    resp = emu.http.get(LIST, headers={"Authorization": "Bearer ya29.nope"})
    assert resp.status_code == 401


def test_valid_token_and_common_params_accepted(raw: httpx.Client) -> None:
    """alt, prettyPrint, quotaUser, key and fields are accepted on every call."""
    params = {"alt": "json", "prettyPrint": "false", "quotaUser": "u1", "key": "k", "fields": "*"}
    resp = raw.get(LIST, params=params)
    assert resp.status_code == 200
    assert resp.json()["items"][0]["id"] == "alice@example.com"


def test_expired_token_is_401_then_client_refreshes(emu: Emu, alice: dict[str, Any]) -> None:
    """Advancing the emulator clock past the TTL expires the token; the official client
    refreshes on 401 and retries."""
    emu.control("POST", "accounts/alice@example.com/token_ttl", {"seconds": 60})
    fresh = emu.control("POST", "accounts/alice@example.com/tokens")
    client = emu.raw(fresh)
    assert client.get(LIST).status_code == 200
    emu.control("POST", "clock", {"advance_seconds": 61})
    assert client.get(LIST).status_code == 401
    cal = emu.calendar(alice)
    assert cal.calendarList().list().execute()["items"]
    tokens = [r for r in emu.requests() if r["api_method"] == "calendar.calendarList.list"]
    assert [r["status"] for r in tokens][-1] == 200


def test_clock_advance_expires_default_ttl_token(emu: Emu, alice: dict[str, Any]) -> None:
    client = emu.raw(alice)
    emu.control("POST", "clock", {"advance_seconds": 3599})
    assert client.get(LIST).status_code == 200
    emu.control("POST", "clock", {"advance_seconds": 2})
    assert client.get(LIST).status_code == 401


def test_read_only_scope_cannot_write(emu: Emu, alice: dict[str, Any]) -> None:
    """A token without a write scope gets 403 insufficientPermissions on writes."""
    ro = emu.control(
        "POST",
        "accounts/alice@example.com/tokens",
        {"scopes": ["https://www.googleapis.com/auth/calendar.readonly"]},
    )
    client = emu.raw(ro)
    assert client.get(LIST).status_code == 200
    resp = client.post("/calendar/v3/calendars/primary/events", json={})
    assert resp.status_code == 403
    assert error_of(resp)["reason"] == "insufficientPermissions"
    assert client.get("/tasks/v1/users/@me/lists").status_code == 403
