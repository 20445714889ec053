"""Batch requests through the official client's BatchHttpRequest and raw multipart bodies."""

from __future__ import annotations

from typing import Any

import httpx
from googleapiclient.http import BatchHttpRequest

from .conftest import Emu
from .helpers import timed


def test_batch_of_100_inserts_counts_100_calls(emu: Emu, alice: dict[str, Any]) -> None:
    cal = emu.calendar(alice)
    results: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: Exception | None) -> None:
        results[request_id] = exception or response

    batch = BatchHttpRequest(callback=done, batch_uri=emu.url + "/batch/calendar/v3")
    for i in range(100):
        batch.add(
            cal.events().insert(calendarId="primary", body=timed(id=f"b{i:03d}0000")),
            request_id=f"req-{i}",
        )
    batch.execute()
    assert len(results) == 100
    assert all(isinstance(r, dict) for r in results.values()), results
    assert results["req-7"]["id"] == "b0070000"  # responses matched by Content-ID
    stats = emu.control("GET", "stats")
    assert stats["by_method"]["calendar.events.insert"] == 100
    assert stats["by_account"]["alice@example.com"] == 100
    assert stats["total"] == 100 and stats["batches"] == 1
    listed = cal.events().list(calendarId="primary", maxResults=2500).execute()
    assert len(listed["items"]) == 100
    logged = emu.requests(api_method="calendar.events.insert")
    assert len(logged) == 100 and all(r["batch"] for r in logged)


def test_batch_parts_fail_independently(emu: Emu, alice: dict[str, Any]) -> None:
    cal = emu.calendar(alice)
    cal.events().insert(calendarId="primary", body=timed(id="taken0000")).execute()
    outcome: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: Exception | None) -> None:
        if exception is not None:
            outcome[request_id] = exception.resp.status  # type: ignore[attr-defined]
        else:
            outcome[request_id] = response["id"] if response else "empty"

    batch = BatchHttpRequest(callback=done, batch_uri=emu.url + "/batch/calendar/v3")
    batch.add(cal.events().insert(calendarId="primary", body=timed(id="taken0000")), request_id="a")
    batch.add(cal.events().get(calendarId="primary", eventId="taken0000"), request_id="b")
    batch.add(cal.events().get(calendarId="primary", eventId="missing00"), request_id="c")
    batch.add(cal.events().delete(calendarId="primary", eventId="taken0000"), request_id="d")
    batch.execute()
    assert outcome == {"a": 409, "b": "taken0000", "c": 404, "d": "empty"}


def test_batch_refreshes_on_401_parts(emu: Emu, alice: dict[str, Any]) -> None:
    cal = emu.calendar(alice)
    creds = cal._http.credentials
    creds.token = "ya29.stale"  # a token the emulator never issued
    got: dict[str, Any] = {}
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: got.update({rid: exc or resp}),
        batch_uri=emu.url + "/batch/calendar/v3",
    )
    batch.add(cal.calendarList().list(), request_id="x")
    batch.execute()
    assert isinstance(got["x"], dict) and got["x"]["items"]
    statuses = [r["status"] for r in emu.requests(api_method="calendar.calendarList.list")]
    assert statuses == [401, 200]


def test_raw_batch_content_ids_and_status_lines(emu: Emu, raw: httpx.Client) -> None:
    body = (
        "--XX\r\nContent-Type: application/http\r\nContent-ID: <abc+1>\r\n\r\n"
        "GET /calendar/v3/calendars/primary/events?alt=json HTTP/1.1\r\n\r\n\r\n"
        "--XX\r\nContent-Type: application/http\r\nContent-ID: <abc+2>\r\n\r\n"
        "GET /calendar/v3/calendars/primary/events/nope00000 HTTP/1.1\r\n\r\n\r\n"
        "--XX--\r\n"
    )
    resp = raw.post(
        "/batch/calendar/v3", content=body, headers={"Content-Type": "multipart/mixed; boundary=XX"}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("multipart/mixed; boundary=")
    text = resp.text
    assert "Content-ID: <response-abc+1>" in text and "Content-ID: <response-abc+2>" in text
    assert "HTTP/1.1 200 OK" in text and "HTTP/1.1 404 Not Found" in text
    assert text.index("response-abc+1") < text.index("response-abc+2")


def test_batch_cap(emu: Emu, raw: httpx.Client) -> None:
    emu.control("POST", "config", {"batch_cap": 2})
    part = (
        "--XX\r\nContent-Type: application/http\r\n\r\n"
        "GET /calendar/v3/users/me/calendarList HTTP/1.1\r\n\r\n\r\n"
    )
    resp = raw.post(
        "/batch/calendar/v3",
        content=part * 3 + "--XX--\r\n",
        headers={"Content-Type": "multipart/mixed; boundary=XX"},
    )
    assert resp.status_code == 400
    assert emu.control("GET", "stats")["total"] == 0
    ok = raw.post(
        "/batch/calendar/v3",
        content=part * 2 + "--XX--\r\n",
        headers={"Content-Type": "multipart/mixed; boundary=XX"},
    )
    assert ok.status_code == 200 and emu.control("GET", "stats")["total"] == 2


def test_tasks_batch_at_slash_batch(emu: Emu, alice: dict[str, Any]) -> None:
    tasks = emu.tasks(alice)
    made: list[str] = []
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: made.append(resp["title"]), batch_uri=emu.url + "/batch"
    )
    for i in range(3):
        batch.add(tasks.tasks().insert(tasklist="@default", body={"title": f"t{i}"}))
    batch.execute()
    assert sorted(made) == ["t0", "t1", "t2"]
    assert emu.control("GET", "stats")["by_method"]["tasks.tasks.insert"] == 3
