"""GoogleCalendarSide against the Google emulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from calsync.errors import (
    AlreadyExists,
    InvalidSyncToken,
    PreconditionFailed,
    QuotaError,
    TransientError,
)
from calsync.model import Attendee, Event, Recurrence, Reminder, Visibility, When
from calsync.quota import Budget, MemoryCounter
from calsync.sides.google.mapping import key_property
from tests.sides.google.emulated import Google


def meeting(title: str = "Review", day: int = 10, tz: str = "Europe/Rome") -> Event:
    start = datetime(2026, 3, day, 9, 0)
    return Event(
        title,
        When.timed(start, start + timedelta(hours=1), tz),
        description="<p>Agenda</p>",
        location="Room 1",
        reminders=(Reminder(10), Reminder(60, "email")),
    )


def test_full_then_incremental_sync_with_tombstones(google: Google) -> None:
    side = google.calendar()
    a = side.create(meeting("A"), "crm:1")
    b = side.create(meeting("B", 11), "crm:2")
    c = side.create(meeting("C", 12), "crm:3")
    full = side.changes(None)
    assert full.full and full.cursor
    assert {r.id: r.key for r in full.items} == {a.id: "crm:1", b.id: "crm:2", c.id: "crm:3"}
    assert {r.item for r in full.items} == {meeting("A"), meeting("B", 11), meeting("C", 12)}
    assert side.default_tz == "Europe/Rome"  # learnt from the listing

    side.delete(b.id, b.etag)
    side.update(c.id, meeting("C2", 12), c.etag)
    made = google.raw(
        "POST",
        "/calendar/v3/calendars/primary/events",
        json={
            "summary": "From phone",
            "start": {"dateTime": "2026-03-13T08:00:00Z"},
            "end": {"dateTime": "2026-03-13T09:00:00Z"},
        },
    ).json()
    inc = side.changes(full.cursor)
    assert not inc.full
    assert inc.deleted == [b.id]
    assert {r.id: r.item.title for r in inc.items} == {c.id: "C2", made["id"]: "From phone"}
    assert {r.id: r.key for r in inc.items}[made["id"]] is None
    again = side.changes(inc.cursor)
    assert (again.items, again.deleted) == ([], [])


def test_full_listing_is_bounded_by_the_sync_window(google: Google) -> None:
    side = google.calendar()
    side.create(meeting("March", 10), "crm:in")
    side.create(Event("June", When.dates(date(2026, 6, 1), date(2026, 6, 2))), "crm:out")
    window = google.calendar(
        time_min=datetime(2026, 3, 1, tzinfo=UTC), time_max=datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert [r.item.title for r in window.changes(None).items] == ["March"]


def test_paging_collects_every_page(google: Google) -> None:
    side = google.calendar(page_size=2)
    for n in range(5):
        side.create(meeting(f"M{n}", 10 + n), f"crm:{n}")
    full = side.changes(None)
    assert sorted(r.item.title for r in full.items) == [f"M{n}" for n in range(5)]
    assert full.cursor
    pages = google.requests(api_method="calendar.events.list")
    assert len(pages) == 3 and all(p["query"]["maxResults"] == ["2"] for p in pages)


def test_expired_sync_token_raises_invalid_sync_token(google: Google) -> None:
    side = google.calendar()
    side.create(meeting(), "crm:1")
    cursor = side.changes(None).cursor
    assert cursor
    google.control("POST", "synctokens/expire", {})
    with pytest.raises(InvalidSyncToken):
        side.changes(cursor)
    with pytest.raises(InvalidSyncToken):
        side.changes("1" + cursor)  # tampered tokens are expired ones too


def test_deterministic_id_and_retried_create_is_already_exists(google: Google) -> None:
    side = google.calendar()
    created = side.create(meeting(), "crm:7")
    assert created.id == side.event_id("crm:7")
    with pytest.raises(AlreadyExists, match=created.id):
        side.create(meeting(), "crm:7")
    # Insert applied, reply lost: our retry hits 409 and the engine can adopt by id.
    google.control(
        "POST",
        "faults",
        {
            "status": 503,
            "method": "POST",
            "count": 1,
            "path_prefix": "/calendar/v3",
            "mode": "apply_then_fail",
        },
    )
    with pytest.raises(AlreadyExists):
        side.create(meeting("Other"), "crm:8")
    adopted = side.get(side.event_id("crm:8"))
    assert adopted is not None and adopted.key == "crm:8"


def test_deleted_id_can_be_restored_by_update(google: Google) -> None:
    side = google.calendar()
    created = side.create(meeting(), "crm:1")
    side.delete(created.id, created.etag)
    side.delete(created.id, None)  # already deleted (410): fine
    assert side.get(created.id) is None
    with pytest.raises(AlreadyExists):
        side.create(meeting(), "crm:1")
    restored = side.update(created.id, meeting("Back"), None)
    assert side.get(created.id) == restored


def test_patch_with_stale_etag_is_precondition_failed(google: Google) -> None:
    side = google.calendar()
    created = side.create(meeting(), "crm:1")
    side.update(created.id, meeting("Mine"), created.etag)
    with pytest.raises(PreconditionFailed):
        side.update(created.id, meeting("Lost"), created.etag)
    with pytest.raises(PreconditionFailed):
        side.delete(created.id, created.etag)
    current = side.get(created.id)
    assert current is not None and current.item.title == "Mine"


def test_unowned_fields_survive_our_update(google: Google) -> None:
    side = google.calendar(sync_attendees=False)
    created = side.create(meeting(), "crm:1")
    path = f"/calendar/v3/calendars/primary/events/{created.id}"
    google.raw(
        "PATCH",
        path,
        params={"sendUpdates": "none"},
        json={
            "attendees": [{"email": "bob@example.com", "responseStatus": "accepted"}],
            "colorId": "5",
            "extendedProperties": {"private": {"otherApp": "42"}, "shared": {"crmRef": "x"}},
            "conferenceData": {"conferenceId": "abc-defg-hij"},
        },
    )
    before = google.raw("GET", path).json()
    updated = side.update(
        created.id, meeting("Renamed").with_(visibility=Visibility.PRIVATE), before["etag"]
    )
    after = google.raw("GET", path).json()
    assert after["summary"] == "Renamed" and after["visibility"] == "private"
    for unowned in ("attendees", "colorId", "conferenceData"):
        assert after.get(unowned) == before.get(unowned), unowned
    assert after["extendedProperties"]["private"] == {
        key_property("acme"): "crm:1",
        "otherApp": "42",
    }
    assert after["extendedProperties"]["shared"] == {"crmRef": "x"}
    assert updated.key == "crm:1"


def test_attendees_are_owned_when_synced(google: Google) -> None:
    side = google.calendar()
    event = meeting().with_(attendees=(Attendee("bob@example.com", "Bob", "accepted"),))
    created = side.create(event, "crm:1")
    assert created.item == event
    updated = side.update(created.id, event.with_(attendees=()), created.etag)
    assert updated.item.attendees == ()


def test_every_write_sends_no_mail_and_no_put(google: Google) -> None:
    side = google.calendar()
    created = side.create(meeting(), "crm:1")
    switched = side.update(
        created.id,
        meeting().with_(when=When.dates(date(2026, 3, 10), date(2026, 3, 11))),
        created.etag,
    )
    assert switched.item.when.all_day
    back = side.update(created.id, meeting(), switched.etag)
    assert not back.item.when.all_day and back.item == meeting()
    side.delete(created.id, back.etag)
    log = google.requests(path_prefix="/calendar/v3")
    assert log and all(r["method"] != "PUT" for r in log)
    writes = [r for r in log if r["method"] in ("POST", "PATCH", "DELETE")]
    assert [r["method"] for r in writes] == ["POST", "PATCH", "PATCH", "DELETE"]
    assert all(r["query"].get("sendUpdates") == ["none"] for r in writes)
    assert all(r["query"].get("quotaUser") == ["alice"] for r in log)
    assert [r["if_match"] is not None for r in writes] == [False, True, True, True]


def test_new_york_event_read_for_rome_user_keeps_instant_and_zone(google: Google) -> None:
    side = google.calendar()
    event = meeting("NY call", tz="America/New_York")
    created = side.create(event, "crm:ny")
    got = side.get(created.id)
    assert got is not None and got.item == event
    assert got.item.when.start == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)


def test_get_many_uses_one_batch(google: Google) -> None:
    side = google.calendar()
    a = side.create(meeting("A"), "crm:1")
    b = side.create(meeting("B"), "crm:2")
    side.delete(b.id, b.etag)
    google.control("DELETE", "stats")
    found = side.get_many([a.id, b.id, "csmissing0000"])
    assert found[a.id] is not None and found[a.id].item.title == "A"  # type: ignore[union-attr]
    assert found[b.id] is None and found["csmissing0000"] is None
    stats = google.control("GET", "stats")
    assert stats["batches"] == 1 and stats["total"] == 3


def test_cancelled_exception_is_not_a_series_deletion(google: Google) -> None:
    side = google.calendar()
    weekly = meeting("Weekly").with_(recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=5",)))
    series = side.create(weekly, "crm:series")
    cursor = side.changes(None).cursor
    instance = f"{series.id}_20260317T080000Z"
    assert google.raw("DELETE", f"/calendar/v3/calendars/primary/events/{instance}").is_success
    inc = side.changes(cursor)
    assert inc.deleted == [instance]
    assert series.id not in inc.deleted
    master_id, original = side.series_of(instance) or ("", "")
    assert master_id == series.id
    assert datetime.fromisoformat(original) == datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    master = side.get(series.id)
    assert master is not None and master.item.recurrence == weekly.recurrence


def test_list_calendars_with_access_roles(google: Google) -> None:
    google.control("POST", "accounts", {"email": "bob@example.com"})
    team = google.control("POST", "calendars", {"owner": "bob@example.com", "summary": "Team"})
    google.control(
        "POST", f"calendars/{team['id']}/acl", {"email": "alice@example.com", "role": "reader"}
    )
    own = google.control("POST", "calendars", {"owner": "alice@example.com", "summary": "Side"})
    cals = {c.summary: c for c in google.calendar().list_calendars()}
    assert cals["alice@example.com"].primary and cals["alice@example.com"].access_role == "owner"
    assert (cals["Side"].id, cals["Side"].access_role) == (own["id"], "owner")
    assert (cals["Team"].id, cals["Team"].access_role) == (team["id"], "reader")


def test_rate_limits_back_off_then_quota_error_and_budget_stops_calls(google: Google) -> None:
    side = google.calendar()
    google.control(
        "POST",
        "faults",
        {"status": 429, "reason": "rateLimitExceeded", "count": 2, "path_prefix": "/calendar/v3"},
    )
    assert side.changes(None).full  # two 429s, then through
    assert len(side.http.sleep) == 2  # type: ignore[arg-type]
    google.control(
        "POST",
        "faults",
        {"status": 403, "reason": "quotaExceeded", "count": 5, "path_prefix": "/calendar/v3"},
    )
    google.control("DELETE", "requests")
    with pytest.raises(QuotaError):
        side.changes(None)
    assert len(google.requests()) == 1  # quotaExceeded is not retried blindly
    google.control("DELETE", "faults")
    google.control("POST", "faults", {"status": 503, "count": -1, "path_prefix": "/calendar/v3"})
    with pytest.raises(TransientError):
        side.get("csabcdef")
    google.control("DELETE", "faults")

    budget = Budget(MemoryCounter(), user_limit=3)
    capped = google.calendar(budget=budget)
    google.control("DELETE", "stats")
    for n in range(3):
        capped.get(f"csnone{n}")
    with pytest.raises(QuotaError):
        capped.get("csnone9")
    assert google.control("GET", "stats")["total"] == 3


def test_editing_one_instance_makes_an_exception_not_a_new_series(google: Google) -> None:
    """An instance edited on Google is an override of its series' item, keyed by its original
    start: the increment lists the series whole, and the instance's id is no item of its own."""
    side = google.calendar()
    weekly = meeting("Weekly").with_(recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=5",)))
    series = side.create(weekly, "crm:series")
    cursor = side.changes(None).cursor
    instance = f"{series.id}_20260324T080000Z"
    moved = meeting("Weekly (moved)", 25)
    google.raw(
        "PATCH",
        f"/calendar/v3/calendars/primary/events/{instance}",
        json={"summary": moved.title, "start": {"dateTime": "2026-03-25T08:00:00Z"},
              "end": {"dateTime": "2026-03-25T09:00:00Z"}},
    )  # fmt: skip
    inc = side.changes(cursor)
    assert [r.id for r in inc.items] == [series.id] and inc.deleted == [instance]
    assert (side.series_of(instance) or ("",))[0] == series.id
    (override,) = inc.items[0].item.overrides
    assert override.original_start == datetime(2026, 3, 24, 8, tzinfo=UTC)
    assert override.event is not None and override.event.title == "Weekly (moved)"
    assert override.event.when.start == datetime(2026, 3, 25, 8, tzinfo=UTC)
    master = side.get(series.id)
    assert master is not None and master.item == inc.items[0].item
    assert master.etag == inc.items[0].etag != series.etag
    assert side.get(instance) is None  # part of its series, never an item alone


def test_someone_elses_meeting_is_declined_not_deleted(google: Google) -> None:
    side = google.calendar()
    invite = google.raw(
        "POST",
        "/calendar/v3/calendars/primary/events/import",
        json={
            "iCalUID": "meeting-1@example.org",
            "summary": "Bob's meeting",
            "organizer": {"email": "bob@example.com"},
            "attendees": [
                {"email": "bob@example.com", "responseStatus": "accepted"},
                {"email": "alice@example.com", "responseStatus": "accepted"},
            ],
            "start": {"dateTime": "2026-03-10T09:00:00Z"},
            "end": {"dateTime": "2026-03-10T10:00:00Z"},
        },
    ).json()
    full = side.changes(None)
    seen = next(r for r in full.items if r.id == invite["id"])
    side.delete(seen.id, seen.etag)
    raw = google.raw("GET", f"/calendar/v3/calendars/primary/events/{invite['id']}").json()
    assert raw["status"] == "confirmed"  # the meeting is not cancelled for anyone
    assert {a["email"]: a["responseStatus"] for a in raw["attendees"]} == {
        "bob@example.com": "accepted",
        "alice@example.com": "declined",
    }
    assert side.get(invite["id"]) is None
    assert side.changes(full.cursor).deleted == [invite["id"]]
    side.delete(seen.id, None)  # declined already: nothing more to do
    writes = [r for r in google.requests() if r["method"] in ("PATCH", "DELETE")]
    assert [r["method"] for r in writes] == ["PATCH"]
    assert writes[0]["query"]["sendUpdates"] == ["none"]
