"""Tasks v1: lists, due dates, completion stamps, tombstones, paging and updatedMin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from .conftest import Emu

T = "/tasks/v1/lists/@default/tasks"


@pytest.fixture
def tasks(emu: Emu, alice: dict[str, Any]) -> Any:
    return emu.tasks(alice)


def test_default_list_and_insert_list(tasks: Any) -> None:
    lists = tasks.tasklists().list().execute()
    assert lists["kind"] == "tasks#taskLists"
    assert [tl["title"] for tl in lists["items"]] == ["My Tasks"]
    made = tasks.tasklists().insert(body={"title": "CRM"}).execute()
    assert made["kind"] == "tasks#taskList"
    assert tasks.tasklists().get(tasklist=made["id"]).execute()["title"] == "CRM"
    default = tasks.tasklists().get(tasklist="@default").execute()
    assert default["id"] == lists["items"][0]["id"]


def test_due_keeps_utc_date_only(tasks: Any) -> None:
    t = (
        tasks.tasks()
        .insert(tasklist="@default", body={"title": "Call", "due": "2025-03-10T15:45:00.000Z"})
        .execute()
    )
    assert t["due"] == "2025-03-10T00:00:00.000Z"
    # 00:30 in Rome is still the previous day in UTC.
    t2 = (
        tasks.tasks()
        .patch(tasklist="@default", task=t["id"], body={"due": "2025-03-10T00:30:00+01:00"})
        .execute()
    )
    assert t2["due"] == "2025-03-09T00:00:00.000Z"
    assert t2["kind"] == "tasks#task" and t2["status"] == "needsAction"
    assert "completed" not in t2


def test_completed_stamped_and_cleared(emu: Emu, tasks: Any) -> None:
    t = tasks.tasks().insert(tasklist="@default", body={"title": "Do"}).execute()
    now = emu.control("GET", "clock")["now"]
    done = (
        tasks.tasks()
        .patch(tasklist="@default", task=t["id"], body={"status": "completed"})
        .execute()
    )
    assert done["status"] == "completed" and done["completed"] >= now[:19]
    reopened = (
        tasks.tasks()
        .patch(tasklist="@default", task=t["id"], body={"status": "needsAction", "completed": None})
        .execute()
    )
    assert reopened["status"] == "needsAction" and "completed" not in reopened


def test_update_replaces(tasks: Any) -> None:
    t = (
        tasks.tasks()
        .insert(
            tasklist="@default", body={"title": "A", "notes": "n", "due": "2025-01-01T00:00:00Z"}
        )
        .execute()
    )
    out = (
        tasks.tasks()
        .update(tasklist="@default", task=t["id"], body={"id": t["id"], "title": "B"})
        .execute()
    )
    assert out["title"] == "B" and "notes" not in out and "due" not in out


def test_deleted_tombstones_only_with_show_deleted(tasks: Any) -> None:
    t = tasks.tasks().insert(tasklist="@default", body={"title": "Gone"}).execute()
    tasks.tasks().delete(tasklist="@default", task=t["id"]).execute()
    assert tasks.tasks().list(tasklist="@default").execute().get("items", []) == []
    shown = tasks.tasks().list(tasklist="@default", showDeleted=True).execute()["items"]
    assert [(x["id"], x["deleted"]) for x in shown] == [(t["id"], True)]
    assert tasks.tasks().get(tasklist="@default", task=t["id"]).execute()["deleted"] is True


def test_paging_default_20_max_100(emu: Emu, alice: dict[str, Any]) -> None:
    raw = emu.raw(alice)
    for i in range(25):
        raw.post(T, json={"title": f"t{i:02d}"})
    first = raw.get(T).json()
    assert len(first["items"]) == 20 and "nextPageToken" in first
    second = raw.get(T, params={"pageToken": first["nextPageToken"]}).json()
    assert len(second["items"]) == 5 and "nextPageToken" not in second
    titles = [x["title"] for x in first["items"] + second["items"]]
    assert sorted(titles) == [f"t{i:02d}" for i in range(25)]
    assert titles[0] == "t24"  # new tasks go to the top
    assert len(raw.get(T, params={"maxResults": 1000}).json()["items"]) == 25
    two = raw.get(T, params={"maxResults": 2}).json()
    assert len(two["items"]) == 2


def test_updated_min_incremental_read(emu: Emu, alice: dict[str, Any]) -> None:
    raw = emu.raw(alice)
    old = raw.post(T, json={"title": "old"}).json()
    gone = raw.post(T, json={"title": "gone"}).json()
    emu.control("POST", "clock", {"advance_seconds": 60})
    mark = emu.control("GET", "clock")["now"]
    emu.control("POST", "clock", {"advance_seconds": 1})
    raw.post(T, json={"title": "fresh"})
    raw.delete(f"{T}/{gone['id']}")
    params = {"updatedMin": mark, "showDeleted": "true", "showHidden": "true"}
    items = raw.get(T, params=params).json()["items"]
    assert sorted((x["title"], x.get("deleted", False)) for x in items) == [
        ("fresh", False),
        ("gone", True),
    ]
    assert old["id"] not in [x["id"] for x in items]


def test_show_completed_and_hidden(emu: Emu, alice: dict[str, Any]) -> None:
    raw = emu.raw(alice)
    done = raw.post(T, json={"title": "done", "status": "completed"}).json()
    assert done["completed"]
    raw.post(T, json={"title": "open"})
    assert len(raw.get(T).json()["items"]) == 2
    only_open = raw.get(T, params={"showCompleted": "false"}).json()["items"]
    assert [x["title"] for x in only_open] == ["open"]
    assert raw.post("/tasks/v1/lists/@default/clear").status_code == 204
    assert [x["title"] for x in raw.get(T).json()["items"]] == ["open"]
    hidden = raw.get(T, params={"showHidden": "true"}).json()["items"]
    assert {x["title"]: x.get("hidden", False) for x in hidden} == {"done": True, "open": False}


def test_move_and_unknown_task(tasks: Any) -> None:
    a = tasks.tasks().insert(tasklist="@default", body={"title": "a"}).execute()
    b = tasks.tasks().insert(tasklist="@default", body={"title": "b"}).execute()
    moved = tasks.tasks().move(tasklist="@default", task=b["id"], previous=a["id"]).execute()
    listed = tasks.tasks().list(tasklist="@default").execute()["items"]
    assert [x["title"] for x in listed] == ["a", "b"]
    assert moved["position"] > listed[0]["position"]
    child = tasks.tasks().insert(tasklist="@default", parent=a["id"], body={"title": "c"}).execute()
    assert child["parent"] == a["id"]
    with pytest.raises(HttpError) as err:
        tasks.tasks().get(tasklist="@default", task="nope").execute()
    assert err.value.resp.status == 404


def test_invalid_status_is_400(emu: Emu, alice: dict[str, Any]) -> None:
    raw: httpx.Client = emu.raw(alice)
    resp = raw.post(T, json={"title": "x", "status": "done"})
    assert resp.status_code == 400
    assert resp.json()["error"]["errors"][0]["reason"] == "invalid"


def test_tasks_if_match_ignored_unless_strict(emu: Emu, alice: dict[str, Any]) -> None:
    raw = emu.raw(alice)
    t = raw.post(T, json={"title": "a"}).json()
    raw.patch(f"{T}/{t['id']}", json={"title": "b"})
    stale = {"If-Match": t["etag"]}
    assert raw.patch(f"{T}/{t['id']}", json={"title": "c"}, headers=stale).status_code == 200
    emu.control("POST", "config", {"tasks_strict_if_match": True})
    assert raw.patch(f"{T}/{t['id']}", json={"title": "d"}, headers=stale).status_code == 412
