"""events.list and events.instances: filters, recurrence expansion, keyset paging, and sync
tokens with tombstones, as Google's events.list does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from calsync.emulators.google.calendar import default_reminders, resolve, role_of
from calsync.emulators.google.errors import (
    ApiError,
    deleted,
    full_sync_required,
    invalid,
    not_found,
)
from calsync.emulators.google.eventmodel import (
    etag,
    in_zone,
    instance_from,
    render,
    rfc3339_now,
    tombstone,
)
from calsync.emulators.google.recurrence import expand, horizon
from calsync.emulators.google.store import Calendar, EventRec, Json
from calsync.emulators.google.synctokens import SyncToken, decode_page, decode_sync, encode_page
from calsync.emulators.google.times import parse_dt, utc_key, when_utc
from calsync.emulators.google.wire import Ctx, Req, Resp, Route, ok

FORBIDDEN_WITH_SYNC = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def _time_param(req: Req, name: str) -> datetime | None:
    value = req.q(name)
    if value is None or value == "":
        return None
    try:
        return parse_dt(value).astimezone(UTC)
    except ValueError:
        raise ApiError(
            400,
            "badRequest",
            "Bad Request",
            domain="global",
            location=name,
            location_type="parameter",
        ) from None


def _page_size(req: Req) -> int:
    size = req.qint("maxResults")
    if size is None:
        return 250
    if size < 1:
        raise invalid("Invalid value for maxResults.", "maxResults")
    return min(size, 2500)  # Google clamps rather than rejects (observed)


class Filters:
    """The content filters of a list call (everything but time and deletion)."""

    def __init__(self, req: Req) -> None:
        self.private = [p.split("=", 1) for p in req.qall("privateExtendedProperty")]
        self.shared = [p.split("=", 1) for p in req.qall("sharedExtendedProperty")]
        for pair in self.private + self.shared:
            if len(pair) != 2:
                raise invalid("Invalid extended property filter.", "privateExtendedProperty")
        self.q = (req.q("q") or "").lower().split()
        self.ical = req.q("iCalUID")

    def keep(self, res: Json) -> bool:
        """Tell whether a live event passes the filters."""
        props = res.get("extendedProperties") or {}
        for kind, pairs in (("private", self.private), ("shared", self.shared)):
            values = props.get(kind) or {}
            if any(values.get(k) != v for k, v in pairs):
                return False
        if self.ical and res.get("iCalUID") != self.ical:
            return False
        if self.q:
            people = [res.get("organizer") or {}, *(res.get("attendees") or [])]
            text = " ".join(
                [str(res.get(k, "")) for k in ("summary", "description", "location")]
                + [str(p.get(k, "")) for p in people for k in ("email", "displayName")]
            ).lower()
            if not all(word in text for word in self.q):
                return False
        return True


def _overlaps(
    start: datetime,
    end: datetime,
    tmin: datetime | None,
    tmax: datetime | None,
    inclusive_min: bool = False,
) -> bool:
    # timeMin bounds the end (exclusive for list), timeMax bounds the start (exclusive).
    if tmin is not None and (end < tmin if inclusive_min else end <= tmin):
        return False
    return not (tmax is not None and start >= tmax)


def _instances(
    cal: Calendar,
    master: EventRec,
    recs: dict[str, EventRec],
    tmin: datetime | None,
    tmax: datetime | None,
    now: datetime,
    cancelled: bool,
) -> Iterator[tuple[Json, datetime]]:
    """Yield (instance, start) for generated instances not overridden by a stored exception."""
    before = tmax or max(horizon(now), tmin or now)
    for occ in expand(master.res, cal.time_zone, tmin, before):
        inst_id = f"{master.res['id']}_{occ.suffix}"
        if inst_id in recs:
            continue
        inst = instance_from(master, occ)
        if cancelled:
            inst["status"] = "cancelled"
        yield inst, occ.start_utc


def _collect(ctx: Ctx, cal: Calendar, since: int | None, upto: int) -> list[tuple[Json, list[str]]]:
    """Return every item of the listing with its sort key, before paging."""
    req, store = ctx.req, ctx.emu.store
    single = req.qbool("singleEvents", False)
    tmin, tmax = _time_param(req, "timeMin"), _time_param(req, "timeMax")
    if tmin is not None and tmax is not None and tmax <= tmin:
        raise ApiError(
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
            domain="calendar",
            location="timeMax",
            location_type="parameter",
        )
    updated_min = _time_param(req, "updatedMin")
    age = store.config.sync_token_max_age
    if updated_min is not None and age is not None and updated_min.timestamp() < store.now() - age:
        raise ApiError(
            410,
            "updatedMinTooLongAgo",
            "The requested minimum modification time lies too far in the past.",
            domain="calendar",
            location="updatedMin",
            location_type="parameter",
        )
    incremental = since is not None or updated_min is not None
    show_deleted = req.qbool("showDeleted", False) or incremental
    order = req.q("orderBy")
    if order not in (None, "startTime", "updated"):
        raise invalid("Invalid Value", "orderBy")
    if order == "startTime" and not single:
        raise ApiError(
            400,
            "badRequest",
            "The requested ordering is not available for the particular query.",
            domain="global",
        )
    filters = Filters(req)
    recs = store.events.get(cal.id, {})
    now = store.now_dt()
    out: list[tuple[Json, datetime | None]] = []

    def changed(rec: EventRec) -> bool:
        if rec.mod > upto or (since is not None and rec.mod <= since):
            return False
        if updated_min is not None:
            return bool(parse_dt(rec.res["updated"]) >= updated_min)
        return True

    for rec in recs.values():
        if not changed(rec):
            continue
        res = rec.res
        if filters.ical and res.get("iCalUID") != filters.ical:
            continue  # tombstones too: an iCalUID query lists one series, cancelled parts included
        live = res.get("status") != "cancelled"
        master = recs.get(str(res.get("recurringEventId", "")))
        hidden_instance = (
            not single and master is not None and master.res.get("status") != "cancelled"
        )
        # Cancelled instances of a live series stay listed with singleEvents=false, as on Google.
        if not live and not show_deleted and not hidden_instance:
            continue
        if res.get("recurrence"):
            if single:
                # A series lists as its instances; a deleted series as cancelled instances.
                for inst, start in _instances(cal, rec, recs, tmin, tmax, now, not live):
                    if not live:
                        out.append((tombstone(inst), start))
                    elif filters.keep(inst):
                        out.append((inst, start))
                continue
            if live and not (filters.keep(res) and _series_hits(cal, rec, tmin, tmax)):
                continue
            out.append((res if live else tombstone(res), when_utc(res["start"], cal.time_zone)))
            continue
        first = when_utc(res["start"], cal.time_zone) if "start" in res else None
        if not live:
            original = res.get("originalStartTime")
            if first is None and original:
                first = when_utc(original, cal.time_zone)
            out.append((tombstone(res), first))
            continue
        end = when_utc(res["end"], cal.time_zone)
        if first is not None and not _overlaps(first, end, tmin, tmax):
            continue
        if filters.keep(res):
            out.append((res, first))
    items = []
    for res, when in out:
        if order == "startTime":
            key = [utc_key(when) if when else "", res["id"]]
        elif order == "updated":
            key = [res.get("updated", ""), res["id"]]
        else:
            key = [res["id"]]
        items.append((res, key))
    items.sort(key=lambda pair: pair[1])
    return items


def _series_hits(
    cal: Calendar, rec: EventRec, tmin: datetime | None, tmax: datetime | None
) -> bool:
    if tmin is None and tmax is None:
        return True
    return bool(expand(rec.res, cal.time_zone, tmin, tmax, limit=1))


def _envelope(ctx: Ctx, cal: Calendar, items: list[Json], mark: int) -> dict[str, Any]:
    store = ctx.emu.store
    updated = max((str(i.get("updated", "")) for i in items), default="")
    role = role_of(cal, ctx.account)
    return {
        "kind": "calendar#events",
        "etag": etag(mark),
        "summary": cal.summary,
        "description": cal.description,
        "updated": updated or rfc3339_now(store.now_dt()),
        "timeZone": ctx.req.q("timeZone") or cal.time_zone,
        "accessRole": role_of(cal, ctx.account),
        "defaultReminders": default_reminders(cal),
        "items": [in_zone(render(i, ctx.account, role), ctx.req.q("timeZone")) for i in items],
    }


def _check_sync_token(ctx: Ctx, cal: Calendar, token: SyncToken) -> None:
    req, store = ctx.req, ctx.emu.store
    if (
        token.calendar != cal.id
        or token.generation != store.generation
        or token.epoch != cal.token_epoch
        or token.counter > store.counter
    ):
        raise full_sync_required()
    age = store.config.sync_token_max_age
    if token.issued < cal.tokens_valid_from:
        raise full_sync_required()
    if age is not None and store.now() - token.issued > age:
        raise full_sync_required()
    if not store.config.lenient_sync_token_params and (
        token.single != req.qbool("singleEvents", False)
        or token.deleted != req.qbool("showDeleted", False)
    ):
        # Google leaves this undefined; rejecting exposes clients that change modes mid-sync.
        raise invalid(
            "The syncToken was issued for different singleEvents/showDeleted values.", "syncToken"
        )


def _list(ctx: Ctx, calendarId: str) -> Resp:
    cal = resolve(ctx, calendarId)
    req, store = ctx.req, ctx.emu.store
    size = _page_size(req)
    since: int | None = None
    sync = req.q("syncToken")
    if sync is not None:
        for name in FORBIDDEN_WITH_SYNC:
            if req.q(name) is not None:
                raise ApiError(
                    400,
                    "invalid",
                    f"The parameter {name} cannot be used together with syncToken.",
                    domain="global",
                    location=name,
                    location_type="parameter",
                )
        token = decode_sync(sync)
        _check_sync_token(ctx, cal, token)
        since = token.counter
    page = decode_page(req.q("pageToken") or "") if req.q("pageToken") else None
    mark = int(page["m"]) if page else store.counter
    items = _collect(ctx, cal, since, mark)
    if page:
        last = page["k"]
        items = [pair for pair in items if pair[1] > last]
    body = _envelope(ctx, cal, [res for res, _ in items[:size]], mark)
    if len(items) > size:
        body["nextPageToken"] = encode_page({"k": items[size - 1][1], "m": mark})
    else:
        body["nextSyncToken"] = SyncToken(
            cal.id,
            store.generation,
            mark,
            cal.token_epoch,
            store.now(),
            req.qbool("singleEvents", False),
            req.qbool("showDeleted", False),
        ).encode()
    return ok(body)


def _instances_route(ctx: Ctx, calendarId: str, eventId: str) -> Resp:
    cal = resolve(ctx, calendarId)
    req, store = ctx.req, ctx.emu.store
    recs = store.events.get(cal.id, {})
    master = recs.get(eventId)
    if master is None:
        raise not_found()
    if master.res.get("status") == "cancelled":
        raise deleted()
    if not master.res.get("recurrence"):
        raise ApiError(400, "badRequest", "The event is not a recurring event.", domain="global")
    size = _page_size(req)
    tmin, tmax = _time_param(req, "timeMin"), _time_param(req, "timeMax")
    show_deleted = req.qbool("showDeleted", False)
    original = req.q("originalStart")
    before = tmax or max(horizon(store.now_dt()), tmin or store.now_dt())
    found: list[tuple[Json, list[str]]] = []
    for occ in expand(master.res, cal.time_zone, None, before):
        # events.instances documents timeMin as inclusive (unlike events.list).
        if not _overlaps(occ.start_utc, occ.end_utc, tmin, tmax, inclusive_min=True):
            continue
        inst_id = f"{eventId}_{occ.suffix}"
        res = recs[inst_id].res if inst_id in recs else instance_from(master, occ)
        if res.get("status") == "cancelled":
            if not show_deleted:
                continue
            res = tombstone(res)
        if original and parse_dt(original, UTC) != occ.start_utc:
            continue
        found.append((res, [utc_key(occ.start_utc), inst_id]))
    page = decode_page(req.q("pageToken") or "") if req.q("pageToken") else None
    if page:
        found = [pair for pair in found if pair[1] > page["k"]]
    body = _envelope(ctx, cal, [res for res, _ in found[:size]], store.counter)
    if len(found) > size:
        body["nextPageToken"] = encode_page({"k": found[size - 1][1], "m": store.counter})
    return ok(body)


_BASE = "/calendar/v3/calendars/{calendarId}/events"
ROUTES = [
    Route("GET", _BASE, "calendar.events.list", _list, "calendar", False),
    Route(
        "GET",
        _BASE + "/{eventId}/instances",
        "calendar.events.instances",
        _instances_route,
        "calendar",
        False,
    ),
]
