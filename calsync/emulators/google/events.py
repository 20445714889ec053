"""events.get/insert/update/patch/delete/import/move routes, watch and channels.stop (push.py
keeps the channels); lists live in eventlist.py. Writes keep Google's id, etag, sequence and
soft-delete rules."""

from __future__ import annotations

import copy
import secrets
from datetime import timedelta
from typing import Any

from calsync.emulators.google.calendar import resolve, role_of
from calsync.emulators.google.errors import (
    ApiError,
    deleted,
    duplicate,
    not_found,
    precondition_failed,
    required,
)
from calsync.emulators.google.eventmodel import (
    READ_ONLY,
    check_id,
    etag,
    html_link,
    in_zone,
    instance_from,
    merge,
    next_sequence,
    only_reminders_changed,
    parse_suffix,
    render,
    rfc3339_now,
    validate,
)
from calsync.emulators.google.recurrence import expand
from calsync.emulators.google.store import Calendar, EventRec, Json, Store
from calsync.emulators.google.times import parse_dt, zone
from calsync.emulators.google.wire import Ctx, Resp, Route, no_content, ok

_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
# Server-owned fields kept from the stored copy on update/patch.
_IMMUTABLE = (
    "kind",
    "id",
    "htmlLink",
    "created",
    "creator",
    "organizer",
    "iCalUID",
    "recurringEventId",
    "originalStartTime",
    "eventType",
)


def save(store: Store, cal: Calendar, res: Json) -> EventRec:
    """Store `res` under the next change number with a fresh etag."""
    mod = store.next_mod()
    res["etag"] = etag(mod)
    rec = EventRec(res, mod)
    store.events.setdefault(cal.id, {})[res["id"]] = rec
    store.touch("event", cal.id, res["id"])
    return rec


def find(store: Store, cal: Calendar, event_id: str) -> tuple[EventRec | None, Json]:
    """Return (stored record or None, current resource); never-materialised instances of a
    series are generated from the master. Unknown ids raise 404."""
    recs = store.events.get(cal.id, {})
    if event_id in recs:
        return recs[event_id], recs[event_id].res
    master_id, sep, suffix = event_id.rpartition("_")
    master = recs.get(master_id) if sep else None
    at = parse_suffix(suffix)
    if master is not None and master.res.get("recurrence") and at is not None:
        window = expand(master.res, cal.time_zone, at - timedelta(days=2), at + timedelta(days=2))
        for occ in window:
            if occ.suffix == suffix:
                return None, instance_from(master, occ)
    raise not_found()


def _check_if_match(ctx: Ctx, current: Json) -> None:
    wanted = ctx.req.headers.get("if-match")
    if wanted is None or wanted.strip() == "*":
        return
    if wanted.strip().removeprefix("W/") != current.get("etag"):
        raise precondition_failed()


def _strip(body: Json, keep_organizer: bool = False) -> Json:
    return {
        k: v for k, v in body.items() if k not in READ_ONLY or (keep_organizer and k == "organizer")
    }


def _organizer(cal: Calendar) -> Json:
    if cal.primary:
        return {"email": cal.id}
    return {"email": cal.id, "displayName": cal.summary}


def _new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(26))


def _exception_id(store: Store, cal: Calendar, body: Json) -> str:
    """Return the instance id an insert with recurringEventId + originalStartTime targets."""
    master = store.events.get(cal.id, {}).get(str(body["recurringEventId"]))
    original = body["originalStartTime"]
    if master is None or not isinstance(original, dict):
        raise not_found()
    if "date" in original:
        return f"{master.res['id']}_{str(original['date']).replace('-', '')}"
    try:
        tz = zone(original["timeZone"]) if original.get("timeZone") else None
        at = parse_dt(str(original.get("dateTime")), tz)
    except ValueError:
        raise ApiError(400, "invalid", "Invalid originalStartTime.", domain="global") from None
    return f"{master.res['id']}_{at.astimezone(zone('UTC')).strftime('%Y%m%dT%H%M%SZ')}"


def create(ctx: Ctx, cal: Calendar, body: Json, importing: bool = False) -> Json:
    """Insert a new event from a client body; return the stored resource."""
    store = ctx.emu.store
    recs = store.events.setdefault(cal.id, {})
    extra: Json = {}
    if body.get("id") is not None:
        event_id = check_id(body["id"])
    elif body.get("recurringEventId") and body.get("originalStartTime"):
        event_id = _exception_id(store, cal, body)
        extra = {
            "recurringEventId": body["recurringEventId"],
            "originalStartTime": body["originalStartTime"],
        }
    else:
        event_id = _new_id()
    if event_id in recs:
        # Google keeps deleted ids reserved too (observed): a re-insert is a 409, not an undelete.
        raise duplicate()
    res = validate(_strip(body, keep_organizer=importing), cal)
    now = rfc3339_now(store.now_dt())
    head: Json = {
        "kind": "calendar#event",
        "etag": "",
        "id": event_id,
        "status": res.pop("status", "confirmed"),
        "htmlLink": html_link(event_id, cal.id),
        "created": now,
        "updated": now,
    }
    res = {**head, **res, **extra}
    res["creator"] = {"email": ctx.account}
    if not (importing and isinstance(res.get("organizer"), dict)):
        res["organizer"] = _organizer(cal)
    res.setdefault("iCalUID", f"{event_id}@google.com")
    res["sequence"] = int(res.get("sequence") or 0)
    res.setdefault("reminders", {"useDefault": True})
    res.setdefault("eventType", "default")
    return save(store, cal, res).res


def replace(ctx: Ctx, cal: Calendar, current: Json, new: Json, supplied_seq: Any) -> Json:
    """Store `new` as the next version of `current` (keeping server-owned fields)."""
    store = ctx.emu.store
    keep = {k: current[k] for k in _IMMUTABLE if k in current}
    if "recurringEventId" in current:
        new.pop("recurrence", None)
    head: Json = {
        "kind": "calendar#event",
        "etag": current.get("etag"),
        "id": current["id"],
        "status": new.pop("status", "confirmed"),
    }
    res = {
        **head,
        **{k: v for k, v in current.items() if k in ("htmlLink", "created")},
        "updated": current.get("updated"),
        **new,
        **keep,
    }
    res["sequence"] = next_sequence(current, res, supplied_seq)
    res.setdefault("reminders", {"useDefault": True})
    if not only_reminders_changed(current, res):
        res["updated"] = rfc3339_now(store.now_dt())
    return save(store, cal, res).res


def _get(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    cal = resolve(ctx, calendarId)
    _, current = find(ctx.emu.store, cal, eventId)
    inm = ctx.req.headers.get("if-none-match")
    if inm is not None and inm.strip().removeprefix("W/") == current.get("etag"):
        return Resp(304, None, {"ETag": str(current.get("etag"))})
    role = role_of(cal, ctx.account)
    return ok(in_zone(render(current, ctx.account, role), ctx.req.q("timeZone")))


def _insert(ctx: Ctx, calendarId: str) -> Resp:
    cal = resolve(ctx, calendarId, write=True)
    return ok(render(create(ctx, cal, ctx.req.json()), ctx.account))


def _import(ctx: Ctx, calendarId: str) -> Resp:
    cal = resolve(ctx, calendarId, write=True)
    body = ctx.req.json()
    uid = body.get("iCalUID")
    if not uid:
        raise required("Missing iCalUID.", "iCalUID")
    for rec in ctx.emu.store.events.get(cal.id, {}).values():
        if rec.res.get("iCalUID") == uid and "recurringEventId" not in rec.res:
            new = validate(_strip(body, keep_organizer=True), cal)
            new.pop("id", None)
            return ok(render(replace(ctx, cal, rec.res, new, None), ctx.account))
    return ok(render(create(ctx, cal, body, importing=True), ctx.account))


def _update(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    cal = resolve(ctx, calendarId, write=True)
    _, current = find(ctx.emu.store, cal, eventId)
    _check_if_match(ctx, current)
    body = ctx.req.json()
    new = _strip(body)
    new.pop("id", None)
    new = validate(new, cal)
    return ok(render(replace(ctx, cal, current, new, body.get("sequence")), ctx.account))


def _patch_times(current: Json, patch: Json) -> Json:
    """Let a patch switch start/end between date and dateTime without nulling the other key."""
    out = copy.deepcopy(current)
    for key in ("start", "end"):
        value = patch.get(key)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            if "date" in value and "dateTime" not in value:
                out[key].pop("dateTime", None)
                out[key].pop("timeZone", None)
            elif "dateTime" in value and "date" not in value:
                out[key].pop("date", None)
    return out


def _patch(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    cal = resolve(ctx, calendarId, write=True)
    _, current = find(ctx.emu.store, cal, eventId)
    _check_if_match(ctx, current)
    body = ctx.req.json()
    patch = _strip(body)
    patch.pop("id", None)
    merged = merge(_patch_times(current, patch), patch)
    new = validate({k: v for k, v in merged.items() if k not in _IMMUTABLE}, cal)
    new.pop("etag", None)
    new.pop("updated", None)
    return ok(render(replace(ctx, cal, current, new, body.get("sequence")), ctx.account))


def _delete(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    cal = resolve(ctx, calendarId, write=True)
    store = ctx.emu.store
    _, current = find(store, cal, eventId)
    if current.get("status") == "cancelled":
        raise deleted()
    _check_if_match(ctx, current)
    now = rfc3339_now(store.now_dt())
    res = copy.deepcopy(current)
    res["status"] = "cancelled"
    res["updated"] = now
    save(store, cal, res)
    if res.get("recurrence"):
        # Deleting the master cancels the whole series, exceptions included.
        for rec in list(store.events.get(cal.id, {}).values()):
            if rec.res.get("recurringEventId") == res["id"] and rec.res["status"] != "cancelled":
                gone = copy.deepcopy(rec.res)
                gone["status"], gone["updated"] = "cancelled", now
                save(store, cal, gone)
    return no_content()


def _move(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    """events.move: the event (a series with its exceptions) goes to `destination` under the
    same id and iCalUID, organised by that calendar; the source keeps an id-only tombstone,
    which its incremental listing shows as cancelled."""
    cal = resolve(ctx, calendarId, write=True)
    target = ctx.req.q("destination")
    if not target:
        raise required("Required", "destination")
    dest = resolve(ctx, target, write=True)
    store = ctx.emu.store
    rec, current = find(store, cal, eventId)
    if rec is None or current.get("status") == "cancelled":
        raise not_found()
    if current.get("recurringEventId"):
        raise ApiError(
            400,
            "cannotChangeOrganizerOfInstance",
            "Cannot change the organizer of an instance.",
            domain="calendar",
        )
    if current.get("eventType", "default") != "default":
        raise ApiError(
            400,
            "eventTypeRestriction",
            "Only default events can be moved.",
            domain="calendar",
        )
    _check_if_match(ctx, current)
    if dest.id == cal.id:
        return ok(render(current, ctx.account))
    if eventId in store.events.get(dest.id, {}):
        raise duplicate()
    now = rfc3339_now(store.now_dt())
    parts = [rec] + [
        r for r in store.events.get(cal.id, {}).values()
        if r.res.get("recurringEventId") == eventId
    ]  # fmt: skip
    moved: Json = {}
    for part in parts:
        res = copy.deepcopy(part.res)
        res["organizer"] = _organizer(dest)
        res["updated"] = now
        res["htmlLink"] = html_link(res["id"], dest.id)
        made = save(store, dest, res).res
        if part is rec:
            moved = made
        # What stays behind is the id alone, cancelled (Google keeps no details there).
        save(store, cal, {"kind": "calendar#event", "id": res["id"], "status": "cancelled",
                          "updated": now})  # fmt: skip
    return ok(render(moved, ctx.account))


def _watch(ctx: Ctx, calendarId: str) -> Resp:
    cal = resolve(ctx, calendarId)
    return ok(ctx.emu.push.watch(ctx.account, cal.id, ctx.req.json()))


def _channels_stop(ctx: Ctx) -> Resp:
    ctx.emu.push.stop(ctx.req.json())
    return no_content()


_BASE = "/calendar/v3/calendars/{calendarId}/events"
ROUTES = [
    Route("POST", _BASE + "/import", "calendar.events.import", _import, "calendar", True),
    Route("POST", _BASE + "/watch", "calendar.events.watch", _watch, "calendar", False),
    Route("POST", _BASE + "/{eventId}/move", "calendar.events.move", _move, "calendar", True),
    Route("GET", _BASE + "/{eventId}", "calendar.events.get", _get, "calendar", False),
    Route("POST", _BASE, "calendar.events.insert", _insert, "calendar", True),
    Route("PUT", _BASE + "/{eventId}", "calendar.events.update", _update, "calendar", True),
    Route("PATCH", _BASE + "/{eventId}", "calendar.events.patch", _patch, "calendar", True),
    Route("DELETE", _BASE + "/{eventId}", "calendar.events.delete", _delete, "calendar", True),
    Route(
        "POST",
        "/calendar/v3/channels/stop",
        "calendar.channels.stop",
        _channels_stop,
        "calendar",
        False,
    ),
]
