"""Recurring events: expansion in the series' zone (DST), instance ids, exceptions and
cancelled instances, events.instances."""

from __future__ import annotations

from typing import Any

import httpx

from .helpers import error_of

EV = "/calendar/v3/calendars/primary/events"


def _weekly_rome(raw: httpx.Client, event_id: str = "series000", count: int = 4) -> dict[str, Any]:
    body = {
        "id": event_id,
        "summary": "Standup",
        "start": {"dateTime": "2025-03-17T09:00:00", "timeZone": "Europe/Rome"},
        "end": {"dateTime": "2025-03-17T09:30:00", "timeZone": "Europe/Rome"},
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
    }
    resp = raw.post(EV, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _single(raw: httpx.Client, **params: str) -> list[dict[str, Any]]:
    query = {"singleEvents": "true", "orderBy": "startTime", **params}
    items: list[dict[str, Any]] = raw.get(EV, params=query).json()["items"]
    return items


def test_weekly_series_keeps_local_time_across_dst(raw: httpx.Client) -> None:
    master = _weekly_rome(raw)
    items = _single(raw)
    assert [i["id"] for i in items] == [
        "series000_20250317T080000Z",
        "series000_20250324T080000Z",
        "series000_20250331T070000Z",
        "series000_20250407T070000Z",
    ]
    assert [i["start"]["dateTime"] for i in items] == [
        "2025-03-17T09:00:00+01:00",
        "2025-03-24T09:00:00+01:00",
        "2025-03-31T09:00:00+02:00",
        "2025-04-07T09:00:00+02:00",
    ]
    assert items[2]["end"]["dateTime"] == "2025-03-31T09:30:00+02:00"
    for inst in items:
        assert inst["recurringEventId"] == master["id"]
        assert inst["originalStartTime"] == inst["start"]
        assert inst["iCalUID"] == master["iCalUID"]
        assert "recurrence" not in inst
    masters = raw.get(EV).json()["items"]
    assert [m["id"] for m in masters] == ["series000"]
    assert masters[0]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]


def test_all_day_series_ids_and_exdate(raw: httpx.Client) -> None:
    body = {
        "id": "dailies00",
        "summary": "Gym",
        "start": {"date": "2025-06-01"},
        "end": {"date": "2025-06-02"},
        "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20250604", "EXDATE;VALUE=DATE:20250602"],
    }
    assert raw.post(EV, json=body).status_code == 200
    items = _single(raw)
    assert [i["id"] for i in items] == [
        "dailies00_20250601",
        "dailies00_20250603",
        "dailies00_20250604",
    ]
    assert items[1]["start"] == {"date": "2025-06-03"} and items[1]["end"] == {"date": "2025-06-04"}


def test_utc_until_and_time_window(raw: httpx.Client) -> None:
    body = {
        "id": "until0000",
        "start": {"dateTime": "2025-01-06T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2025-01-06T11:00:00Z", "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20250110T100000Z"],
    }
    assert raw.post(EV, json=body).status_code == 200
    assert len(_single(raw)) == 5
    window = _single(raw, timeMin="2025-01-07T10:30:00Z", timeMax="2025-01-09T10:00:00Z")
    assert [i["id"] for i in window] == ["until0000_20250107T100000Z", "until0000_20250108T100000Z"]
    masters = raw.get(EV, params={"timeMin": "2025-02-01T00:00:00Z"}).json()["items"]
    assert masters == []


def test_instance_get_patch_creates_exception(raw: httpx.Client) -> None:
    _weekly_rome(raw)
    inst_id = "series000_20250324T080000Z"
    got = raw.get(EV + "/" + inst_id)
    assert got.status_code == 200 and got.json()["recurringEventId"] == "series000"
    moved = raw.patch(
        EV + "/" + inst_id,
        json={
            "summary": "Moved standup",
            "start": {"dateTime": "2025-03-24T11:00:00", "timeZone": "Europe/Rome"},
            "end": {"dateTime": "2025-03-24T11:30:00", "timeZone": "Europe/Rome"},
        },
    ).json()
    assert moved["id"] == inst_id
    assert moved["originalStartTime"]["dateTime"] == "2025-03-24T09:00:00+01:00"
    items = _single(raw)
    assert len(items) == 4
    assert items[1]["summary"] == "Moved standup"
    assert items[1]["start"]["dateTime"] == "2025-03-24T11:00:00+01:00"
    plain = raw.get(EV).json()["items"]
    assert sorted(i["id"] for i in plain) == ["series000", inst_id]
    assert raw.get(EV + "/series000_20250325T080000Z").status_code == 404


def test_cancelled_instance_is_sparse_and_hidden(raw: httpx.Client) -> None:
    _weekly_rome(raw)
    inst_id = "series000_20250331T070000Z"
    assert raw.delete(EV + "/" + inst_id).status_code == 204
    assert raw.delete(EV + "/" + inst_id).status_code == 410
    assert raw.get(EV + "/" + inst_id).json()["status"] == "cancelled"
    assert inst_id not in [i["id"] for i in _single(raw)]
    assert inst_id in [i["id"] for i in _single(raw, showDeleted="true")]
    plain = {i["id"]: i for i in raw.get(EV).json()["items"]}
    assert set(plain[inst_id]) <= {
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
        "updated",
    }
    assert plain[inst_id]["recurringEventId"] == "series000"
    assert plain[inst_id]["originalStartTime"]["dateTime"] == "2025-03-31T09:00:00+02:00"
    instances = raw.get(EV + "/series000/instances").json()["items"]
    assert len(instances) == 3
    with_deleted = raw.get(EV + "/series000/instances", params={"showDeleted": "true"}).json()
    assert len(with_deleted["items"]) == 4


def test_instances_endpoint_pages_and_bounds(raw: httpx.Client) -> None:
    _weekly_rome(raw, count=5)
    page = raw.get(EV + "/series000/instances", params={"maxResults": 2}).json()
    ids = [i["id"] for i in page["items"]]
    while "nextPageToken" in page:
        page = raw.get(
            EV + "/series000/instances",
            params={"maxResults": 2, "pageToken": page["nextPageToken"]},
        ).json()
        ids += [i["id"] for i in page["items"]]
    assert len(ids) == 5 and "nextSyncToken" not in page
    # instances' timeMin is inclusive on the end time.
    bounded = raw.get(
        EV + "/series000/instances", params={"timeMin": "2025-03-17T08:30:00Z"}
    ).json()["items"]
    assert bounded[0]["id"] == "series000_20250317T080000Z"


def test_delete_master_cancels_series(raw: httpx.Client) -> None:
    _weekly_rome(raw)
    raw.patch(EV + "/series000_20250324T080000Z", json={"summary": "exception"})
    token = raw.get(EV).json()["nextSyncToken"]
    assert raw.delete(EV + "/series000").status_code == 204
    assert _single(raw) == []
    assert raw.get(EV).json()["items"] == []
    inc = raw.get(EV, params={"syncToken": token}).json()["items"]
    assert {i["id"]: i["status"] for i in inc} == {
        "series000": "cancelled",
        "series000_20250324T080000Z": "cancelled",
    }
    gone = raw.get(EV + "/series000/instances")
    assert gone.status_code == 410 and error_of(gone)["reason"] == "deleted"


def test_single_events_sync_returns_instances_of_changed_series(raw: httpx.Client) -> None:
    _weekly_rome(raw)
    page = raw.get(EV, params={"singleEvents": "true"}).json()
    raw.patch(EV + "/series000", json={"summary": "Renamed"})
    inc = raw.get(EV, params={"singleEvents": "true", "syncToken": page["nextSyncToken"]}).json()[
        "items"
    ]
    assert len(inc) == 4 and {i["summary"] for i in inc} == {"Renamed"}


def test_insert_exception_with_recurring_event_id(raw: httpx.Client) -> None:
    _weekly_rome(raw)
    body = {
        "recurringEventId": "series000",
        "originalStartTime": {"dateTime": "2025-03-24T09:00:00+01:00", "timeZone": "Europe/Rome"},
        "summary": "Special",
        "start": {"dateTime": "2025-03-24T10:00:00+01:00"},
        "end": {"dateTime": "2025-03-24T10:30:00+01:00"},
    }
    made = raw.post(EV, json=body).json()
    assert made["id"] == "series000_20250324T080000Z"
    assert [i["summary"] for i in _single(raw)].count("Special") == 1


def test_bad_rule_is_400(raw: httpx.Client) -> None:
    body = {
        "start": {"dateTime": "2025-01-06T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2025-01-06T11:00:00Z", "timeZone": "UTC"},
        "recurrence": ["DTSTART:20250106T100000Z"],
    }
    resp = raw.post(EV, json=body)
    assert resp.status_code == 400 and error_of(resp)["reason"] == "invalid"
