"""To-dos between the CRM and Google Tasks (a watermark, no sync token), for both CRMs:
create, complete, edit and delete travel each way; hidden tasks are read; a quiet round writes
nothing; a wiped state re-links instead of duplicating."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from calsync.engine.pairs import Kind
from calsync.model import Task, TaskStatus, utcnow
from calsync.service import UserStatus
from calsync.sides.base import Side
from calsync.sides.vtiger.side import VtigerTasksSide
from tests.scenarios.drivers import LocalDriver, VtigerDriver
from tests.scenarios.world import World

pytestmark = pytest.mark.vtiger_php7

LIST = "@default"


@pytest.fixture
def todo_world(world: World) -> World:
    """The world with to-dos synced to alice's default task list."""
    world.prefs(tasklist=LIST)
    return world


# -- the CRM user's to-dos (the drivers only add and list them) --------------------------


def crm_tasks(world: World) -> Side[Task]:
    """Return alice's to-dos as the CRM's own UI sees them (no shared change feed)."""
    crm = world.crm
    if isinstance(crm, LocalDriver):
        return crm.crm.tasks_side(world.user)
    assert isinstance(crm, VtigerDriver)
    info = crm.backend.user(world.user)
    assert info is not None
    return VtigerTasksSide(crm.backend.client, info.crm_id, info.time_zone)


def crm_todos(world: World) -> dict[str, Task]:
    """Return alice's live CRM to-dos by title."""
    return {r.item.title: r.item for r in world.crm.tasks(world.user)}


def crm_edit(world: World, id: str, **changes: Any) -> None:
    side = crm_tasks(world)
    current = side.get(id)
    assert current is not None
    side.update(id, current.item.with_(**changes), current.etag)


def crm_delete(world: World, id: str) -> None:
    crm_tasks(world).delete(id, None)


# -- the Google user's task list (raw Tasks API calls) -----------------------------------


def tasks_url(world: World, task_id: str = "") -> str:
    url = f"{world.google_url}/tasks/v1/lists/{LIST}/tasks"
    return f"{url}/{task_id}" if task_id else url


def g_call(world: World, method: str, url: str, **kw: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {world.g.access_token}"}
    r = httpx.request(method, url, headers=headers, timeout=30, **kw)
    assert r.status_code in (200, 204), r.text
    return dict(r.json()) if r.status_code == 200 else {}


def g_tasks(world: World) -> dict[str, dict[str, Any]]:
    """Return the live Google tasks by title, hidden (cleared) ones included."""
    doc = g_call(
        world,
        "GET",
        tasks_url(world),
        params={"showHidden": "true", "showCompleted": "true", "maxResults": "100"},
    )
    items = doc.get("items", [])
    return {t["title"]: t for t in items if not t.get("deleted")}


def g_insert(world: World, body: dict[str, Any]) -> dict[str, Any]:
    return g_call(world, "POST", tasks_url(world), json=body)


def g_patch(world: World, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return g_call(world, "PATCH", tasks_url(world, task_id), json=body)


def g_delete(world: World, task_id: str) -> None:
    g_call(world, "DELETE", tasks_url(world, task_id))


def g_clear(world: World) -> None:
    g_call(world, "POST", f"{world.google_url}/tasks/v1/lists/{LIST}/clear")


def due_on(d: date) -> str:
    """Return `d` as Google writes a task's due date (the time of day is dropped)."""
    return f"{d.isoformat()}T00:00:00.000Z"


def in_days(n: int) -> date:
    return (utcnow() + timedelta(days=n)).date()


def synced(world: World) -> None:
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message


# -- tests --------------------------------------------------------------------------------


def test_todos_land_in_the_accounts_default_list(todo_world: World) -> None:
    """With `@default`, to-dos go to the account's own "My Tasks" list (its real id)."""
    accounts = todo_world.control("GET", "accounts")["accounts"]
    default = next(a["default_tasklist"] for a in accounts if a["email"] == todo_world.g.email)
    todo_world.crm.add_task("alice", Task("Book flights", due=in_days(6)))
    synced(todo_world)
    headers = {"Authorization": f"Bearer {todo_world.g.access_token}"}
    lists = httpx.get(f"{todo_world.google_url}/tasks/v1/users/@me/lists", headers=headers)
    assert [(x["id"], x["title"]) for x in lists.json()["items"]] == [(default, "My Tasks")]
    r = httpx.get(f"{todo_world.google_url}/tasks/v1/lists/{default}/tasks", headers=headers)
    assert [t["title"] for t in r.json()["items"]] == ["Book flights"]


def test_crm_todo_reaches_google_with_its_due_date(todo_world: World) -> None:
    """A CRM to-do is created on Google Tasks, open, with its title, notes and due date."""
    due = in_days(3)
    todo_world.crm.add_task("alice", Task("Call Bob", notes="about the offer", due=due))
    rep = todo_world.sync()
    assert rep.status is UserStatus.OK, rep.message
    tasks = g_tasks(todo_world)
    assert set(tasks) == {"Call Bob"}
    t = tasks["Call Bob"]
    assert t["due"] == due_on(due) and t["notes"] == "about the offer"
    assert t["status"] == "needsAction"
    assert len(todo_world.pairs(Kind.TASK)) == 1
    assert rep.rounds[1].google.created == 1


def test_google_task_reaches_crm(todo_world: World) -> None:
    """A task made on Google becomes an open CRM to-do with its due date (time of day dropped)."""
    due = in_days(5)
    made = g_insert(todo_world, {"title": "Renew licence", "due": f"{due}T15:30:00.000Z"})
    assert made["due"] == due_on(due)  # Google keeps only the date
    synced(todo_world)
    todos = crm_todos(todo_world)
    assert set(todos) == {"Renew licence"}
    assert todos["Renew licence"].due == due
    assert todos["Renew licence"].status is TaskStatus.OPEN


def test_completed_on_google_is_done_in_crm(todo_world: World) -> None:
    """Completing the task on Google marks the CRM to-do done."""
    todo_world.crm.add_task("alice", Task("Send invoice", due=in_days(1)))
    synced(todo_world)
    g_patch(todo_world, g_tasks(todo_world)["Send invoice"]["id"], {"status": "completed"})
    synced(todo_world)
    assert crm_todos(todo_world)["Send invoice"].status is TaskStatus.DONE


def test_hidden_completed_task_is_still_seen(todo_world: World) -> None:
    """A task completed then cleared (hidden) on Google still reaches the CRM as done."""
    todo_world.crm.add_task("alice", Task("File report", due=in_days(2)))
    synced(todo_world)
    g_patch(todo_world, g_tasks(todo_world)["File report"]["id"], {"status": "completed"})
    g_clear(todo_world)
    assert g_tasks(todo_world)["File report"].get("hidden") is True
    synced(todo_world)
    todos = crm_todos(todo_world)
    assert set(todos) == {"File report"}  # hidden is not deleted
    assert todos["File report"].status is TaskStatus.DONE


def test_crm_edit_reaches_google(todo_world: World) -> None:
    """A CRM edit of title, notes and due date is written over the Google task."""
    id = todo_world.crm.add_task("alice", Task("Draft", due=in_days(2)))
    synced(todo_world)
    g_id = g_tasks(todo_world)["Draft"]["id"]
    new_due = in_days(9)
    crm_edit(todo_world, id, title="Draft v2", notes="with figures", due=new_due)
    synced(todo_world)
    tasks = g_tasks(todo_world)
    assert set(tasks) == {"Draft v2"}
    t = tasks["Draft v2"]
    assert t["id"] == g_id and t["due"] == due_on(new_due) and t["notes"] == "with figures"


def test_crm_done_completes_the_google_task(todo_world: World) -> None:
    """Marking the CRM to-do done completes the Google task."""
    id = todo_world.crm.add_task("alice", Task("Pay rent", due=in_days(1)))
    synced(todo_world)
    crm_edit(todo_world, id, status=TaskStatus.DONE)
    synced(todo_world)
    assert g_tasks(todo_world)["Pay rent"]["status"] == "completed"


def test_crm_delete_deletes_the_google_task(todo_world: World) -> None:
    """Deleting the CRM to-do deletes the Google task and the pair."""
    id = todo_world.crm.add_task("alice", Task("Old chore", due=in_days(1)))
    synced(todo_world)
    assert set(g_tasks(todo_world)) == {"Old chore"}
    crm_delete(todo_world, id)
    synced(todo_world)
    assert g_tasks(todo_world) == {}
    assert todo_world.pairs(Kind.TASK) == []


def test_google_delete_deletes_the_crm_todo(todo_world: World) -> None:
    """Deleting the Google task deletes the CRM to-do and the pair."""
    todo_world.crm.add_task("alice", Task("Stale", due=in_days(1)))
    synced(todo_world)
    g_delete(todo_world, g_tasks(todo_world)["Stale"]["id"])
    synced(todo_world)
    assert crm_todos(todo_world) == {}
    assert todo_world.pairs(Kind.TASK) == []


def test_second_round_writes_nothing_to_tasks(todo_world: World) -> None:
    """Right after a round that synced to-dos both ways, the next round writes no task."""
    todo_world.crm.add_task("alice", Task("From CRM", due=in_days(2)))
    g_insert(todo_world, {"title": "From Google", "due": due_on(in_days(4))})
    synced(todo_world)
    todo_world.clear_log()
    rep = todo_world.sync()
    assert rep.status is UserStatus.OK, rep.message
    writes = [w for w in todo_world.google_writes() if w["path"].startswith("/tasks/")]
    assert writes == []
    for side in ("crm", "google"):
        c = rep.total(side)
        assert (c.created, c.updated, c.deleted) == (0, 0, 0), side


def test_wiped_state_relinks_without_duplicates(todo_world: World) -> None:
    """After the pairs and cursors are wiped, a round re-links the to-dos: no duplicates."""
    todo_world.crm.add_task("alice", Task("From CRM", due=in_days(2)))
    g_insert(todo_world, {"title": "From Google", "due": due_on(in_days(4))})
    synced(todo_world)
    before_g = {title: t["id"] for title, t in g_tasks(todo_world).items()}
    assert set(before_g) == {"From CRM", "From Google"}
    before_crm = {r.item.title: r.id for r in todo_world.crm.tasks("alice")}

    todo_world.store.wipe_pairs("alice")
    todo_world.store.wipe_cursors("alice")
    todo_world.store.commit()
    synced(todo_world)

    assert {title: t["id"] for title, t in g_tasks(todo_world).items()} == before_g
    assert {r.item.title: r.id for r in todo_world.crm.tasks("alice")} == before_crm
    assert len(todo_world.pairs(Kind.TASK)) == 2
