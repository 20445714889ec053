"""Event resources: validation and normalisation of bodies, PATCH merging, the sequence rule,
etags, rendering for a viewer (tombstones included) and instances generated from a series."""

from __future__ import annotations

import base64
import copy
import re
from datetime import UTC, datetime
from typing import Any

from calsync.emulators.google.errors import ApiError, invalid, required
from calsync.emulators.google.recurrence import Occurrence, expand
from calsync.emulators.google.store import Calendar, EventRec, Json
from calsync.emulators.google.times import format_dt, parse_date, parse_dt, when_utc, zone

ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
# Fields the server owns: dropped from client bodies (Google ignores them silently).
READ_ONLY = (
    "kind",
    "etag",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "hangoutLink",
    "privateCopy",
    "locked",
    "recurringEventId",
    "originalStartTime",
)
# Changes to these bump `sequence`, as Google does for the fields an invitation depends on.
SIGNIFICANT = ("start", "end", "recurrence", "location")
_ENUMS = {
    "status": ("confirmed", "tentative", "cancelled"),
    "visibility": ("default", "public", "private", "confidential"),
    "transparency": ("opaque", "transparent"),
}


def etag(mod: int) -> str:
    """Return the quoted etag for change number `mod`."""
    return '"' + str(3_100_000_000_000_000 + mod * 1000) + '"'


def check_id(event_id: Any) -> str:
    """Return a client-supplied id, or raise 400 invalid for one outside base32hex."""
    if not isinstance(event_id, str) or not ID_RE.match(event_id):
        raise invalid("Invalid resource id value.")
    return event_id


def html_link(event_id: str, cal_id: str) -> str:
    """Return the htmlLink Google builds from the event and calendar ids."""
    eid = base64.b64encode(f"{event_id} {cal_id}".encode()).decode().rstrip("=")
    return "https://www.google.com/calendar/event?eid=" + eid


def _when(value: Any, which: str, cal: Calendar) -> Json:
    """Validate and normalise one start/end object."""
    if value is None:
        raise required(f"Missing {which} time.")
    if not isinstance(value, dict) or ("date" in value) == ("dateTime" in value):
        raise invalid(f"Invalid {which} time.")
    out = dict(value)
    if "date" in value:
        try:
            out["date"] = parse_date(str(value["date"])).isoformat()
        except ValueError:
            raise invalid(f"Invalid {which} time.") from None
        out.pop("timeZone", None)
        return out
    tz_name = value.get("timeZone")
    try:
        tz = zone(tz_name) if tz_name else None
    except ValueError:
        raise invalid(f"Invalid time zone definition for {which} time.") from None
    try:
        dt = parse_dt(str(value["dateTime"]), tz)
    except ValueError:
        if tz is None:
            raise ApiError(
                400, "required", f"Missing time zone definition for {which} time.", domain="global"
            ) from None
        raise invalid(f"Invalid {which} time.") from None
    out["dateTime"] = format_dt(dt.astimezone(tz or zone(cal.time_zone)))
    return out


def validate(res: Json, cal: Calendar) -> Json:
    """Validate a full event body (insert, update, import, merged patch); return it normalised."""
    res = dict(res)
    if res.get("status") == "cancelled" and "start" not in res:
        return res
    start = _when(res.get("start"), "start", cal)
    end = _when(res.get("end"), "end", cal)
    if ("date" in start) != ("date" in end):
        raise invalid("Start and end times must either both be date or both be dateTime.")
    if when_utc(end, cal.time_zone) < when_utc(start, cal.time_zone):
        raise ApiError(
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
            domain="calendar",
            location="end.dateTime",
            location_type="parameter",
        )
    res["start"], res["end"] = start, end
    for name, allowed in _ENUMS.items():
        if name in res and res[name] not in allowed:
            raise invalid("Invalid Value", name)
    recurrence = res.get("recurrence")
    if recurrence:
        if not isinstance(recurrence, list) or not all(isinstance(x, str) for x in recurrence):
            raise invalid("Invalid recurrence rule.", "recurrence")
        if "dateTime" in start and not start.get("timeZone"):
            raise ApiError(
                400, "required", "Missing time zone definition for start time.", domain="global"
            )
        expand(res, cal.time_zone, None, None, limit=3)  # raises 400 for a bad rule
    reminders = res.get("reminders")
    if isinstance(reminders, dict):
        overrides = reminders.get("overrides") or []
        if reminders.get("useDefault") and overrides:
            raise invalid("Cannot specify both default reminders and overrides at the same time.")
        if len(overrides) > 5:
            raise invalid("The maximum number of override reminders is 5.")
        for o in overrides:
            if not isinstance(o, dict) or not 0 <= int(o.get("minutes", -1)) <= 40320:
                raise invalid("Invalid reminder minutes value.")
    for att in res.get("attendees") or []:
        if not isinstance(att, dict) or not att.get("email"):
            raise required("Missing attendee email.")
    return res


def merge(current: Json, patch: Json) -> Json:
    """Return `current` with `patch` applied: objects merge, arrays replace, null clears."""
    out = copy.deepcopy(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def next_sequence(old: Json, new: Json, supplied: Any) -> int:
    """Apply the sequence rule: refuse a lower value; bump on start/end/recurrence/location."""
    current = int(old.get("sequence", 0))
    if supplied is not None:
        try:
            value = int(supplied)
        except (TypeError, ValueError):
            raise invalid("Invalid sequence value.") from None
        if value < current:
            raise invalid(
                "Invalid sequence value. The specified sequence number is below the current "
                "sequence number of the resource. Re-fetch the resource and use its sequence "
                "number on the following updates."
            )
        current = value
    if any(old.get(k) != new.get(k) for k in SIGNIFICANT) and current == int(
        old.get("sequence", 0)
    ):
        current += 1
    return current


def only_reminders_changed(old: Json, new: Json) -> bool:
    """Tell whether an edit touched nothing but reminders (Google keeps `updated` then)."""
    skip = {"reminders", "etag", "updated", "sequence"}
    a = {k: v for k, v in old.items() if k not in skip}
    b = {k: v for k, v in new.items() if k not in skip}
    return a == b and old.get("reminders") != new.get("reminders")


def tombstone(res: Json) -> Json:
    """Return the sparse item a list gives for a cancelled event or exception."""
    out: Json = {
        k: res[k]
        for k in (
            "kind",
            "etag",
            "id",
            "status",
            "recurringEventId",
            "originalStartTime",
            "updated",
        )
        if k in res
    }
    return out


# What a reader sees of a private event, and a free/busy reader of any event: times only.
_BUSY_ONLY = (
    "kind",
    "etag",
    "id",
    "status",
    "start",
    "end",
    "recurringEventId",
    "originalStartTime",
    "visibility",
    "transparency",
    "updated",
    "iCalUID",
)


def render(res: Json, viewer: str, role: str = "owner") -> Json:
    """Return a stored resource as `viewer` (with `role` on its calendar) sees it: `self` flags
    on creator, organizer and attendees; details stripped where the role may not see them."""
    private = res.get("visibility") in ("private", "confidential")
    if role == "freeBusyReader" or (role == "reader" and private):
        return {k: copy.deepcopy(v) for k, v in res.items() if k in _BUSY_ONLY}
    out = copy.deepcopy(res)
    for key in ("creator", "organizer"):
        person = out.get(key)
        if isinstance(person, dict) and person.get("email") == viewer:
            person["self"] = True
    for att in out.get("attendees") or []:
        if isinstance(att, dict) and att.get("email") == viewer:
            att["self"] = True
    return out


def in_zone(res: Json, tz_name: str | None) -> Json:
    """Return `res` with its date-times written in `tz_name` (the list/get `timeZone` param)."""
    if not tz_name:
        return res
    try:
        tz = zone(tz_name)
    except ValueError:
        raise invalid("Invalid time zone.", "timeZone") from None
    out = dict(res)
    for key in ("start", "end", "originalStartTime"):
        when = out.get(key)
        if isinstance(when, dict) and "dateTime" in when:
            out[key] = {**when, "dateTime": format_dt(parse_dt(when["dateTime"]).astimezone(tz))}
    return out


def instance_from(master: EventRec, occ: Occurrence) -> Json:
    """Return the instance of a series at one occurrence, as generated from the master."""
    res = copy.deepcopy(master.res)
    res.pop("recurrence", None)
    res["id"] = f"{res['id']}_{occ.suffix}"
    res["recurringEventId"] = master.res["id"]
    res["originalStartTime"] = dict(occ.start)
    res["start"], res["end"] = dict(occ.start), dict(occ.end)
    return res


def parse_suffix(suffix: str) -> datetime | None:
    """Return the UTC instant an instance-id suffix names, or None when it is malformed."""
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            return datetime.strptime(suffix, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def rfc3339_now(now: datetime) -> str:
    """Format the emulator clock like Google's `updated`: milliseconds and `Z`."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
