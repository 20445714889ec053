"""Single events: insert/get/update/patch/delete with Google's ids, etags, errors and fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from .conftest import Emu
from .helpers import all_day, error_of, timed

EV = "/calendar/v3/calendars/primary/events"


def _reason(err: HttpError) -> str:
    return str(err.error_details[0]["reason"])


def test_insert_returns_google_shaped_event(cal: Any) -> None:
    ev = cal.events().insert(calendarId="primary", body=timed(location="Room 1")).execute()
    assert ev["kind"] == "calendar#event"
    assert ev["status"] == "confirmed"
    assert ev["etag"].startswith('"') and ev["etag"].endswith('"')
    assert ev["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert ev["created"].endswith("Z") and ev["updated"].endswith("Z")
    assert ev["iCalUID"] == ev["id"] + "@google.com"
    assert ev["sequence"] == 0
    assert ev["creator"] == {"email": "alice@example.com", "self": True}
    assert ev["organizer"] == {"email": "alice@example.com", "self": True}
    assert ev["reminders"] == {"useDefault": True}
    assert ev["start"] == {"dateTime": "2025-03-10T09:00:00Z"}
    assert cal.events().get(calendarId="primary", eventId=ev["id"]).execute() == ev


def test_all_day_and_time_zoned_events_round_trip(cal: Any) -> None:
    day = cal.events().insert(calendarId="primary", body=all_day()).execute()
    assert day["start"] == {"date": "2025-03-10"} and day["end"] == {"date": "2025-03-11"}
    body = timed(start="2025-07-01T09:00:00", end="2025-07-01T10:00:00")
    body["start"]["timeZone"] = body["end"]["timeZone"] = "Europe/Rome"
    rome = cal.events().insert(calendarId="primary", body=body).execute()
    assert rome["start"] == {"dateTime": "2025-07-01T09:00:00+02:00", "timeZone": "Europe/Rome"}


def test_unknown_fields_are_kept(cal: Any) -> None:
    conf = {"createRequest": {"requestId": "abc", "conferenceSolutionKey": {"type": "x"}}}
    ev = (
        cal.events()
        .insert(
            calendarId="primary",
            body=timed(
                conferenceData=conf,
                extendedProperties={"private": {"crmId": "7"}},
                visibility="private",
                transparency="transparent",
                attendees=[{"email": "bob@example.com"}],
            ),
        )
        .execute()
    )
    got = cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["conferenceData"] == conf
    assert got["extendedProperties"] == {"private": {"crmId": "7"}}
    assert got["visibility"] == "private" and got["transparency"] == "transparent"
    assert got["attendees"] == [{"email": "bob@example.com"}]


def test_client_ids_base32hex_and_duplicates(cal: Any) -> None:
    ok = cal.events().insert(calendarId="primary", body=timed(id="crm0000001")).execute()
    assert ok["id"] == "crm0000001"
    with pytest.raises(HttpError) as dup:
        cal.events().insert(calendarId="primary", body=timed(id="crm0000001")).execute()
    assert dup.value.resp.status == 409
    assert _reason(dup.value) == "duplicate"
    assert "already exists" in dup.value.reason
    for bad in ("abcw1234", "ab-c12345", "abc", "ABCDEF123", "ab_c12345"):
        with pytest.raises(HttpError) as err:
            cal.events().insert(calendarId="primary", body=timed(id=bad)).execute()
        assert err.value.resp.status == 400, bad
        assert _reason(err.value) == "invalid"
        assert err.value.reason == "Invalid resource id value."


def test_unknown_event_and_calendar_are_404(raw: httpx.Client) -> None:
    resp = raw.get(EV + "/nosuchevent1")
    assert resp.status_code == 404 and error_of(resp)["reason"] == "notFound"
    resp = raw.get("/calendar/v3/calendars/nobody%40example.com/events")
    assert resp.status_code == 404


def test_if_match_stale_is_412_current_passes(raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    changed = raw.patch(EV + "/" + ev["id"], json={"summary": "v2"}).json()
    assert changed["etag"] != ev["etag"]
    for method in ("PUT", "PATCH", "DELETE"):
        resp = raw.request(
            method, EV + "/" + ev["id"], json=timed(summary="v3"), headers={"If-Match": ev["etag"]}
        )
        assert resp.status_code == 412, method
        err = error_of(resp)
        assert err["reason"] == "conditionNotMet" and err["location"] == "If-Match"
    resp = raw.put(
        EV + "/" + ev["id"], json=timed(summary="v3"), headers={"If-Match": changed["etag"]}
    )
    assert resp.status_code == 200 and resp.json()["summary"] == "v3"


def test_if_match_through_official_client(cal: Any) -> None:
    ev = cal.events().insert(calendarId="primary", body=timed()).execute()
    cal.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "x"}).execute()
    req = cal.events().update(calendarId="primary", eventId=ev["id"], body=timed())
    req.headers["If-Match"] = ev["etag"]
    with pytest.raises(HttpError) as err:
        req.execute()
    assert err.value.resp.status == 412


def test_if_none_match_gives_304_until_changed(raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    resp = raw.get(EV + "/" + ev["id"], headers={"If-None-Match": ev["etag"]})
    assert resp.status_code == 304 and resp.content == b""
    raw.patch(EV + "/" + ev["id"], json={"summary": "changed"})
    resp = raw.get(EV + "/" + ev["id"], headers={"If-None-Match": ev["etag"]})
    assert resp.status_code == 200 and resp.json()["summary"] == "changed"


def test_soft_delete_then_410_and_id_reserved(cal: Any, raw: httpx.Client) -> None:
    ev = cal.events().insert(calendarId="primary", body=timed(id="keep00001")).execute()
    assert cal.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    got = cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["status"] == "cancelled"
    resp = raw.delete(EV + "/keep00001")
    assert resp.status_code == 410
    assert resp.json()["error"]["errors"] == [
        {"domain": "global", "reason": "deleted", "message": "Resource has been deleted"}
    ]
    resp = raw.post(EV, json=timed(id="keep00001"))
    assert resp.status_code == 409 and error_of(resp)["reason"] == "duplicate"
    listed = raw.get(EV).json()["items"]
    assert listed == []


def test_delete_answers_204_empty(raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    resp = raw.delete(EV + "/" + ev["id"])
    assert resp.status_code == 204 and resp.content == b""


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        (
            {"summary": "x", "start": {"dateTime": "2025-03-10T09:00:00Z"}},
            "required",
            "Missing end time.",
        ),
        (
            {"summary": "x", "end": {"dateTime": "2025-03-10T09:00:00Z"}},
            "required",
            "Missing start time.",
        ),
        (
            timed(start="2025-03-10T11:00:00Z", end="2025-03-10T10:00:00Z"),
            "timeRangeEmpty",
            "The specified time range is empty.",
        ),
        (
            timed(recurrence=["RRULE:FREQ=DAILY"]),
            "required",
            "Missing time zone definition for start time.",
        ),
        (
            timed(start="2025-03-10T09:00:00", end="2025-03-10T10:00:00"),
            "required",
            "Missing time zone definition for start time.",
        ),
        (
            {"start": {"date": "2025-03-10"}, "end": {"dateTime": "2025-03-10T10:00:00Z"}},
            "invalid",
            "Start and end times must either both be date or both be dateTime.",
        ),
    ],
)
def test_invalid_bodies_are_400(
    raw: httpx.Client, body: dict[str, Any], reason: str, message: str
) -> None:
    resp = raw.post(EV, json=body)
    assert resp.status_code == 400, resp.text
    err = error_of(resp)
    assert err["reason"] == reason and err["message"] == message


def test_put_without_times_is_400(raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    resp = raw.put(EV + "/" + ev["id"], json={"summary": "no times"})
    assert resp.status_code == 400 and error_of(resp)["message"] == "Missing start time."


def test_patch_merges_put_replaces(cal: Any) -> None:
    body = timed(
        description="desc",
        location="Room",
        extendedProperties={"private": {"a": "1", "b": "2"}},
        attendees=[{"email": "x@example.com"}, {"email": "y@example.com"}],
    )
    ev = cal.events().insert(calendarId="primary", body=body).execute()
    patched = (
        cal.events()
        .patch(
            calendarId="primary",
            eventId=ev["id"],
            body={
                "summary": "new",
                "extendedProperties": {"private": {"b": "3"}},
                "attendees": [{"email": "z@example.com"}],
                "description": None,
            },
        )
        .execute()
    )
    assert patched["summary"] == "new"
    assert patched["location"] == "Room"  # untouched
    assert "description" not in patched  # null clears
    assert patched["extendedProperties"] == {"private": {"a": "1", "b": "3"}}  # objects merge
    assert patched["attendees"] == [{"email": "z@example.com"}]  # arrays replace
    replaced = (
        cal.events()
        .update(calendarId="primary", eventId=ev["id"], body=timed(summary="only"))
        .execute()
    )
    assert replaced["summary"] == "only"
    for gone in ("location", "extendedProperties", "attendees"):
        assert gone not in replaced
    assert replaced["id"] == ev["id"] and replaced["created"] == ev["created"]


def test_patch_can_switch_timed_to_all_day(cal: Any) -> None:
    ev = cal.events().insert(calendarId="primary", body=timed()).execute()
    out = (
        cal.events()
        .patch(
            calendarId="primary",
            eventId=ev["id"],
            body={"start": {"date": "2025-03-10"}, "end": {"date": "2025-03-11"}},
        )
        .execute()
    )
    assert out["start"] == {"date": "2025-03-10"}


def test_sequence_bumps_on_time_change_and_rejects_lower(raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    same = raw.patch(EV + "/" + ev["id"], json={"summary": "rename"}).json()
    assert same["sequence"] == 0
    moved = raw.patch(
        EV + "/" + ev["id"], json={"start": {"dateTime": "2025-03-10T08:00:00Z"}}
    ).json()
    assert moved["sequence"] == 1
    relocated = raw.patch(EV + "/" + ev["id"], json={"location": "elsewhere"}).json()
    assert relocated["sequence"] == 2
    resp = raw.patch(EV + "/" + ev["id"], json={"summary": "old", "sequence": 1})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["reason"] == "invalid" and err["message"].startswith("Invalid sequence value.")


def test_reminder_only_edit_keeps_updated(emu: Emu, raw: httpx.Client) -> None:
    ev = raw.post(EV, json=timed()).json()
    emu.control("POST", "clock", {"advance_seconds": 10})
    out = raw.patch(
        EV + "/" + ev["id"],
        json={"reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}},
    ).json()
    assert out["updated"] == ev["updated"] and out["etag"] != ev["etag"]
    out = raw.patch(EV + "/" + ev["id"], json={"summary": "s"}).json()
    assert out["updated"] > ev["updated"]


def test_import_upserts_by_ical_uid(raw: httpx.Client) -> None:
    body = timed(iCalUID="crm-42@example.com", organizer={"email": "boss@example.com"})
    first = raw.post(EV + "/import", json=body).json()
    assert first["iCalUID"] == "crm-42@example.com"
    assert first["organizer"] == {"email": "boss@example.com"}
    again = raw.post(EV + "/import", json={**body, "summary": "renamed"}).json()
    assert again["id"] == first["id"] and again["summary"] == "renamed"
    resp = raw.post(EV + "/import", json=timed())
    assert resp.status_code == 400 and error_of(resp)["reason"] == "required"


def test_send_updates_recorded(emu: Emu, cal: Any) -> None:
    ev = cal.events().insert(calendarId="primary", body=timed(), sendUpdates="none").execute()
    cal.events().patch(
        calendarId="primary", eventId=ev["id"], body={"summary": "p"}, sendUpdates="none"
    ).execute()
    cal.events().delete(calendarId="primary", eventId=ev["id"], sendUpdates="none").execute()
    writes = [r for r in emu.requests() if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]
    assert len(writes) == 3
    assert all(r["query"].get("sendUpdates") == ["none"] for r in writes)
    assert not emu.requests(method="PUT")
    assert writes[1]["body"] == {"summary": "p"}
    assert writes[0]["account"] == "alice@example.com"
    assert [r["api_method"] for r in writes] == [
        "calendar.events.insert",
        "calendar.events.patch",
        "calendar.events.delete",
    ]


def test_watch_and_channels_stop(raw: httpx.Client) -> None:
    resp = raw.post(
        EV + "/watch",
        json={"id": "chan-1", "type": "web_hook", "address": "https://127.0.0.1:9/hook"},
    )
    assert resp.status_code == 200
    channel = resp.json()
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
    stop = raw.post(
        "/calendar/v3/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]}
    )
    assert stop.status_code == 204
    again = raw.post(
        "/calendar/v3/channels/stop", json={"id": "chan-1", "resourceId": channel["resourceId"]}
    )
    assert again.status_code == 404


def test_send_updates_value_checked(raw: httpx.Client) -> None:
    resp = raw.post(EV, params={"sendUpdates": "everyone"}, json=timed())
    assert resp.status_code == 400 and error_of(resp)["location"] == "sendUpdates"
    assert raw.post(EV, params={"sendUpdates": "externalOnly"}, json=timed()).status_code == 200


def test_move_keeps_id_and_ical_uid_and_leaves_a_cancelled_trace(cal: Any, emu: Emu) -> None:
    """events.move: same id and iCalUID in the destination, organised by it; the source's
    incremental listing shows the id cancelled, the destination's shows the event."""
    team = emu.control("POST", "calendars", {"owner": "alice@example.com", "summary": "Team"})
    ev = cal.events().insert(calendarId="primary", body=timed(summary="Offsite")).execute()
    src = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    dst = cal.events().list(calendarId=team["id"]).execute()["nextSyncToken"]
    moved = cal.events().move(calendarId="primary", eventId=ev["id"], destination=team["id"])
    moved = moved.execute()
    assert (moved["id"], moved["iCalUID"], moved["summary"]) == (ev["id"], ev["iCalUID"], "Offsite")
    assert moved["organizer"]["email"] == team["id"]
    assert cal.events().get(calendarId=team["id"], eventId=ev["id"]).execute() == moved
    left = cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert left["status"] == "cancelled" and "summary" not in left
    inc = cal.events().list(calendarId="primary", syncToken=src).execute()["items"]
    assert [(i["id"], i["status"]) for i in inc] == [(ev["id"], "cancelled")]
    inc = cal.events().list(calendarId=team["id"], syncToken=dst).execute()["items"]
    assert [(i["id"], i["status"]) for i in inc] == [(ev["id"], "confirmed")]
    with pytest.raises(HttpError) as err:
        cal.events().move(calendarId="primary", eventId=ev["id"], destination=team["id"]).execute()
    assert err.value.resp.status == 404


def test_move_takes_a_series_with_its_exceptions_but_refuses_an_instance(
    cal: Any, emu: Emu
) -> None:
    team = emu.control("POST", "calendars", {"owner": "alice@example.com", "summary": "Team"})
    body = timed(summary="Weekly", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
    body["start"]["timeZone"] = body["end"]["timeZone"] = "UTC"
    series = cal.events().insert(calendarId="primary", body=body).execute()
    first = cal.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    cal.events().patch(
        calendarId="primary", eventId=first[1]["id"], body={"summary": "Weekly (moved)"}
    ).execute()
    with pytest.raises(HttpError) as err:
        cal.events().move(
            calendarId="primary", eventId=first[1]["id"], destination=team["id"]
        ).execute()
    assert _reason(err.value) == "cannotChangeOrganizerOfInstance"
    cal.events().move(calendarId="primary", eventId=series["id"], destination=team["id"]).execute()
    there = cal.events().instances(calendarId=team["id"], eventId=series["id"]).execute()["items"]
    assert [i["summary"] for i in there] == ["Weekly", "Weekly (moved)", "Weekly"]
    assert cal.events().list(calendarId="primary").execute()["items"] == []
