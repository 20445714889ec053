"""GoogleTasksSide against the Google emulator: watermark reads, hidden and deleted tasks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from calsync.errors import InvalidItem, TransientError
from calsync.model import Task, TaskStatus, utcnow
from calsync.sides.google.mapping import parse_time
from tests.sides.google.emulated import Google


def test_watermark_sees_hidden_completed_and_deleted_tasks(google: Google) -> None:
    side = google.tasks()
    a = side.create(Task("Call Bob", due=date(2026, 3, 10)), "crm:a")
    b = side.create(Task("Send offer", notes="v2"), "crm:b")
    c = side.create(Task("Old", status=TaskStatus.DONE), "crm:c")
    full = side.changes(None)
    assert full.full and full.cursor
    assert {r.id: r.item for r in full.items} == {
        a.id: Task("Call Bob", due=date(2026, 3, 10)),
        b.id: Task("Send offer", notes="v2"),
        c.id: Task("Old", status=TaskStatus.DONE),
    }

    google.control("POST", "clock", {"advance_seconds": 300})
    tasklist = google.account["default_tasklist"]
    done = google.raw(
        "PATCH", f"/tasks/v1/lists/{tasklist}/tasks/{a.id}", json={"status": "completed"}
    )
    assert done.is_success
    assert google.raw("POST", f"/tasks/v1/lists/{tasklist}/clear").is_success  # hides a and c
    side.delete(b.id, b.etag)
    side.delete(b.id, None)  # already deleted: fine
    inc = side.changes(full.cursor)
    assert not inc.full
    assert inc.deleted == [b.id]
    got = {r.id: r.item for r in inc.items}
    assert got[a.id].status is TaskStatus.DONE  # hidden and completed, still seen
    assert inc.cursor and parse_time(inc.cursor) > parse_time(full.cursor)

    query = google.requests(api_method="tasks.tasks.list")[-1]["query"]
    assert {k: query[k] for k in ("showDeleted", "showHidden", "showCompleted", "maxResults")} == {
        "showDeleted": ["true"],
        "showHidden": ["true"],
        "showCompleted": ["true"],
        "maxResults": ["100"],
    }
    assert query["updatedMin"] == [full.cursor]


def test_watermark_comes_from_google_clock_with_overlap(google: Google) -> None:
    google.control("POST", "clock", {"offset_seconds": 86400})  # Google's clock a day ahead
    side = google.tasks(overlap=timedelta(seconds=60))
    made = side.create(Task("x"), "crm:x")
    cursor = side.changes(None).cursor
    assert cursor is not None
    assert parse_time(cursor) > utcnow() + timedelta(hours=12)
    # The overlap makes the newest item come again; an empty round keeps the cursor.
    again = side.changes(cursor)
    assert [r.id for r in again.items] == [made.id]
    assert again.cursor == cursor


def test_all_pages_are_read_and_a_failed_read_gives_no_partial_result(google: Google) -> None:
    side = google.tasks(page_size=2)
    for n in range(5):
        side.create(Task(f"T{n}"), f"crm:{n}")
    assert len(side.changes(None).items) == 5
    google.control(
        "POST",
        "faults",
        {
            "status": 400,
            "reason": "badRequest",
            "count": 1,
            "path_prefix": "/tasks/v1",
            "method": "GET",
        },
    )
    with pytest.raises(InvalidItem):
        side.changes(None)
    pages = google.requests(api_method="tasks.tasks.list")
    assert [p["query"].get("pageToken") is not None for p in pages[:3]] == [False, True, True]


def test_reopen_clears_completion_and_due_round_trips(google: Google) -> None:
    side = google.tasks()
    made = side.create(Task("Ship", due=date(2026, 12, 31), status=TaskStatus.DONE), "crm:1")
    assert made.item.status is TaskStatus.DONE
    reopened = side.update(made.id, made.item.with_(status=TaskStatus.OPEN, due=None), made.etag)
    assert reopened.item == Task("Ship")
    raw = google.raw("GET", f"/tasks/v1/lists/{side.tasklist_id}/tasks/{made.id}").json()
    assert raw["status"] == "needsAction" and "completed" not in raw and "due" not in raw
    moved = side.update(made.id, Task("Ship", due=date(2027, 1, 2)), reopened.etag)
    assert raw["title"] == "Ship" and moved.item.due == date(2027, 1, 2)
    assert side.get(made.id) == moved


def test_task_insert_is_not_retried_after_an_unknown_outcome(google: Google) -> None:
    side = google.tasks()
    google.control(
        "POST",
        "faults",
        {
            "status": 503,
            "count": 1,
            "method": "POST",
            "path_prefix": "/tasks/v1",
            "mode": "apply_then_fail",
        },
    )
    with pytest.raises(TransientError):
        side.create(Task("Once", due=date(2026, 5, 1)), "crm:1")
    found = side.matching(Task("Once", due=date(2026, 5, 1)))
    assert len(found) == 1  # exactly one copy: the caller re-links it


def test_list_tasklists_and_missing_task(google: Google) -> None:
    side = google.tasks()
    lists = side.list_tasklists()
    assert [t.id for t in lists] == [google.account["default_tasklist"]]
    assert side.get("nosuchtask") is None


def test_get_many_reads_tasks_in_one_batch(google: Google) -> None:
    """The engine reads linked tasks by id in batches: live, deleted and unknown ids."""
    side = google.tasks()
    a = side.create(Task("Call Bob"), "crm:a")
    b = side.create(Task("Send offer"), "crm:b")
    side.delete(b.id, None)
    google.control("DELETE", "stats")
    found = side.get_many([a.id, b.id, "nosuchtask"])
    assert found[a.id] is not None and found[a.id].item.title == "Call Bob"  # type: ignore[union-attr]
    assert found[b.id] is None and found["nosuchtask"] is None
    stats = google.control("GET", "stats")
    assert stats["batches"] == 1 and stats["total"] == 3
