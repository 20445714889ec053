"""calendarList and calendars routes, and the access-role checks every calendar call uses."""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from typing import Any

from calsync.emulators.google.errors import ApiError, invalid, not_found
from calsync.emulators.google.store import Calendar, Json, Store
from calsync.emulators.google.wire import Ctx, Resp, Route, ok

_ROLE_RANK = {"none": 0, "freeBusyReader": 1, "reader": 2, "writer": 3, "owner": 4}
ROLES = ("freeBusyReader", "reader", "writer", "owner")


def role_of(cal: Calendar, email: str) -> str:
    """Return `email`'s access role on `cal` (`none` when it has no access)."""
    if cal.owner == email:
        return "owner"
    return cal.acl.get(email, "none")


def resolve(ctx: Ctx, calendar_id: str, write: bool = False) -> Calendar:
    """Return the calendar a call names, checking the caller may read (or write) it."""
    store = ctx.emu.store
    if calendar_id == "primary":
        calendar_id = ctx.account
    cal = store.calendars.get(calendar_id)
    if cal is None:
        raise not_found()
    rank = _ROLE_RANK[role_of(cal, ctx.account)]
    if rank < _ROLE_RANK["freeBusyReader"]:
        raise not_found()
    if write and rank < _ROLE_RANK["writer"]:
        raise ApiError(
            403,
            "requiredAccessLevel",
            "You need to have writer access to this calendar.",
            domain="calendar",
        )
    return cal


def new_calendar(
    store: Store,
    owner: str,
    summary: str,
    time_zone: str | None = None,
    cal_id: str | None = None,
    description: str = "",
    primary: bool = False,
) -> Calendar:
    """Create a calendar owned by `owner` (secondary ids look like Google's group calendars)."""
    if cal_id is None:
        alphabet = "0123456789abcdefghijklmnopqrstuv"
        cal_id = "".join(secrets.choice(alphabet) for _ in range(26)) + "@group.calendar.google.com"
    account = store.accounts.get(owner)
    zone = time_zone or (account.time_zone if account else "UTC")
    cal = Calendar(
        id=cal_id,
        owner=owner,
        summary=summary,
        time_zone=zone,
        description=description,
        primary=primary,
        created=store.now(),
    )
    store.calendars[cal.id] = cal
    store.events.setdefault(cal.id, {})
    store.touch("calendar", cal.id)
    return cal


def _etag(cal: Calendar) -> str:
    text = "|".join((cal.id, cal.summary, cal.time_zone, cal.description))
    return '"' + str(zlib.crc32(text.encode())) + '"'


def default_reminders(cal: Calendar) -> list[Json]:
    """Return the calendar's default reminders (primary calendars: a 10-minute popup)."""
    return [{"method": "popup", "minutes": 10}] if cal.primary else []


def calendar_resource(cal: Calendar) -> Json:
    """Return a `calendar#calendar` resource."""
    res: Json = {
        "kind": "calendar#calendar",
        "etag": _etag(cal),
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }
    if cal.description:
        res["description"] = cal.description
    if cal.location:
        res["location"] = cal.location
    if not cal.primary:
        res["dataOwner"] = cal.owner
    return res


def list_entry(cal: Calendar, email: str) -> Json:
    """Return a `calendar#calendarListEntry` of `cal` as `email` sees it."""
    res = calendar_resource(cal)
    res["kind"] = "calendar#calendarListEntry"
    res.pop("conferenceProperties")
    res.update(
        {
            "accessRole": role_of(cal, email),
            "defaultReminders": default_reminders(cal),
            "colorId": "14" if cal.primary else "7",
            "backgroundColor": "#9fe1e7" if cal.primary else "#42d692",
            "foregroundColor": "#000000",
            "selected": True,
        }
    )
    if cal.primary and cal.owner == email:
        res["primary"] = True
    return res


def visible_calendars(store: Store, email: str) -> list[Calendar]:
    """Return the calendars `email` can see: primary first, then by id."""
    cals = [c for c in store.calendars.values() if role_of(c, email) != "none"]
    return sorted(cals, key=lambda c: (not (c.primary and c.owner == email), c.id))


def _calendar_list(ctx: Ctx) -> Resp:
    req = ctx.req
    min_role = req.q("minAccessRole")
    if min_role is not None and min_role not in _ROLE_RANK:
        raise invalid("Invalid Value", "minAccessRole")
    if req.q("syncToken") and min_role:
        raise invalid("Invalid Value", "minAccessRole")
    entries = [
        list_entry(c, ctx.account)
        for c in visible_calendars(ctx.emu.store, ctx.account)
        if _ROLE_RANK[role_of(c, ctx.account)] >= _ROLE_RANK[min_role or "freeBusyReader"]
    ]
    size = min(max(req.qint("maxResults") or 100, 1), 250)
    start = 0
    if req.q("pageToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(req.q("pageToken") or ""))["o"])
        except (ValueError, KeyError, TypeError):
            raise invalid("Invalid page token", "pageToken") from None
    page = entries[start : start + size]
    body: dict[str, Any] = {
        "kind": "calendar#calendarList",
        "etag": '"p' + str(ctx.emu.store.counter) + '"',
        "items": page,
    }
    if start + size < len(entries):
        token = json.dumps({"o": start + size}).encode()
        body["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
    else:
        # calendarList sync tokens are accepted but always answer the full list (documented).
        body["nextSyncToken"] = "cl" + str(ctx.emu.store.counter)
    return ok(body)


def _calendar_list_get(ctx: Ctx, calendarId: str) -> Resp:
    cal = resolve(ctx, calendarId)
    return ok(list_entry(cal, ctx.account))


def _calendars_get(ctx: Ctx, calendarId: str) -> Resp:
    return ok(calendar_resource(resolve(ctx, calendarId)))


def _calendars_insert(ctx: Ctx) -> Resp:
    body = ctx.req.json()
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary:
        raise ApiError(400, "required", "Missing title.", domain="global")
    cal = new_calendar(
        ctx.emu.store,
        ctx.account,
        summary,
        body.get("timeZone"),
        description=body.get("description") or "",
    )
    return ok(calendar_resource(cal))


ROUTES = [
    Route(
        "GET",
        "/calendar/v3/users/me/calendarList",
        "calendar.calendarList.list",
        _calendar_list,
        "calendar",
        False,
    ),
    Route(
        "GET",
        "/calendar/v3/users/me/calendarList/{calendarId}",
        "calendar.calendarList.get",
        _calendar_list_get,
        "calendar",
        False,
    ),
    Route(
        "GET",
        "/calendar/v3/calendars/{calendarId}",
        "calendar.calendars.get",
        _calendars_get,
        "calendar",
        False,
    ),
    Route(
        "POST",
        "/calendar/v3/calendars",
        "calendar.calendars.insert",
        _calendars_insert,
        "calendar",
        True,
    ),
]
