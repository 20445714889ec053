"""Control API under /_emulator (not Google's): accounts, faults, stats, request log, config,
clock, sync-token expiry, extra calendars and sharing, raw edits that plant unreadable items,
watch channels (listed, expired, their deliveries);
documented in docs/emulator-google.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from calsync.emulators.google.accounts import ensure_account, issue_tokens
from calsync.emulators.google.calendar import ROLES, calendar_resource, new_calendar
from calsync.emulators.google.eventmodel import etag
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.google.store import rfc3339
from calsync.emulators.google.times import zone
from calsync.emulators.google.wire import Req, Resp

Control = Callable[..., Resp]


class BadControl(Exception):
    """A control request the emulator cannot honour (answered 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _body(req: Req) -> dict[str, Any]:
    try:
        data = req.json()
    except Exception:
        raise BadControl("body must be a JSON object") from None
    return data


def _email(req: Req, key: str = "email") -> str:
    email = _body(req).get(key)
    if not isinstance(email, str) or "@" not in email:
        raise BadControl(f"{key} must be an e-mail address")
    return email


def accounts_create(emu: Emulator, req: Req) -> Resp:
    body = _body(req)
    email = _email(req)
    tz = body.get("time_zone") or "UTC"
    try:
        zone(tz)
    except ValueError:
        raise BadControl("unknown time_zone") from None
    account = ensure_account(emu.store, email, tz)
    out = issue_tokens(emu.store, email, body.get("scopes"))
    out.update(
        time_zone=account.time_zone,
        default_tasklist=account.default_tasklist,
        primary_calendar=email,
    )
    return Resp(200, out)


def accounts_list(emu: Emulator, req: Req) -> Resp:
    return Resp(
        200,
        {
            "accounts": [
                {
                    "email": a.email,
                    "time_zone": a.time_zone,
                    "default_tasklist": a.default_tasklist,
                    "token_ttl": a.token_ttl,
                }
                for a in emu.store.accounts.values()
            ]
        },
    )


def _account(emu: Emulator, email: str) -> str:
    email = unquote(email)
    if email not in emu.store.accounts:
        raise BadControl("unknown account", 404)
    return email


def account_tokens(emu: Emulator, req: Req, email: str) -> Resp:
    email = _account(emu, email)
    return Resp(200, issue_tokens(emu.store, email, _body(req).get("scopes")))


def account_ttl(emu: Emulator, req: Req, email: str) -> Resp:
    email = _account(emu, email)
    seconds = _body(req).get("seconds")
    if seconds is not None and not isinstance(seconds, int):
        raise BadControl("seconds must be an integer or null")
    emu.store.accounts[email].token_ttl = seconds
    emu.store.touch("account", email)
    return Resp(200, {"email": email, "token_ttl": seconds})


def faults_add(emu: Emulator, req: Req) -> Resp:
    spec = _body(req)
    if not isinstance(spec.get("status"), int):
        raise BadControl("status (an integer) is required")
    try:
        fault = emu.add_fault(spec)
    except (TypeError, ValueError) as err:
        raise BadControl(str(err)) from None
    return Resp(200, next(f for f in emu.faults_json() if f["id"] == fault.id))


def faults_list(emu: Emulator, req: Req) -> Resp:
    return Resp(200, {"faults": emu.faults_json()})


def faults_clear(emu: Emulator, req: Req) -> Resp:
    emu.faults.clear()
    return Resp(200, {"faults": []})


def stats(emu: Emulator, req: Req) -> Resp:
    return Resp(200, emu.stats.as_dict())


def stats_clear(emu: Emulator, req: Req) -> Resp:
    emu.stats.reset()
    return Resp(200, emu.stats.as_dict())


def reset(emu: Emulator, req: Req) -> Resp:
    emu.store.clear()
    emu.store.config.update(emu.initial_config.as_dict())
    emu.reset_runtime()
    return Resp(200, {"ok": True})


def requests_list(emu: Emulator, req: Req) -> Resp:
    out = emu.requests
    for key in ("account", "api_method", "method"):
        value = req.q(key)
        if value:
            out = [r for r in out if r[key] == value]
    prefix = req.q("path_prefix")
    if prefix:
        out = [r for r in out if r["path"].startswith(prefix)]
    return Resp(200, {"requests": out})


def requests_clear(emu: Emulator, req: Req) -> Resp:
    emu.requests.clear()
    return Resp(200, {"requests": []})


def config_get(emu: Emulator, req: Req) -> Resp:
    return Resp(200, emu.store.config.as_dict())


def config_set(emu: Emulator, req: Req) -> Resp:
    try:
        emu.store.config.update(_body(req))
    except ValueError as err:
        raise BadControl(str(err)) from None
    return Resp(200, emu.store.config.as_dict())


def synctokens_expire(emu: Emulator, req: Req) -> Resp:
    body = _body(req)
    cal_id = body.get("calendar_id")
    older = body.get("older_than_seconds")
    if older is not None and not isinstance(older, int | float):
        raise BadControl("older_than_seconds must be a number")
    cals = list(emu.store.calendars.values())
    if cal_id is not None:
        cals = [c for c in cals if c.id == cal_id]
        if not cals:
            raise BadControl("unknown calendar", 404)
    for cal in cals:
        if older is None:
            cal.token_epoch += 1
        else:
            cal.tokens_valid_from = max(cal.tokens_valid_from, emu.store.now() - older)
        emu.store.touch("calendar", cal.id)
    return Resp(200, {"expired": [c.id for c in cals]})


def calendars_create(emu: Emulator, req: Req) -> Resp:
    body = _body(req)
    owner = _email(req, "owner")
    if owner not in emu.store.accounts:
        raise BadControl("unknown owner", 404)
    cal_id = body.get("id")
    if cal_id is not None and cal_id in emu.store.calendars:
        raise BadControl("calendar id already exists", 409)
    tz = body.get("time_zone")
    if tz is not None:
        try:
            zone(tz)
        except ValueError:
            raise BadControl("unknown time_zone") from None
    cal = new_calendar(
        emu.store,
        owner,
        str(body.get("summary") or "Calendar"),
        tz,
        cal_id=cal_id,
        description=str(body.get("description") or ""),
    )
    return Resp(200, calendar_resource(cal))


def calendars_share(emu: Emulator, req: Req, calendar_id: str) -> Resp:
    cal = emu.store.calendars.get(unquote(calendar_id))
    if cal is None:
        raise BadControl("unknown calendar", 404)
    email = _email(req)
    role = _body(req).get("role")
    if role not in (*ROLES, "none"):
        raise BadControl(f"role must be one of {[*ROLES, 'none']}")
    if role == "none":
        cal.acl.pop(email, None)
    else:
        cal.acl[email] = role
    if _body(req).get("expire_sync_tokens"):
        cal.token_epoch += 1  # Google may answer 410 to older sync tokens after an ACL change
    emu.store.touch("calendar", cal.id)
    return Resp(200, {"calendar_id": cal.id, "email": email, "role": role})


def clock_get(emu: Emulator, req: Req) -> Resp:
    return Resp(200, {"offset_seconds": emu.store.clock_offset, "now": rfc3339(emu.store.now())})


def clock_set(emu: Emulator, req: Req) -> Resp:
    body = _body(req)
    if "offset_seconds" in body:
        emu.store.clock_offset = float(body["offset_seconds"])
    if "advance_seconds" in body:
        emu.store.clock_offset += float(body["advance_seconds"])
    emu.store.touch("meta", "counter")
    return clock_get(emu, req)


def raw_patch(emu: Emulator, req: Req) -> Resp:
    """Merge fields into a stored event or task as is, bypassing every check.

    Google sometimes hands out items calsync cannot read (odd dates from old clients, fields
    from newer API versions); this plants one, with a new change number and etag so listings
    and sync tokens see it as changed.
    """
    body = _body(req)
    fields = body.get("fields")
    item_id = body.get("id")
    if not isinstance(fields, dict) or not isinstance(item_id, str):
        raise BadControl("id (a string) and fields (an object) are required")
    store = emu.store
    rec: Any
    if "calendar_id" in body:
        rec = store.events.get(str(body["calendar_id"]), {}).get(item_id)
        kind, owner = "event", str(body["calendar_id"])
    else:
        rec = store.tasks.get(str(body.get("tasklist_id")), {}).get(item_id)
        kind, owner = "task", str(body.get("tasklist_id"))
    if rec is None:
        raise BadControl(f"no stored {kind} {item_id}", 404)
    rec.res.update(fields)
    rec.mod = store.next_mod()
    rec.res["etag"] = etag(rec.mod)
    rec.res["updated"] = rfc3339(store.now())
    store.touch(kind, owner, item_id)
    emu.notify_changes()
    return Resp(200, rec.res)


def channels_list(emu: Emulator, req: Req) -> Resp:
    return Resp(200, {"channels": emu.push.channels_json()})


def channels_expire(emu: Emulator, req: Req) -> Resp:
    """End channels now, as if their time had run out (`ids` absent: every channel)."""
    ids = _body(req).get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise BadControl("ids must be a list of channel ids")
    return Resp(200, {"expired": emu.push.expire(ids)})


def channels_deliveries(emu: Emulator, req: Req) -> Resp:
    return Resp(200, {"deliveries": emu.push.deliveries_json()})


def health(emu: Emulator, req: Req) -> Resp:
    return Resp(200, {"ok": True})


ROUTES: list[tuple[str, str, Control]] = [
    ("POST", "accounts", accounts_create),
    ("GET", "accounts", accounts_list),
    ("POST", "accounts/{email}/tokens", account_tokens),
    ("POST", "accounts/{email}/token_ttl", account_ttl),
    ("POST", "faults", faults_add),
    ("GET", "faults", faults_list),
    ("DELETE", "faults", faults_clear),
    ("GET", "stats", stats),
    ("DELETE", "stats", stats_clear),
    ("POST", "reset", reset),
    ("GET", "requests", requests_list),
    ("DELETE", "requests", requests_clear),
    ("GET", "config", config_get),
    ("POST", "config", config_set),
    ("POST", "synctokens/expire", synctokens_expire),
    ("POST", "calendars", calendars_create),
    ("POST", "calendars/{calendar_id}/acl", calendars_share),
    ("GET", "clock", clock_get),
    ("POST", "clock", clock_set),
    ("POST", "raw", raw_patch),
    ("GET", "channels", channels_list),
    ("POST", "channels/expire", channels_expire),
    ("GET", "channels/deliveries", channels_deliveries),
    ("GET", "health", health),
]


def dispatch(emu: Emulator, req: Req) -> Resp:
    """Answer a request under /_emulator/."""
    rest = req.path.removeprefix("/_emulator/").strip("/")
    parts = rest.split("/")
    for method, template, handler in ROUTES:
        tparts = template.split("/")
        if method != req.method or len(tparts) != len(parts):
            continue
        params: dict[str, str] = {}
        for t, p in zip(tparts, parts, strict=True):
            if t.startswith("{"):
                params[t[1:-1]] = p
            elif t != p:
                break
        else:
            with emu.store.lock:
                try:
                    resp = handler(emu, req, **params)
                except BadControl as err:
                    resp = Resp(err.status, {"error": str(err)})
                emu.store.flush()
                return resp
    return Resp(404, {"error": f"no control endpoint {req.method} {req.path}"})
