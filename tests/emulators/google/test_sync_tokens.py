"""Sync tokens: incremental lists with tombstones, forbidden parameters, and 410 on expiry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Emu
from .helpers import error_of, timed

EV = "/calendar/v3/calendars/primary/events"
FULL_SYNC = {
    "domain": "calendar",
    "reason": "fullSyncRequired",
    "message": "Sync token is no longer valid, a full sync is required.",
    "locationType": "parameter",
    "location": "syncToken",
}


def _full_sync(raw: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    page = raw.get(EV, params={"maxResults": 2, **params}).json()
    while True:
        items += page["items"]
        if "nextSyncToken" in page:
            return items, page["nextSyncToken"]
        page = raw.get(
            EV, params={"maxResults": 2, "pageToken": page["nextPageToken"], **params}
        ).json()


def test_incremental_returns_changes_and_tombstones(raw: httpx.Client) -> None:
    for i in range(3):
        raw.post(EV, json=timed(id=f"ev{i}00000"))
    items, token = _full_sync(raw)
    assert len(items) == 3
    nothing = raw.get(EV, params={"syncToken": token}).json()
    assert nothing["items"] == [] and "nextSyncToken" in nothing
    raw.patch(EV + "/ev000000", json={"summary": "edited"})
    raw.delete(EV + "/ev100000")
    raw.post(EV, json=timed(id="added0000"))
    inc = raw.get(EV, params={"syncToken": token, "showDeleted": "false"}).json()
    by_id = {i["id"]: i for i in inc["items"]}
    assert set(by_id) == {"ev000000", "ev100000", "added0000"}
    assert by_id["ev000000"]["summary"] == "edited"
    assert by_id["ev100000"]["status"] == "cancelled"
    assert "summary" not in by_id["ev100000"]  # tombstones promise only the id
    again = raw.get(EV, params={"syncToken": inc["nextSyncToken"]}).json()
    assert again["items"] == []


def test_incremental_pages_carry_sync_token_only_at_the_end(raw: httpx.Client) -> None:
    _, token = _full_sync(raw)
    for i in range(5):
        raw.post(EV, json=timed(id=f"inc{i}0000"))
    page = raw.get(EV, params={"syncToken": token, "maxResults": 2}).json()
    seen = [i["id"] for i in page["items"]]
    while "nextPageToken" in page:
        assert "nextSyncToken" not in page
        page = raw.get(
            EV, params={"syncToken": token, "maxResults": 2, "pageToken": page["nextPageToken"]}
        ).json()
        seen += [i["id"] for i in page["items"]]
    assert "nextSyncToken" in page
    assert sorted(seen) == [f"inc{i}0000" for i in range(5)]


def test_official_client_sync_flow(cal: Any) -> None:
    cal.events().insert(calendarId="primary", body=timed(id="aaa000000")).execute()
    full = cal.events().list(calendarId="primary").execute()
    cal.events().delete(calendarId="primary", eventId="aaa000000").execute()
    inc = cal.events().list(calendarId="primary", syncToken=full["nextSyncToken"]).execute()
    assert [(i["id"], i["status"]) for i in inc["items"]] == [("aaa000000", "cancelled")]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("iCalUID", "x@google.com"),
        ("orderBy", "updated"),
        ("privateExtendedProperty", "a=b"),
        ("q", "x"),
        ("sharedExtendedProperty", "a=b"),
        ("timeMin", "2025-01-01T00:00:00Z"),
        ("timeMax", "2025-01-01T00:00:00Z"),
        ("updatedMin", "2025-01-01T00:00:00Z"),
    ],
)
def test_forbidden_params_with_sync_token(raw: httpx.Client, name: str, value: str) -> None:
    _, token = _full_sync(raw)
    resp = raw.get(EV, params={"syncToken": token, name: value})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["reason"] == "invalid" and err["location"] == name


@pytest.mark.parametrize("mangle", [lambda t: "1" + t, lambda t: t[:-4], lambda t: "garbage"])
def test_tampered_token_is_410(raw: httpx.Client, mangle: Any) -> None:
    _, token = _full_sync(raw)
    resp = raw.get(EV, params={"syncToken": mangle(token)})
    assert resp.status_code == 410
    assert resp.json()["error"]["errors"] == [FULL_SYNC]
    assert resp.json()["error"]["code"] == 410


def test_expire_hook_gives_410_and_full_sync_recovers(emu: Emu, raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="keep00000"))
    _, token = _full_sync(raw)
    expired = emu.control("POST", "synctokens/expire", {"calendar_id": "alice@example.com"})
    assert expired == {"expired": ["alice@example.com"]}
    assert raw.get(EV, params={"syncToken": token}).status_code == 410
    items, fresh = _full_sync(raw)
    assert [i["id"] for i in items] == ["keep00000"]
    assert raw.get(EV, params={"syncToken": fresh}).status_code == 200


def test_max_age_expires_tokens(emu: Emu, raw: httpx.Client) -> None:
    emu.control("POST", "config", {"sync_token_max_age": 600})
    _, token = _full_sync(raw)
    assert raw.get(EV, params={"syncToken": token}).status_code == 200
    emu.control("POST", "clock", {"advance_seconds": 601})
    assert raw.get(EV, params={"syncToken": token}).status_code == 410


def test_token_of_other_calendar_is_410(emu: Emu, raw: httpx.Client) -> None:
    team = emu.control("POST", "calendars", {"owner": "alice@example.com", "summary": "T"})
    token = raw.get(f"/calendar/v3/calendars/{team['id']}/events").json()["nextSyncToken"]
    assert raw.get(EV, params={"syncToken": token}).status_code == 410


def test_token_bound_to_single_events_mode(emu: Emu, raw: httpx.Client) -> None:
    _, token = _full_sync(raw)
    resp = raw.get(EV, params={"syncToken": token, "singleEvents": "true"})
    assert resp.status_code == 400 and error_of(resp)["location"] == "syncToken"
    emu.control("POST", "config", {"lenient_sync_token_params": True})
    assert raw.get(EV, params={"syncToken": token, "singleEvents": "true"}).status_code == 200


def test_expire_tokens_older_than(emu: Emu, raw: httpx.Client) -> None:
    _, old = _full_sync(raw)
    emu.control("POST", "clock", {"advance_seconds": 100})
    _, recent = _full_sync(raw)
    emu.control("POST", "synctokens/expire", {"older_than_seconds": 50})
    assert raw.get(EV, params={"syncToken": old}).status_code == 410
    assert raw.get(EV, params={"syncToken": recent}).status_code == 200


def test_acl_change_can_expire_tokens(emu: Emu, raw: httpx.Client) -> None:
    emu.account("bob@example.com")
    _, token = _full_sync(raw)
    emu.control(
        "POST", "calendars/alice@example.com/acl", {"email": "bob@example.com", "role": "reader"}
    )
    assert raw.get(EV, params={"syncToken": token}).status_code == 200
    emu.control(
        "POST",
        "calendars/alice@example.com/acl",
        {"email": "bob@example.com", "role": "writer", "expire_sync_tokens": True},
    )
    assert raw.get(EV, params={"syncToken": token}).status_code == 410


def test_tokens_from_before_a_reset_are_410(emu: Emu, raw: httpx.Client) -> None:
    _, token = _full_sync(raw)
    emu.control("POST", "reset")
    again = emu.raw(emu.account("alice@example.com"))
    for i in range(3):
        again.post(EV, json=timed(id=f"after{i}000"))
    assert again.get(EV, params={"syncToken": token}).status_code == 410
