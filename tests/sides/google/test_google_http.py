"""GoogleHttp: Google's error bodies mapped at one boundary, retries, backoff, budget, logging."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import date

import pytest

from calsync.emulators.server import free_port
from calsync.errors import (
    AlreadyExists,
    AuthError,
    ForbiddenError,
    InvalidItem,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
    QuotaError,
    TransientError,
)
from calsync.model import Event, Task, When
from calsync.quota import Backoff, Budget, BudgetAlert, MemoryCounter, RateLimiter
from calsync.sides.google.batch import BatchCall, encode_batch, parse_batch
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.errors import Deleted
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.tasks import GoogleTasksSide
from tests.sides.google.scripted import Reply, Scripted, google_error

MakeHttp = Callable[..., GoogleHttp]

CASES = [
    (google_error(400, "invalid", "Invalid resource id value."), InvalidItem, 1),
    (
        google_error(400, "timeRangeEmpty", "The specified time range is empty.", "calendar"),
        InvalidItem,
        1,
    ),
    (
        google_error(403, "forbiddenForNonOrganizer", "Shared properties...", "calendar"),
        ForbiddenError,
        1,
    ),
    (google_error(403, "insufficientPermissions"), ForbiddenError, 1),
    (
        google_error(403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits"),
        QuotaError,
        1,
    ),
    (google_error(403, "dailyLimitExceeded", "Daily Limit Exceeded", "usageLimits"), QuotaError, 1),
    (google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"), QuotaError, 4),
    (
        google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits"),
        QuotaError,
        4,
    ),
    (google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"), QuotaError, 4),
    (google_error(404, "notFound", "Not Found"), NotFound, 1),
    (google_error(409, "duplicate", "The requested identifier already exists."), AlreadyExists, 1),
    (
        google_error(410, "fullSyncRequired", "Sync token is no longer valid", "calendar"),
        InvalidSyncToken,
        1,
    ),
    (
        google_error(410, "updatedMinTooLongAgo", "too far in the past", "calendar"),
        InvalidSyncToken,
        1,
    ),
    (google_error(410, "deleted", "Resource has been deleted"), Deleted, 1),
    (google_error(412, "conditionNotMet", "Precondition Failed"), PreconditionFailed, 1),
    (google_error(500, "backendError", "Backend Error"), TransientError, 4),
    (Reply(502, b"<html>bad gateway</html>", {"content-type": "text/html"}), TransientError, 4),
]


@pytest.mark.parametrize(("reply", "error", "tries"), CASES, ids=lambda c: getattr(c, "status", ""))
def test_each_google_error_maps_to_one_calsync_error(
    scripted: Scripted, make_http: MakeHttp, reply: Reply, error: type[Exception], tries: int
) -> None:
    scripted.script(reply)
    http = make_http()
    with pytest.raises(error):
        http.call("GET", "/calendar/v3/calendars/primary/events")
    assert len(scripted.seen) == tries
    assert len(http.sleep) == tries - 1  # type: ignore[arg-type]


def test_quota_error_is_not_a_deletion_and_deleted_is_not_found() -> None:
    assert issubclass(Deleted, NotFound)
    assert not issubclass(QuotaError, NotFound)
    assert QuotaError.retryable


def test_transient_error_then_success(scripted: Scripted, make_http: MakeHttp) -> None:
    scripted.script(google_error(503, "backendError"), Reply(200, {"items": []}))
    assert make_http().json("GET", "/calendar/v3/x") == {"items": []}
    assert len(scripted.seen) == 2


def test_backoff_honours_retry_after_then_gives_up(scripted: Scripted, make_http: MakeHttp) -> None:
    limited = google_error(429, "rateLimitExceeded", domain="usageLimits")
    limited.headers["Retry-After"] = "3"
    scripted.script(limited)
    http = make_http(backoff=Backoff(base=0.5, cap=8, max_tries=5))
    with pytest.raises(QuotaError) as info:
        http.call("GET", "/calendar/v3/x")
    assert len(scripted.seen) == 5
    assert len(http.sleep) == 4  # type: ignore[arg-type]
    assert all(3 <= d <= 8 for d in http.sleep)  # type: ignore[attr-defined]
    assert info.value.retry_after == 3


class _Ceiling(random.Random):
    """Draws the top of every jitter window, so the waits are the windows themselves."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_windows_grow_and_are_capped() -> None:
    policy = Backoff(base=1, cap=10, max_tries=6)
    assert [policy.window(n) for n in range(5)] == [1, 2, 4, 8, 10]
    waits: list[float] = []

    def failing() -> None:
        raise TransientError("503")

    with pytest.raises(TransientError):  # the tries are spent: the last error as it is
        policy.call(failing, sleep=waits.append, rng=_Ceiling())
    assert waits == [1, 2, 4, 8, 10]


def test_backoff_gives_up_at_once_on_a_retry_after_past_the_cap() -> None:
    waits: list[float] = []
    tries: list[int] = []

    def limited(after: float) -> None:
        tries.append(1)
        err = QuotaError("429")
        err.retry_after = after
        raise err

    with pytest.raises(QuotaError):
        Backoff(cap=10).call(lambda: limited(60), sleep=waits.append)
    assert (len(tries), waits) == (1, [])
    tries.clear()
    with pytest.raises(QuotaError):
        Backoff(base=1, cap=10, max_tries=2).call(lambda: limited(2), sleep=waits.append)
    assert len(tries) == 2 and 2 <= waits[0] <= 10  # Retry-After is a floor


def test_clients_told_the_same_retry_after_come_back_apart() -> None:
    """Twenty clients rate-limited with `Retry-After: 2` each wait at least 2 s, drawn apart
    by the jitter on top (up to the cap), instead of all coming back at the same instant."""
    waits: list[float] = []
    for seed in range(20):

        def limited() -> None:
            err = QuotaError("429 rateLimitExceeded")
            err.retry_after = 2
            raise err

        with pytest.raises(QuotaError):
            Backoff(base=1, cap=10, max_tries=2).call(
                limited, sleep=waits.append, rng=random.Random(seed)
            )
    assert len(waits) == 20 and all(2 <= w <= 3 for w in waits)
    assert len({round(w, 3) for w in waits}) > 15


def test_backoff_retries_only_retryable_errors() -> None:
    tries: list[int] = []

    def refused() -> None:
        tries.append(1)
        raise NotFound("404")

    with pytest.raises(NotFound):
        Backoff().call(refused, sleep=lambda s: None)
    assert len(tries) == 1


def test_401_invalidates_the_token_and_retries_once(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    class Rotating:
        def __init__(self) -> None:
            self.tokens = ["old", "new"]
            self.invalidated = 0

        def get_access_token(self) -> str:
            return self.tokens[0]

        def invalidate(self) -> None:
            self.invalidated += 1
            self.tokens.pop(0)

    auth = Rotating()
    scripted.script(google_error(401, "authError", "Invalid Credentials"), Reply(200, {"ok": 1}))
    assert make_http(auth=auth).json("GET", "/calendar/v3/x") == {"ok": 1}
    assert [s.headers["authorization"] for s in scripted.seen] == ["Bearer old", "Bearer new"]
    scripted.script(google_error(401, "authError", "Invalid Credentials"))
    with pytest.raises(AuthError):
        make_http().call("GET", "/calendar/v3/x")
    assert len(scripted.seen) == 1  # the static token cannot be refreshed


def test_non_idempotent_calls_are_not_retried_after_sending(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    scripted.script(google_error(503, "backendError"))
    with pytest.raises(TransientError):
        make_http().call("POST", "/tasks/v1/lists/x/tasks", json={}, idempotent=False)
    assert len(scripted.seen) == 1
    # ...but a rate limit means Google did nothing: safe to retry.
    scripted.script(google_error(429, "rateLimitExceeded"), Reply(200, {"id": "t1"}))
    assert make_http().json("POST", "/tasks/v1/lists/x/tasks", json={}, idempotent=False)
    assert len(scripted.seen) == 2


def test_connection_refused_is_retried_then_transient(make_http: MakeHttp) -> None:
    http = make_http(url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError):
        http.call("GET", "/calendar/v3/x")
    assert len(http.sleep) == 3  # type: ignore[arg-type]


def test_every_call_sends_quota_user_and_logs_no_token(
    scripted: Scripted, make_http: MakeHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make_http().call("GET", "/calendar/v3/x", params={"a": "b"})
    assert scripted.seen[0].query == {"a": "b", "quotaUser": "alice"}
    assert "request[alice]=GET /calendar/v3/x" in caplog.text
    assert "secret-token" not in caplog.text and "Bearer" not in caplog.text


def test_budget_counts_every_try_and_refuses_past_the_limit(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    alerts: list[BudgetAlert] = []
    budget = Budget(
        MemoryCounter(), user_limit=6, on_alert=alerts.append, today=lambda: date(2026, 1, 1)
    )
    scripted.script(google_error(500, "backendError"), Reply(200, {}))
    http = make_http(budget=budget)
    http.call("GET", "/calendar/v3/x")  # 2 tries
    assert budget.remaining("alice") == 4
    http.call("GET", "/calendar/v3/x")
    http.call("GET", "/calendar/v3/x")
    http.call("GET", "/calendar/v3/x")
    http.call("GET", "/calendar/v3/x")
    with pytest.raises(QuotaError):
        http.call("GET", "/calendar/v3/x")
    assert len(scripted.seen) == 6  # the refused call was never sent
    assert [a.threshold for a in alerts] == [0.5, 0.9, 1.0]  # the default thresholds


def test_budget_per_project_and_user_with_alerts_once_per_day() -> None:
    day = [date(2026, 1, 1)]
    alerts: list[BudgetAlert] = []
    budget = Budget(
        MemoryCounter(),
        project_limit=10,
        user_limit=8,
        thresholds=(0.5, 0.8, 1.0),
        on_alert=alerts.append,
        today=lambda: day[0],
    )
    for _ in range(5):
        budget.spend("a")
    assert [(a.scope, a.user, a.threshold) for a in alerts] == [
        ("user", "a", 0.5),
        ("project", None, 0.5),
    ]
    budget.spend("b", 3)
    assert ("project", 0.8) in [(a.scope, a.threshold) for a in alerts]
    with pytest.raises(QuotaError, match="project"):
        budget.spend("b", 3)
    assert budget.counter.calls_on(day[0]) == 8  # the refused calls were not counted
    budget.spend("b", 2)
    assert [(a.scope, a.threshold) for a in alerts].count(("project", 1.0)) == 1
    day[0] = date(2026, 1, 2)  # a new quota day starts from zero
    budget.spend("a", 4)
    assert budget.remaining("a") == 4


def test_batch_counts_each_call_and_retries_only_failed_parts(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    def multipart(*parts: tuple[int, int, str]) -> Reply:
        body = (
            "".join(
                f"--b\r\nContent-Type: application/http\r\nContent-ID: <response-item-{i}>\r\n\r\n"
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\r\n{doc}\r\n"
                for i, status, doc in parts
            )
            + "--b--\r\n"
        )
        return Reply(200, body.encode(), {"content-type": "multipart/mixed; boundary=b"})

    limited = google_error(403, "rateLimitExceeded").encoded().decode()
    scripted.script(
        multipart((1, 403, limited), (0, 200, '{"id": "a"}'), (2, 404, "{}")),
        multipart((0, 200, '{"id": "b"}')),
    )
    budget = Budget(MemoryCounter(), today=lambda: date(2026, 1, 1))
    http = make_http(budget=budget)
    calls = [BatchCall("GET", f"/calendar/v3/calendars/c/events/{x}") for x in "abc"]
    replies = http.batch("/batch/calendar/v3", calls)
    assert [r.status for r in replies] == [200, 200, 404]
    assert replies[1].body == {"id": "b"}
    assert budget.counter.calls_on(date(2026, 1, 1)) == 4
    first = scripted.seen[0]
    assert first.path == "/batch/calendar/v3"
    assert first.body.count(b"GET /calendar/v3/calendars/c/events/") == 3
    assert b"quotaUser=alice" in first.body
    assert scripted.seen[1].body.count(b"HTTP/1.1") == 1  # only the rate-limited part again


def _batch_reply(boundary: str, *parts: tuple[str, str, str]) -> bytes:
    return (
        "".join(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {cid}\r\n\r\n"
            f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f"{doc}\r\n"
            for cid, status, doc in parts
        )
        + f"--{boundary}--\r\n"
    ).encode()


def test_batch_reply_parts_go_to_their_calls_whatever_their_order() -> None:
    body = _batch_reply(
        "batch_zz",
        ("<response-item-2>", "404 Not Found", google_error(404, "notFound").encoded().decode()),
        ("<response-item-0>", "200 OK", '{"id": "a"}'),
        ("<response-item-1>", "200 OK", '{"id": "b"}'),
    )
    replies = parse_batch('multipart/mixed; boundary="batch_zz"', body, 4)
    assert [r.status for r in replies] == [200, 200, 404, 500]  # the fourth had no part
    assert [r.body.get("id") for r in replies[:2]] == ["a", "b"]
    assert replies[2].error is not None and replies[2].error.reason == "notFound"


def test_batch_reply_body_may_hold_boundary_like_text() -> None:
    """Only a boundary at the start of a line ends a part: text quoting it is content."""
    tricky = '{"id": "a", "description": "see --batch_zz and --batch_zz-- for caf\u00e9 notes"}'
    body = _batch_reply(
        "batch_zz",
        ("<response-item-0>", "200 OK", tricky),
        ("<response-item-1>", "200 OK", '{"id": "b", "summary": "Caf\u00e9 é"}'),
    )
    replies = parse_batch("multipart/mixed; boundary=batch_zz", body, 2)
    assert replies[0].body["description"] == "see --batch_zz and --batch_zz-- for café notes"
    assert replies[1].body == {"id": "b", "summary": "Café é"}


def test_batch_encoding_keeps_base_path_and_json_bodies() -> None:
    ctype, body = encode_batch(
        [BatchCall("PATCH", "/calendar/v3/x", {"a": "1"}, {"summary": "s"}, {"If-Match": '"e"'})],
        "/prefix",
    )
    assert ctype.startswith("multipart/mixed; boundary=")
    text = body.decode()
    assert "PATCH /prefix/calendar/v3/x?a=1 HTTP/1.1" in text
    assert 'If-Match: "e"' in text and '{"summary": "s"}' in text


def test_a_reply_that_is_not_json_is_a_calsync_error(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    scripted.script(Reply(200, b"<html>captive portal</html>", {"content-type": "text/html"}))
    with pytest.raises(TransientError, match="not JSON"):
        make_http().json("GET", "/calendar/v3/x")


def test_rate_limiter_waits_for_room_and_keeps_every_window_under_the_limit() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    rate = RateLimiter(
        per_user=5, per_project=8, window=60, max_wait=60, clock=lambda: now[0], sleep=sleep
    )
    stamps: list[tuple[float, str]] = []
    for n in range(12):
        user = "a" if n % 3 else "b"
        rate.acquire(user)
        stamps.append((now[0], user))
        now[0] += 1
    assert waits  # it had to wait
    for t, _ in stamps:
        window = [u for s, u in stamps if t - 60 < s <= t]
        assert len(window) <= 8 and window.count("a") <= 5 and window.count("b") <= 5
    impatient = RateLimiter(per_user=1, max_wait=5, clock=lambda: now[0], sleep=sleep)
    impatient.acquire("a")
    with pytest.raises(QuotaError, match="rate limit"):
        impatient.acquire("a")


def test_budget_with_rate_limiter_waits_before_counting() -> None:
    now = [0.0]
    rate = RateLimiter(
        per_user=2, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    budget = Budget(MemoryCounter(), user_limit=10, rate=rate, today=lambda: date(2026, 1, 1))
    for _ in range(4):
        budget.spend("a")
    # The third call waited for the first minute to pass (plus a little jitter).
    assert 60 <= now[0] <= 63
    assert budget.remaining("a") == 6


def test_unreadable_items_are_skipped_not_deleted(scripted: Scripted, make_http: MakeHttp) -> None:
    good = {
        "id": "good1",
        "etag": '"1"',
        "summary": "ok",
        "start": {"date": "2026-01-01"},
        "end": {"date": "2026-01-02"},
    }
    scripted.script(
        Reply(
            200,
            {
                "timeZone": "Europe/Rome",
                "nextSyncToken": "t1",
                "items": [
                    good,
                    {
                        "id": "bad01",
                        "start": {"dateTime": "yesterday"},
                        "end": {"dateTime": "today"},
                    },
                    {"id": "bad02", "summary": "no times"},
                    {"id": "gone1", "status": "cancelled"},
                ],
            },
        )
    )
    events = GoogleCalendarSide(make_http(), "primary").changes(None)
    assert [r.id for r in events.items] == ["good1"]
    assert events.skipped == ["bad01", "bad02"] and events.deleted == ["gone1"]
    assert events.cursor == "t1"
    scripted.script(
        Reply(
            200,
            {
                "items": [
                    {"id": "t1", "title": "ok", "updated": "2026-01-01T10:00:00.000Z"},
                    {
                        "id": "t2",
                        "title": "bad",
                        "due": "someday",
                        "updated": "2026-01-09T10:00:00.000Z",
                    },
                ]
            },
        )
    )
    tasks = GoogleTasksSide(make_http(), "list1").changes(None)
    assert [r.id for r in tasks.items] == ["t1"] and tasks.skipped == ["t2"]
    assert tasks.cursor == "2026-01-01T09:59:00.000Z"  # the skipped task moves no watermark


UNREADABLE_EVENT = {"id": "bad01", "etag": '"2"', "start": {"dateTime": "yesterday"}}
UNREADABLE_TASK = {"id": "t2", "etag": '"2"', "title": "bad", "due": "someday"}


def test_unreadable_item_read_by_id_is_invalid_item(
    scripted: Scripted, make_http: MakeHttp
) -> None:
    """An item Google holds but calsync cannot read is InvalidItem wherever it is read (a get,
    or the reply to a write), so the engine parks that one item instead of stopping."""
    calendar = GoogleCalendarSide(make_http(), "primary")
    tasks = GoogleTasksSide(make_http(), "list1")
    event = Event("ok", When.dates(date(2026, 1, 1), date(2026, 1, 2)))
    scripted.script(Reply(200, UNREADABLE_EVENT))
    with pytest.raises(InvalidItem, match="bad01"):
        calendar.get("bad01")
    with pytest.raises(InvalidItem, match="bad01"):
        calendar.update("bad01", event, '"1"')
    scripted.script(Reply(200, {"id": "bad01", "summary": "no times"}))
    with pytest.raises(InvalidItem, match="bad01"):
        calendar.get("bad01")
    scripted.script(Reply(200, UNREADABLE_TASK))
    with pytest.raises(InvalidItem, match="t2"):
        tasks.get("t2")
    with pytest.raises(InvalidItem, match="t2"):
        tasks.update("t2", Task("ok"), '"1"')
