"""events.list: paging, clamping, time bounds, filters, ordering and deleted items."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Emu
from .helpers import all_day, error_of, timed

EV = "/calendar/v3/calendars/primary/events"


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def test_paging_with_max_results_2(cal: Any) -> None:
    made = {
        cal.events().insert(calendarId="primary", body=timed(summary=f"e{i}")).execute()["id"]
        for i in range(5)
    }
    req = cal.events().list(calendarId="primary", maxResults=2)
    pages = []
    while req is not None:
        page = req.execute()
        pages.append(page)
        req = cal.events().list_next(req, page)
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert all("nextPageToken" in p and "nextSyncToken" not in p for p in pages[:-1])
    assert "nextSyncToken" in pages[-1] and "nextPageToken" not in pages[-1]
    assert {i["id"] for p in pages for i in p["items"]} == made
    assert pages[0]["kind"] == "calendar#events" and pages[0]["accessRole"] == "owner"
    assert pages[0]["timeZone"] == "UTC"


def test_events_changed_while_paging_come_in_next_sync(raw: httpx.Client) -> None:
    for i in range(3):
        raw.post(EV, json=timed(id=f"page{i}0000"))
    first = raw.get(EV, params={"maxResults": 1}).json()
    raw.patch(EV + "/page20000", json={"summary": "changed mid-listing"})
    raw.post(EV, json=timed(id="late00000"))
    seen = _ids(first["items"])
    token = first["nextPageToken"]
    while True:
        page = raw.get(EV, params={"maxResults": 1, "pageToken": token}).json()
        seen += _ids(page["items"])
        if "nextSyncToken" in page:
            break
        token = page["nextPageToken"]
    inc = raw.get(EV, params={"syncToken": page["nextSyncToken"]}).json()
    assert set(seen) | set(_ids(inc["items"])) == {
        "page00000",
        "page10000",
        "page20000",
        "late00000",
    }
    assert "page20000" in _ids(inc["items"]) and "late00000" in _ids(inc["items"])


def test_max_results_clamped_and_default(raw: httpx.Client) -> None:
    raw.post(EV, json=timed())
    assert raw.get(EV, params={"maxResults": 100000}).status_code == 200
    assert raw.get(EV, params={"maxResults": 0}).status_code == 400


def test_page_of_250_by_default(emu: Emu, raw: httpx.Client) -> None:
    boundary = "b0"
    parts = "".join(
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <x+{i}>\r\n\r\n"
        f"POST /calendar/v3/calendars/primary/events HTTP/1.1\r\nContent-Type: application/json"
        f'\r\n\r\n{{"summary": "e{i}", "start": {{"date": "2025-01-01"}},'
        f' "end": {{"date": "2025-01-02"}}}}\r\n'
        for i in range(251)
    )
    resp = raw.post(
        "/batch/calendar/v3",
        content=parts + f"--{boundary}--\r\n",
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
    )
    assert resp.status_code == 200
    page = raw.get(EV).json()
    assert len(page["items"]) == 250 and "nextPageToken" in page


def test_time_bounds_are_exclusive(raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="nine00000"))  # 09:00-10:00Z

    def listed(**params: str) -> list[str]:
        return _ids(raw.get(EV, params=params).json()["items"])

    assert listed(timeMin="2025-03-10T10:00:00Z") == []  # end == timeMin excluded
    assert listed(timeMin="2025-03-10T09:59:59Z") == ["nine00000"]
    assert listed(timeMax="2025-03-10T09:00:00Z") == []  # start == timeMax excluded
    assert listed(timeMax="2025-03-10T09:00:01+00:00") == ["nine00000"]
    assert listed(timeMin="2025-03-10T10:30:00+01:00", timeMax="2025-03-10T12:00:00+01:00") == [
        "nine00000"
    ]


def test_time_range_empty(raw: httpx.Client) -> None:
    resp = raw.get(
        EV, params={"timeMin": "2025-03-10T10:00:00Z", "timeMax": "2025-03-10T10:00:00Z"}
    )
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["reason"] == "timeRangeEmpty" and err["location"] == "timeMax"


def test_all_day_event_window(raw: httpx.Client) -> None:
    raw.post(EV, json=all_day(id="dd0000000"))
    inside = raw.get(
        EV, params={"timeMin": "2025-03-10T12:00:00Z", "timeMax": "2025-03-10T13:00:00Z"}
    ).json()
    assert _ids(inside["items"]) == ["dd0000000"]
    after = raw.get(EV, params={"timeMin": "2025-03-11T00:00:00Z"}).json()
    assert after["items"] == []


def test_order_by_rules(raw: httpx.Client) -> None:
    raw.post(
        EV, json=timed(id="alate0000", start="2025-03-12T09:00:00Z", end="2025-03-12T10:00:00Z")
    )
    raw.post(
        EV, json=timed(id="first0000", start="2025-03-11T09:00:00Z", end="2025-03-11T10:00:00Z")
    )
    resp = raw.get(EV, params={"orderBy": "startTime"})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["reason"] == "badRequest"
    assert err["message"] == "The requested ordering is not available for the particular query."
    ordered = raw.get(EV, params={"orderBy": "startTime", "singleEvents": "true"}).json()
    assert _ids(ordered["items"]) == ["first0000", "alate0000"]
    raw.patch(EV + "/alate0000", json={"summary": "touched"})
    by_updated = raw.get(EV, params={"orderBy": "updated"}).json()
    assert _ids(by_updated["items"])[-1] == "alate0000"


def test_private_extended_property_filter_is_and(raw: httpx.Client) -> None:
    raw.post(
        EV, json=timed(id="both00000", extendedProperties={"private": {"crm": "1", "kind": "call"}})
    )
    raw.post(EV, json=timed(id="one000000", extendedProperties={"private": {"crm": "1"}}))
    raw.post(EV, json=timed(id="none00000"))
    one = raw.get(EV, params={"privateExtendedProperty": "crm=1"}).json()
    assert sorted(_ids(one["items"])) == ["both00000", "one000000"]
    both = raw.get(
        EV, params=[("privateExtendedProperty", "crm=1"), ("privateExtendedProperty", "kind=call")]
    ).json()
    assert _ids(both["items"]) == ["both00000"]


def test_q_searches_text_fields(raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="lunch0000", summary="Lunch with Ada"))
    raw.post(EV, json=timed(id="call00000", summary="Call", location="Ada's office"))
    raw.post(
        EV,
        json=timed(
            id="other0000",
            summary="Other",
            attendees=[{"email": "bob@example.com", "displayName": "Bob"}],
        ),
    )
    assert sorted(_ids(raw.get(EV, params={"q": "ada"}).json()["items"])) == [
        "call00000",
        "lunch0000",
    ]
    assert _ids(raw.get(EV, params={"q": "bob"}).json()["items"]) == ["other0000"]


def test_show_deleted_and_updated_min(emu: Emu, raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="gone00000"))
    raw.post(EV, json=timed(id="kept00000"))
    emu.control("POST", "clock", {"advance_seconds": 60})
    mark = emu.control("GET", "clock")["now"]
    raw.delete(EV + "/gone00000")
    assert _ids(raw.get(EV).json()["items"]) == ["kept00000"]
    shown = raw.get(EV, params={"showDeleted": "true"}).json()["items"]
    assert {i["id"]: i["status"] for i in shown} == {
        "gone00000": "cancelled",
        "kept00000": "confirmed",
    }
    recent = raw.get(EV, params={"updatedMin": mark}).json()["items"]
    assert recent == [
        {
            "kind": "calendar#event",
            "etag": recent[0]["etag"],
            "id": "gone00000",
            "status": "cancelled",
            "updated": recent[0]["updated"],
        }
    ]


def test_updated_min_too_long_ago(emu: Emu, raw: httpx.Client) -> None:
    emu.control("POST", "config", {"sync_token_max_age": 3600})
    resp = raw.get(EV, params={"updatedMin": "2000-01-01T00:00:00Z"})
    assert resp.status_code == 410 and error_of(resp)["reason"] == "updatedMinTooLongAgo"


@pytest.mark.parametrize("bad", ["2025-03-10T10:00:00", "yesterday"])
def test_time_min_needs_offset(raw: httpx.Client, bad: str) -> None:
    assert raw.get(EV, params={"timeMin": bad}).status_code == 400


def test_calendar_list_and_secondary_shared_calendars(emu: Emu, alice: dict[str, Any]) -> None:
    bob = emu.account("bob@example.com")
    team = emu.control(
        "POST",
        "calendars",
        {"owner": "bob@example.com", "summary": "Team", "time_zone": "Europe/Rome"},
    )
    emu.control(
        "POST", f"calendars/{team['id']}/acl", {"email": "alice@example.com", "role": "reader"}
    )
    alice_raw = emu.raw(alice)
    entries = alice_raw.get("/calendar/v3/users/me/calendarList").json()["items"]
    assert [(e["id"], e["accessRole"], e.get("primary", False)) for e in entries] == [
        ("alice@example.com", "owner", True),
        (team["id"], "reader", False),
    ]
    assert entries[1]["timeZone"] == "Europe/Rome"
    path = f"/calendar/v3/calendars/{team['id']}/events"
    bob_raw = emu.raw(bob)
    assert bob_raw.post(path, json=timed(id="team00000")).status_code == 200
    assert _ids(alice_raw.get(path).json()["items"]) == ["team00000"]
    denied = alice_raw.post(path, json=timed())
    assert denied.status_code == 403 and error_of(denied)["reason"] == "requiredAccessLevel"
    writers = alice_raw.get(
        "/calendar/v3/users/me/calendarList", params={"minAccessRole": "writer"}
    ).json()["items"]
    assert [e["id"] for e in writers] == ["alice@example.com"]
    assert alice_raw.get(f"/calendar/v3/calendars/{team['id']}").json()["summary"] == "Team"
    made = alice_raw.post("/calendar/v3/calendars", json={"summary": "Mine"}).json()
    assert made["id"].endswith("@group.calendar.google.com")
    got = alice_raw.get(f"/calendar/v3/users/me/calendarList/{made['id']}").json()
    assert got["accessRole"] == "owner"


def test_fields_partial_response_and_pretty_print(raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="part00000", location="Room"))
    page = raw.get(EV, params={"fields": "items(id,start/dateTime),nextSyncToken"}).json()
    assert set(page) == {"items", "nextSyncToken"}
    assert page["items"] == [{"id": "part00000", "start": {"dateTime": "2025-03-10T09:00:00Z"}}]
    one = raw.get(EV + "/part00000", params={"fields": "id,etag"}).json()
    assert set(one) == {"id", "etag"}
    assert raw.get(EV, params={"fields": "items(id"}).status_code == 400
    compact = raw.get(EV + "/part00000", params={"prettyPrint": "false"}).text
    assert "\n" not in compact and compact.startswith('{"kind"')


def test_time_zone_param_rewrites_date_times(raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="hour00000"))
    page = raw.get(EV, params={"timeZone": "America/New_York"}).json()
    assert page["timeZone"] == "America/New_York"
    assert page["items"][0]["start"]["dateTime"] == "2025-03-10T05:00:00-04:00"
    got = raw.get(EV + "/hour00000", params={"timeZone": "Asia/Tokyo"}).json()
    assert got["end"]["dateTime"] == "2025-03-10T19:00:00+09:00"


def test_max_results_clamped_at_2500() -> None:
    from calsync.emulators.google.store import EventRec

    from .inproc import InProc

    g = InProc()
    status, first = g.call("POST", EV, all_day(id="clone0000"))
    assert status == 200
    store = g.emu.store
    events = store.events["p@example.com"]
    for i in range(1, 2600):  # clone in the store: 2600 API inserts would slow the suite
        res = {**first, "id": f"clone{i:04d}"}
        events[res["id"]] = EventRec(res, store.next_mod())
    status, page = g.call("GET", EV + "?maxResults=5000")
    assert status == 200 and len(page["items"]) == 2500 and "nextPageToken" in page
    status, rest = g.call("GET", EV + "?maxResults=5000&pageToken=" + page["nextPageToken"])
    assert len(rest["items"]) == 100 and "nextSyncToken" in rest


def test_ical_uid_and_shared_property_filters(raw: httpx.Client) -> None:
    raw.post(EV, json=timed(id="uid000000", iCalUID="crm-1@example.com"))
    raw.post(EV, json=timed(id="shared000", extendedProperties={"shared": {"team": "a"}}))
    by_uid = raw.get(EV, params={"iCalUID": "crm-1@example.com"}).json()["items"]
    assert _ids(by_uid) == ["uid000000"]
    shared = raw.get(EV, params={"sharedExtendedProperty": "team=a"}).json()["items"]
    assert _ids(shared) == ["shared000"]


def test_ical_uid_lists_one_series_with_its_exceptions_cancelled_ones_included(
    raw: httpx.Client,
) -> None:
    """A series' master and exceptions share its iCalUID; filtering by it lists them (with
    `showDeleted` the cancelled ones too) and no other calendar entry, live or cancelled."""
    body = timed(id="series000", recurrence=["RRULE:FREQ=DAILY;COUNT=3"])
    body["start"]["timeZone"] = body["end"]["timeZone"] = "UTC"
    series = raw.post(EV, json=body).json()
    other = raw.post(EV, json=timed(id="other0000")).json()
    raw.delete(f"{EV}/{other['id']}")
    instances = raw.get(f"{EV}/series000/instances").json()["items"]
    raw.patch(f"{EV}/{instances[1]['id']}", json={"summary": "moved"})
    raw.delete(f"{EV}/{instances[2]['id']}")
    params = {"iCalUID": series["iCalUID"], "showDeleted": "true"}
    listed = raw.get(EV, params=params).json()["items"]
    assert sorted((i["id"], i["status"]) for i in listed) == [
        ("series000", "confirmed"),
        (instances[1]["id"], "confirmed"),
        (instances[2]["id"], "cancelled"),
    ]


def test_readers_see_private_events_without_details(emu: Emu, alice: dict[str, Any]) -> None:
    bob = emu.account("bob@example.com")
    emu.account("carol@example.com")
    owner = emu.raw(alice)
    owner.post(EV, json=timed(id="secret000", summary="Doctor", visibility="private"))
    owner.post(EV, json=timed(id="open00000", summary="Standup"))
    emu.control(
        "POST", "calendars/alice@example.com/acl", {"email": "bob@example.com", "role": "reader"}
    )
    emu.control(
        "POST",
        "calendars/alice@example.com/acl",
        {"email": "carol@example.com", "role": "freeBusyReader"},
    )
    path = "/calendar/v3/calendars/alice%40example.com/events"
    seen = {i["id"]: i for i in emu.raw(bob).get(path).json()["items"]}
    assert "summary" not in seen["secret000"] and seen["secret000"]["start"]
    assert seen["open00000"]["summary"] == "Standup"
    carol = emu.raw(emu.control("POST", "accounts/carol@example.com/tokens"))
    busy = carol.get(path).json()
    assert busy["accessRole"] == "freeBusyReader"
    assert all("summary" not in i for i in busy["items"]) and len(busy["items"]) == 2
    assert owner.get(EV + "/secret000").json()["summary"] == "Doctor"
