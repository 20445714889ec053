"""Real Google-shaped error responses (from the emulator) through GoogleHttp's one boundary,
plus an Event round trip through the emulator's storage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from calsync.errors import (
    AlreadyExists,
    AuthError,
    ForbiddenError,
    InvalidItem,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
    QuotaError,
)
from calsync.model import Event, When, content_hash
from calsync.quota import Backoff
from calsync.sides.google.auth import StaticTokenAuth
from calsync.sides.google.batch import BatchCall
from calsync.sides.google.errors import Deleted
from tests.sides.google.emulated import Google
from tests.sides.google.test_google_mapping import events

EVENTS = "/calendar/v3/calendars/primary/events"
BODY = {
    "summary": "x",
    "start": {"dateTime": "2026-01-01T09:00:00Z"},
    "end": {"dateTime": "2026-01-01T10:00:00Z"},
}


def test_emulator_errors_map_to_the_calsync_tree(google: Google) -> None:
    http = google.http()
    made = http.json("POST", EVENTS, params={"sendUpdates": "none"}, json={**BODY, "id": "abcde1"})
    cases: list[tuple[Callable[[], object], type[Exception]]] = [
        (lambda: http.call("GET", EVENTS + "/nosuch1"), NotFound),
        (lambda: http.call("POST", EVENTS, json={**BODY, "id": "abcde1"}), AlreadyExists),
        (lambda: http.call("POST", EVENTS, json={**BODY, "id": "Bad_Id"}), InvalidItem),
        (
            lambda: http.call(
                "GET",
                EVENTS,
                params={"timeMin": "2026-01-02T00:00:00Z", "timeMax": "2026-01-01T00:00:00Z"},
            ),
            InvalidItem,
        ),
        (lambda: http.call("GET", EVENTS, params={"syncToken": "garbage"}), InvalidSyncToken),
        (
            lambda: http.call(
                "PATCH", EVENTS + "/abcde1", json={"summary": "y"}, headers={"If-Match": '"stale"'}
            ),
            PreconditionFailed,
        ),
    ]
    for call, error in cases:
        with pytest.raises(error):
            call()
    http.call("DELETE", EVENTS + "/abcde1", headers={"If-Match": made["etag"]})
    with pytest.raises(Deleted):
        http.call("DELETE", EVENTS + "/abcde1")


def test_emulator_auth_scope_and_access_errors(google: Google) -> None:
    with pytest.raises(AuthError):
        google.http(auth=StaticTokenAuth("ya29.unknown")).call("GET", EVENTS)
    tasks_only = google.control(
        "POST",
        "accounts/alice@example.com/tokens",
        {"scopes": ["https://www.googleapis.com/auth/tasks"]},
    )
    with pytest.raises(ForbiddenError):  # 403 insufficientPermissions
        google.http(auth=StaticTokenAuth(tasks_only["access_token"])).call("GET", EVENTS)
    google.control("POST", "accounts", {"email": "bob@example.com"})
    team = google.control("POST", "calendars", {"owner": "bob@example.com", "summary": "Team"})
    google.control(
        "POST", f"calendars/{team['id']}/acl", {"email": "alice@example.com", "role": "reader"}
    )
    with pytest.raises(ForbiddenError):  # 403 requiredAccessLevel
        google.http().call("POST", f"/calendar/v3/calendars/{team['id']}/events", json=BODY)


@pytest.mark.parametrize("status", [403, 429])
def test_emulator_rate_limit_is_retried_then_quota_error(google: Google, status: int) -> None:
    google.control("POST", "config", {"rate_limit_per_user": 2, "rate_limit_status": status})
    http = google.http(backoff=Backoff(base=0.1, cap=1, max_tries=3))
    http.call("GET", EVENTS)
    http.call("GET", EVENTS)
    with pytest.raises(QuotaError):
        http.call("GET", EVENTS)
    assert len(http.sleep) == 2  # type: ignore[arg-type]
    log = google.requests(api_method="calendar.events.list")
    assert [r["status"] for r in log] == [200, 200, status, status, status]


def test_batches_are_chunked_under_the_cap(google: Google) -> None:
    google.control("POST", "config", {"batch_cap": 2})
    http = google.http(batch_size=2)
    calls = [BatchCall("GET", f"{EVENTS}/nosuch{n}") for n in range(5)]
    replies = http.batch("/batch/calendar/v3", calls)
    assert [r.status for r in replies] == [404] * 5
    assert google.control("GET", "stats")["batches"] == 3


@given(event=events)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_events_round_trip_through_the_emulator(google: Google, event: Event) -> None:
    """What we write is what we read back, after Google's own normalisation.

    The emulator keeps no `timeZone` on all-day events, so their zone reads as the
    calendar's; the zone of dates is no content (the hash leaves it out).
    """
    side = google.calendar()
    if event.recurrence is not None and not event.when.all_day:
        # Keep series short so expansion stays cheap.
        event = event.with_(
            when=When(
                datetime(2026, 1, 5, 9, tzinfo=UTC),
                datetime(2026, 1, 5, 10, tzinfo=UTC),
                event.when.tz,
            )
        )
    key = f"crm:{abs(hash(event))}"
    try:
        made = side.create(event, key)
    except AlreadyExists:
        return
    if event.when.all_day:
        event = event.with_(when=When(event.when.start, event.when.end, side.default_tz))
    assert made.item == event
    got = side.get(made.id)
    assert got is not None and got.item == event and got.key == key
    assert content_hash(got.item) == content_hash(event)
