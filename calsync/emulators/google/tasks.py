"""Tasks API v1: task lists and tasks, with Google's `due` date-only rule, completion stamps,
soft-deleted tombstones and `updatedMin` incremental reads, as Google Tasks v1 does."""

from __future__ import annotations

import copy
import secrets
import string
from datetime import UTC
from typing import Any

from calsync.emulators.google.errors import ApiError, invalid, not_found, precondition_failed
from calsync.emulators.google.eventmodel import etag, merge, rfc3339_now
from calsync.emulators.google.store import Json, Store, TaskListRec, TaskRec
from calsync.emulators.google.synctokens import decode_page, encode_page
from calsync.emulators.google.times import parse_dt
from calsync.emulators.google.wire import Ctx, Resp, Route, no_content, ok

_ID_CHARS = string.ascii_letters + string.digits
_WRITABLE = ("title", "notes", "status", "due", "completed")
ROOT = "https://tasks.googleapis.com/tasks/v1"


def _new_id() -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(22))


def new_tasklist(store: Store, owner: str, title: str) -> TaskListRec:
    """Create a task list owned by `owner`."""
    list_id = _new_id()
    mod = store.next_mod()
    res: Json = {
        "kind": "tasks#taskList",
        "id": list_id,
        "etag": etag(mod),
        "title": title,
        "updated": rfc3339_now(store.now_dt()),
        "selfLink": f"{ROOT}/users/@me/lists/{list_id}",
    }
    rec = TaskListRec(owner, res, mod)
    store.tasklists[list_id] = rec
    store.tasks[list_id] = {}
    store.touch("tasklist", list_id)
    return rec


def _tasklist(ctx: Ctx, tasklist: str) -> TaskListRec:
    store = ctx.emu.store
    if tasklist == "@default":
        tasklist = store.accounts[ctx.account].default_tasklist
    rec = store.tasklists.get(tasklist)
    if rec is None or rec.owner != ctx.account:
        raise not_found()
    return rec


def _page(
    items: list[tuple[Json, list[Any]]], token: str | None, size: int
) -> tuple[list[Json], str | None]:
    if token:
        last = decode_page(token)["k"]
        items = [pair for pair in items if pair[1] > last]
    next_token = encode_page({"k": items[size - 1][1]}) if len(items) > size else None
    return [res for res, _ in items[:size]], next_token


def _size(ctx: Ctx, default: int, cap: int) -> int:
    size = ctx.req.qint("maxResults")
    if size is None:
        return default
    if size < 1:
        raise invalid("Invalid value for maxResults.", "maxResults")
    return min(size, cap)


# -- task lists ------------------------------------------------------------------------------
def _lists_list(ctx: Ctx) -> Resp:
    store = ctx.emu.store
    mine = [r for r in store.tasklists.values() if r.owner == ctx.account]
    default = store.accounts[ctx.account].default_tasklist
    mine.sort(key=lambda r: (r.res["id"] != default, r.mod))
    items = [(r.res, [int(r.res["id"] != default), r.mod]) for r in mine]
    page, token = _page(items, ctx.req.q("pageToken"), _size(ctx, 1000, 1000))
    body: Json = {"kind": "tasks#taskLists", "etag": etag(store.counter), "items": page}
    if token:
        body["nextPageToken"] = token
    return ok(body)


def _lists_get(ctx: Ctx, tasklist: str) -> Resp:
    return ok(_tasklist(ctx, tasklist).res)


def _lists_insert(ctx: Ctx) -> Resp:
    title = ctx.req.json().get("title")
    if not isinstance(title, str) or not title:
        raise ApiError(400, "invalid", "Invalid task list title.", domain="global")
    return ok(new_tasklist(ctx.emu.store, ctx.account, title).res)


def _lists_write(ctx: Ctx, tasklist: str) -> Resp:
    rec = _tasklist(ctx, tasklist)
    title = ctx.req.json().get("title")
    if isinstance(title, str) and title:
        rec.res["title"] = title
    store = ctx.emu.store
    rec.mod = store.next_mod()
    rec.res["etag"], rec.res["updated"] = etag(rec.mod), rfc3339_now(store.now_dt())
    store.touch("tasklist", rec.res["id"])
    return ok(rec.res)


def _lists_delete(ctx: Ctx, tasklist: str) -> Resp:
    rec = _tasklist(ctx, tasklist)
    store = ctx.emu.store
    if rec.res["id"] == store.accounts[ctx.account].default_tasklist:
        raise ApiError(400, "invalid", "Invalid Value", domain="global")
    del store.tasklists[rec.res["id"]]
    store.touch("tasklist", rec.res["id"])
    for task_id in store.tasks.pop(rec.res["id"], {}):
        store.touch("task", rec.res["id"], task_id)
    return no_content()


# -- tasks ------------------------------------------------------------------------------------
def _due(value: Any) -> str:
    """Keep only the date of `due`: the UTC date of the instant (open question 3)."""
    try:
        dt = parse_dt(str(value), UTC).astimezone(UTC)
    except ValueError:
        raise invalid("Invalid value for: due", "due") from None
    return dt.strftime("%Y-%m-%dT00:00:00.000Z")


def _normalise(res: Json, old: Json | None, now: str) -> Json:
    status = res.get("status") or "needsAction"
    if status not in ("needsAction", "completed"):
        raise invalid("Invalid value for: status", "status")
    res["status"] = status
    if res.get("due") is not None:
        res["due"] = _due(res["due"])
    if status == "completed":
        if res.get("completed"):
            res["completed"] = rfc3339_now(parse_dt(str(res["completed"]), UTC).astimezone(UTC))
        else:
            was = old.get("completed") if old and old.get("status") == "completed" else None
            res["completed"] = was or now
    else:
        res.pop("completed", None)  # reopened: Google clears the stamp
    for key in ("title", "notes"):
        if key in res and not isinstance(res[key], str):
            raise invalid(f"Invalid value for: {key}", key)
    return res


def _position(rec: TaskRec) -> str:
    return f"{int(rec.order * 1000) + 10**15:020d}"


def _render(rec: TaskRec) -> Json:
    out = copy.deepcopy(rec.res)
    out["position"] = _position(rec)
    return out


def _save(store: Store, list_id: str, rec: TaskRec) -> TaskRec:
    rec.mod = store.next_mod()
    rec.res["etag"] = etag(rec.mod)
    store.tasks.setdefault(list_id, {})[rec.res["id"]] = rec
    store.touch("task", list_id, rec.res["id"])
    return rec


def _find(ctx: Ctx, list_id: str, task_id: str) -> TaskRec:
    rec = ctx.emu.store.tasks.get(list_id, {}).get(task_id)
    if rec is None:
        raise not_found()
    return rec


def _check_if_match(ctx: Ctx, rec: TaskRec) -> None:
    wanted = ctx.req.headers.get("if-match")
    strict = ctx.emu.store.config.tasks_strict_if_match
    if strict and wanted not in (None, "*") and wanted != rec.res.get("etag"):
        raise precondition_failed()


def _place(store: Store, list_id: str, parent: str | None, previous: str | None) -> float:
    """Return an `order` that puts a task first among its siblings, or right after `previous`."""
    siblings = sorted(
        (
            r
            for r in store.tasks.get(list_id, {}).values()
            if r.res.get("parent") == parent and not r.res.get("deleted")
        ),
        key=lambda r: r.order,
    )
    if not previous:
        return siblings[0].order - 1 if siblings else 0.0
    idx = next((i for i, r in enumerate(siblings) if r.res["id"] == previous), None)
    if idx is None:
        raise ApiError(
            400,
            "invalid",
            "Invalid Value",
            domain="global",
            location="previous",
            location_type="parameter",
        )
    after = siblings[idx + 1].order if idx + 1 < len(siblings) else siblings[idx].order + 2
    return (siblings[idx].order + after) / 2


def _tasks_list(ctx: Ctx, tasklist: str) -> Resp:
    req, store = ctx.req, ctx.emu.store
    tl = _tasklist(ctx, tasklist)
    show_deleted = req.qbool("showDeleted", False)
    show_hidden = req.qbool("showHidden", False)
    show_completed = req.qbool("showCompleted", True)
    bounds = {}
    for name in ("updatedMin", "dueMin", "dueMax", "completedMin", "completedMax"):
        value = req.q(name)
        if value:
            try:
                bounds[name] = parse_dt(value).astimezone(UTC)
            except ValueError:
                raise invalid(f"Invalid value for: {name}", name) from None

    def keep(res: Json) -> bool:
        if res.get("deleted") and not show_deleted:
            return False
        if res.get("hidden") and not show_hidden:
            return False
        if res.get("status") == "completed" and not show_completed:
            return False
        for name, field, low in (
            ("updatedMin", "updated", True),
            ("dueMin", "due", True),
            ("dueMax", "due", False),
            ("completedMin", "completed", True),
            ("completedMax", "completed", False),
        ):
            if name in bounds:
                if not res.get(field):
                    return False
                value = parse_dt(res[field])
                if (value < bounds[name]) if low else (value >= bounds[name]):
                    return False
        return True

    recs = sorted(store.tasks.get(tl.res["id"], {}).values(), key=lambda r: (r.order, r.res["id"]))
    items = [(_render(r), [r.order, r.res["id"]]) for r in recs if keep(r.res)]
    page, token = _page(items, req.q("pageToken"), _size(ctx, 20, 100))
    body: Json = {"kind": "tasks#tasks", "etag": etag(store.counter), "items": page}
    if token:
        body["nextPageToken"] = token
    return ok(body)


def _tasks_get(ctx: Ctx, tasklist: str, task: str) -> Resp:
    return ok(_render(_find(ctx, _tasklist(ctx, tasklist).res["id"], task)))


def _tasks_insert(ctx: Ctx, tasklist: str) -> Resp:
    store = ctx.emu.store
    list_id = _tasklist(ctx, tasklist).res["id"]
    parent = ctx.req.q("parent") or None
    if parent:
        _find(ctx, list_id, parent)
    body = ctx.req.json()
    now = rfc3339_now(store.now_dt())
    task_id = _new_id()
    res: Json = {
        "kind": "tasks#task",
        "id": task_id,
        "etag": "",
        "title": "",
        "updated": now,
        "selfLink": f"{ROOT}/lists/{list_id}/tasks/{task_id}",
        "webViewLink": f"https://tasks.google.com/task/{task_id}",
        "links": [],
    }
    res.update({k: v for k, v in body.items() if k in _WRITABLE and v is not None})
    if parent:
        res["parent"] = parent
    res = _normalise(res, None, now)
    order = _place(store, list_id, parent, ctx.req.q("previous"))
    return ok(_render(_save(store, list_id, TaskRec(res, 0, order))))


def _write(ctx: Ctx, tasklist: str, task: str, patch: bool) -> Resp:
    store = ctx.emu.store
    list_id = _tasklist(ctx, tasklist).res["id"]
    rec = _find(ctx, list_id, task)
    _check_if_match(ctx, rec)
    body = {k: v for k, v in ctx.req.json().items() if k in _WRITABLE}
    if patch:
        new = merge(rec.res, body)
    else:
        new = {k: v for k, v in rec.res.items() if k not in _WRITABLE}
        new.update({k: v for k, v in body.items() if v is not None})
    now = rfc3339_now(store.now_dt())
    new["updated"] = now
    rec.res = _normalise(new, rec.res, now)
    return ok(_render(_save(store, list_id, rec)))


def _tasks_update(ctx: Ctx, tasklist: str, task: str) -> Resp:
    return _write(ctx, tasklist, task, patch=False)


def _tasks_patch(ctx: Ctx, tasklist: str, task: str) -> Resp:
    return _write(ctx, tasklist, task, patch=True)


def _tasks_delete(ctx: Ctx, tasklist: str, task: str) -> Resp:
    store = ctx.emu.store
    list_id = _tasklist(ctx, tasklist).res["id"]
    rec = _find(ctx, list_id, task)
    _check_if_match(ctx, rec)
    if not rec.res.get("deleted"):
        rec.res["deleted"] = True
        rec.res["updated"] = rfc3339_now(store.now_dt())
        _save(store, list_id, rec)
    return no_content()


def _tasks_move(ctx: Ctx, tasklist: str, task: str) -> Resp:
    store, req = ctx.emu.store, ctx.req
    list_id = _tasklist(ctx, tasklist).res["id"]
    rec = _find(ctx, list_id, task)
    dest = _tasklist(ctx, req.q("destinationTasklist") or list_id).res["id"]
    parent = req.q("parent") or None
    if parent:
        _find(ctx, dest, parent)
    if dest != list_id:
        del store.tasks[list_id][task]
        store.touch("task", list_id, task)
        rec.res["selfLink"] = f"{ROOT}/lists/{dest}/tasks/{task}"
    rec.res.pop("parent", None)
    if parent:
        rec.res["parent"] = parent
    rec.order = _place(store, dest, parent, req.q("previous"))
    rec.res["updated"] = rfc3339_now(store.now_dt())
    return ok(_render(_save(store, dest, rec)))


def _tasks_clear(ctx: Ctx, tasklist: str) -> Resp:
    store = ctx.emu.store
    list_id = _tasklist(ctx, tasklist).res["id"]
    for rec in store.tasks.get(list_id, {}).values():
        if rec.res.get("status") == "completed" and not rec.res.get("hidden"):
            rec.res["hidden"] = True
            rec.res["updated"] = rfc3339_now(store.now_dt())
            _save(store, list_id, rec)
    return no_content()


_L = "/tasks/v1/users/@me/lists"
_T = "/tasks/v1/lists/{tasklist}/tasks"
ROUTES = [
    Route("GET", _L, "tasks.tasklists.list", _lists_list, "tasks", False),
    Route("POST", _L, "tasks.tasklists.insert", _lists_insert, "tasks", True),
    Route("GET", _L + "/{tasklist}", "tasks.tasklists.get", _lists_get, "tasks", False),
    Route("PATCH", _L + "/{tasklist}", "tasks.tasklists.patch", _lists_write, "tasks", True),
    Route("PUT", _L + "/{tasklist}", "tasks.tasklists.update", _lists_write, "tasks", True),
    Route("DELETE", _L + "/{tasklist}", "tasks.tasklists.delete", _lists_delete, "tasks", True),
    Route("GET", _T, "tasks.tasks.list", _tasks_list, "tasks", False),
    Route("POST", _T, "tasks.tasks.insert", _tasks_insert, "tasks", True),
    Route(
        "POST", "/tasks/v1/lists/{tasklist}/clear", "tasks.tasks.clear", _tasks_clear, "tasks", True
    ),
    Route("POST", _T + "/{task}/move", "tasks.tasks.move", _tasks_move, "tasks", True),
    Route("GET", _T + "/{task}", "tasks.tasks.get", _tasks_get, "tasks", False),
    Route("PUT", _T + "/{task}", "tasks.tasks.update", _tasks_update, "tasks", True),
    Route("PATCH", _T + "/{task}", "tasks.tasks.patch", _tasks_patch, "tasks", True),
    Route("DELETE", _T + "/{task}", "tasks.tasks.delete", _tasks_delete, "tasks", True),
]
