"""The emulator's webservice operations, each `op(user, params) -> result`, with vtiger's quirks.

Quirks kept on purpose (what a real vtiger 8.4 answered): deleted/unknown ids answer
ACCESS_DENIED, a `<script>` in a description makes the whole description HTML-escaped, times
are kept as sent (unpadded), picklists and owners are not validated, empty references are
`null` in query results but `""` in retrieve/create, records live in `Events` or `Calendar` by
their `activitytype`. By default also PHP 8's broken `sync` (HTTP 500), a 3-byte `utf8`
database (characters outside the BMP stored as `??`), `reminder_time` written in seconds and
read in minutes, and a `revise` without `reminder_time` deleting the reminder.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calsync.emulators.vtiger import schema, vtql
from calsync.emulators.vtiger.errors import DENIED, WsError
from calsync.emulators.vtiger.store import Record, Store, User

TOKEN_LIFETIME = 300
SESSION_LIFETIME = 86400
SESSION_IDLE = 1800
SYNC_BATCH = 100
RECORD_MODULES = ("Events", "Calendar")
_SCRIPT = re.compile(r"<\s*script", re.I)
_BAD_ID = "Id specified is incorrect"
_DENIED_QUERY = "Permission to perform the operation is denied for query"


def utf8_3byte(text: str) -> str:
    """Return `text` as a 3-byte `utf8` MariaDB column keeps it: each non-BMP character as `??`."""
    if all(ord(c) <= 0xFFFF for c in text):
        return text
    return "".join("??" if ord(c) > 0xFFFF else c for c in text)


def reminder_minutes(seconds: int) -> int:
    """Return the minutes vtiger reads back for a `reminder_time` written as `seconds`.

    Observed: 30 -> 1, 1800 -> 30, 5400 -> 90, 86400 -> 1441, 0 -> 0. Rounded up to the
    minute, plus one minute per whole day (the only rule found that fits every observation).
    """
    if seconds <= 0:
        return 0
    return -(-seconds // 60) + seconds // 86400


class Php8Fatal(Exception):
    """`sync` on PHP 8: the handler dies, the server answers HTTP 500 with an empty body."""


@dataclass(slots=True)
class Session:
    user_id: int
    created: float
    last_used: float


def php_escape(text: str) -> str:
    """Return `text` escaped like PHP's htmlspecialchars(ENT_QUOTES)."""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#039;")):
        text = text.replace(a, b)
    return text


def ws_id(module: str, crmid: int) -> str:
    return f"{schema.PREFIX[module]}x{crmid}"


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _minutes(date_s: str, time_s: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(f"{date_s} {time_s}".strip(), fmt)
        except ValueError:
            continue
    return None


class Service:
    """The operations over one Store; sessions and challenge tokens are kept in memory."""

    def __init__(self, store: Store, *, php8: bool = True, utf8mb4: bool = False) -> None:
        self.store = store
        self.php8 = php8
        """`sync` dies with HTTP 500 (vtiger 8.4 on PHP 8, the default)."""
        self.utf8mb4 = utf8mb4
        """Characters outside the BMP survive (a `utf8mb4` database; the stock install is not)."""
        self.tokens: dict[int, tuple[str, float]] = {}
        self.sessions: dict[str, Session] = {}
        self._rows: dict[int, tuple[tuple[int, bool], dict[str, Any]]] = {}
        self._selection: dict[int, tuple[tuple[int, str, int], list[dict[str, Any]]]] = {}

    def clear(self) -> None:
        """Forget sessions, tokens and cached rows (after the store was reset)."""
        self.sessions.clear()
        self.tokens.clear()
        self._rows.clear()
        self._selection.clear()

    # sessions ----------------------------------------------------------------------------

    def session_user(self, sid: str) -> User:
        """Return the user of live session `sid` and mark it used, or raise a session error."""
        s = self.sessions.get(sid)
        now = self.store.clock.now()
        if s is None:
            raise WsError("INVALID_SESSIONID", "Session Identifier provided is Invalid")
        if now - s.created > SESSION_LIFETIME:
            raise WsError("SESSION_EXPIRED", "Session has expired")
        if now - s.last_used > SESSION_IDLE:
            raise WsError("SESSION_LEFT_IDLE", "Session has been left idle for too long")
        user = self.store.user(s.user_id)
        if user is None or not user.active:
            raise WsError("INVALID_SESSIONID", "Session Identifier provided is Invalid")
        s.last_used = now
        return user

    def getchallenge(self, params: dict[str, str]) -> dict[str, Any]:
        user = self.store.user_by_name(params.get("username", ""))
        if user is None:
            raise WsError("ACCESS_DENIED", "username does not exists")
        now = self.store.clock.epoch()
        token = secrets.token_hex(7)
        self.tokens[user.id] = (token, now + TOKEN_LIFETIME)  # a new challenge replaces the old
        return {"token": token, "serverTime": now, "expireTime": now + TOKEN_LIFETIME}

    def login(self, params: dict[str, str]) -> dict[str, Any]:
        user = self.store.user_by_name(params.get("username", ""))
        token = self.tokens.get(user.id) if user else None
        if user is None or token is None or token[1] < self.store.clock.now():
            raise WsError("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
        want = hashlib.md5((token[0] + user.access_key).encode()).hexdigest()
        if params.get("accessKey", "") != want or not user.active:
            raise WsError("INVALID_USER_CREDENTIALS", "Invalid username or password")
        sid = secrets.token_hex(13)
        now = self.store.clock.now()
        self.sessions[sid] = Session(user.id, now, now)
        # The profile sits at the top level of the reply, beside the session (no `user` key).
        profile = self._user_profile(user)
        profile.pop("id")
        return {
            "sessionName": sid,
            "userId": ws_id("Users", user.id),
            "version": "0.22",
            "vtigerVersion": "8.4.0",
            **profile,
        }

    def logout(self, user: User, params: dict[str, str], sid: str) -> dict[str, Any]:
        self.sessions.pop(sid, None)
        return {"message": "successfull"}

    @staticmethod
    def _user_profile(user: User) -> dict[str, str]:
        return {
            "id": ws_id("Users", user.id),
            "user_name": user.user_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email1": user.email,
            "status": "Active" if user.active else "Inactive",
            "is_admin": "on" if user.is_admin else "off",
            "time_zone": user.time_zone,
            "language": user.language,
            "date_format": "yyyy-mm-dd",
            "hour_format": "24",
        }

    # metadata ----------------------------------------------------------------------------

    def listtypes(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        types = ["Calendar", "Events", "Users"]
        info = {
            t: {"isEntity": True, "label": schema.LABELS[t], "singular": schema.SINGULAR[t]}
            for t in types
        }
        return {"types": types, "information": info}

    def describe(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        module = params.get("elementType", "")
        if module not in schema.FIELDS:
            raise WsError("ACCESS_DENIED", "Permission to perform the operation is denied for name")
        return schema.describe(module, self.store.field_settings(), user.is_admin)

    # records -----------------------------------------------------------------------------

    def render(
        self, rec: Record, for_query: bool = False, users: set[int] | None = None
    ) -> dict[str, Any]:
        """Return `rec` as the webservice shows it (retrieve/create shape or query shape).

        `users` (the known user ids) spares a lookup per record when rendering many.
        """
        known_owner = rec.owner in users if users is not None else bool(self.store.user(rec.owner))
        out: dict[str, Any] = {}
        defaults = {
            f.name: f.default if f.unset is None else f.unset for f in schema.FIELDS[rec.module]
        }
        for name in schema.field_names(rec.module):
            value: Any
            if name == "id":
                value = ws_id(rec.module, rec.crmid)
            elif name == "label":
                value = rec.data.get("subject", "")
            elif name == "assigned_user_id":
                # An unknown owner is accepted and comes back as the bare number, as on vtiger.
                value = ws_id("Users", rec.owner) if known_owner else str(rec.owner)
            elif name == "modifiedby":
                value = ws_id("Users", rec.modifiedby)
            elif name in ("createdtime", "modifiedtime"):
                value = getattr(rec, name)
            elif name == "source":
                value = "WEBSERVICE"
            else:
                value = rec.data.get(name, defaults.get(name, ""))
            if for_query and value == "" and name in schema.REFERENCE_FIELDS:
                value = None
            if for_query and name == "reminder_time" and value == "":
                value = None
            out[name] = value
        return out

    def _query_row(self, rec: Record, users: set[int]) -> dict[str, Any]:
        """Return the query-shaped row of `rec`, cached by (rev, owner known)."""
        key = (rec.rev, rec.owner in users)
        hit = self._rows.get(rec.crmid)
        if hit is None or hit[0] != key:
            hit = (key, self.render(rec, for_query=True, users=users))
            self._rows[rec.crmid] = hit
        return hit[1]

    def render_user(self, user: User) -> dict[str, Any]:
        return self._user_profile(user)

    def _lookup(self, user: User, wsid: str) -> Record:
        m = re.fullmatch(r"(\d+)x(\d+)", wsid or "")
        if not m or m.group(1) not in schema.MODULE_OF_PREFIX:
            raise WsError("INVALID_ID_ATTRIBUTE", _BAD_ID)
        rec = self.store.get(int(m.group(2)))
        if rec is None or rec.deleted:
            raise WsError("ACCESS_DENIED", DENIED)
        if schema.PREFIX[rec.module] != m.group(1):
            raise WsError("INVALID_ID_ATTRIBUTE", _BAD_ID)
        return rec

    @staticmethod
    def _can_write(user: User, rec: Record) -> bool:
        return user.is_admin or rec.owner == user.id

    @staticmethod
    def _can_read(user: User, rec: Record) -> bool:
        private = rec.data.get("visibility", "") == "Private"
        return user.is_admin or rec.owner == user.id or not private

    def retrieve(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        wsid = params.get("id", "")
        if wsid.startswith(schema.PREFIX["Users"] + "x"):
            m = re.fullmatch(r"19x(\d+)", wsid)
            target = self.store.user(int(m.group(1))) if m else None
            if target is None:
                raise WsError("ACCESS_DENIED", DENIED)
            return self.render_user(target)
        rec = self._lookup(user, wsid)
        if not self._can_read(user, rec):
            raise WsError("ACCESS_DENIED", "Permission to read given object is denied")
        return self.render(rec)

    @staticmethod
    def _element(params: dict[str, str]) -> dict[str, Any]:
        try:
            element = json.loads(params.get("element", ""))
        except ValueError as err:
            raise WsError("INTERNAL_SERVER_ERROR", "Internal error: element is not JSON") from err
        if not isinstance(element, dict):
            raise WsError("INTERNAL_SERVER_ERROR", "Internal error: element is not an object")
        return element

    def _check_mandatory(self, module: str, data: dict[str, Any], only_given: bool) -> None:
        for name in schema.mandatory_fields(module, self.store.field_settings()):
            if only_given and name not in data:
                continue
            if _str(data.get(name)).strip() == "":
                raise WsError("MANDATORY_FIELDS_MISSING", f"{name} does not have a value")

    @staticmethod
    def _owner(value: str) -> int:
        m = re.fullmatch(r"(?:\d+x)?(\d+)", value.strip())
        if not m:
            raise WsError("REFERENCE_INVALID", "Invalid reference specified for assigned_user_id")
        return int(m.group(1))

    def _apply(self, data: dict[str, str], element: dict[str, Any], module: str) -> dict[str, str]:
        known = {f.name for f in schema.FIELDS[module] if f.editable}
        for name, value in element.items():
            if name in known:
                text = _str(value)
                data[name] = text if self.utf8mb4 else utf8_3byte(text)
        if "reminder_time" in element:
            data["reminder_time"] = self._reminder(_str(element["reminder_time"]))
        desc = data.get("description", "")
        if _SCRIPT.search(desc) and "description" in element:
            data["description"] = php_escape(desc)
        start = _minutes(data.get("date_start", ""), data.get("time_start", ""))
        end = _minutes(data.get("due_date", ""), data.get("time_end", ""))
        if start and end:
            data["duration_minutes"] = str(int((end - start).total_seconds() // 60) % 60)
        return data

    @staticmethod
    def _reminder(value: str) -> str:
        """Return the stored minutes of a `reminder_time` written in seconds."""
        if value.strip() == "":
            return ""
        try:
            seconds = int(float(value))
        except ValueError:
            return "0"
        return str(reminder_minutes(seconds))

    @staticmethod
    def _omitted(module: str) -> dict[str, str]:
        """Return what vtiger stores for fields a create leaves out (not describe's defaults).

        An event without `visibility` stores "" (describe says Private); a to-do comes back
        with visibility "", reminder_time "" and duration_hours "15".
        """
        if module == "Calendar":
            return {"visibility": "", "reminder_time": "", "duration_hours": "15"}
        return {"visibility": "", "reminder_time": "0"}

    def create(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        module = params.get("elementType", "")
        element = self._element(params)
        if module not in RECORD_MODULES:
            raise WsError("ACCESS_DENIED", DENIED)
        self._check_mandatory(module, element, only_given=False)
        owner = self._owner(_str(element.get("assigned_user_id")))
        # A to-do without activitytype "Task" is stored as an Events record.
        stored_as = "Calendar" if _str(element.get("activitytype")) == "Task" else "Events"
        data = self._apply(self._omitted(stored_as), element, stored_as)
        data.pop("assigned_user_id", None)
        return self.render(self.store.insert(stored_as, owner, data, user.id))

    def _write(self, user: User, params: dict[str, str], partial: bool) -> dict[str, Any]:
        element = self._element(params)
        rec = self._lookup(user, _str(element.get("id")))
        if not self._can_write(user, rec):
            raise WsError("ACCESS_DENIED", DENIED)
        self._check_mandatory(rec.module, element, only_given=partial)
        if "assigned_user_id" in element:
            rec.owner = self._owner(_str(element["assigned_user_id"]))
        base = dict(rec.data) if partial else self._omitted(rec.module)
        if "reminder_time" not in element:
            # Saving without `reminder_time` deletes the record's reminder, revise included.
            base["reminder_time"] = self._omitted(rec.module)["reminder_time"]
        rec.data = self._apply(base, element, rec.module)
        rec.data.pop("assigned_user_id", None)
        # A webservice save of a series member drops its rule row; it stays linked.
        self.store.drop_recurring_row(rec.crmid)
        return self.render(self.store.save(rec, user.id))

    def move(self, wsid: str, module: str, fields: dict[str, str]) -> dict[str, Any]:
        """Move a record to `module` as an inline edit in vtiger's UI can (control API only).

        The record keeps its crmid, so its old ws id answers INVALID_ID_ATTRIBUTE from now on.
        A record moved into Calendar becomes a to-do (`activitytype` "Task") unless `fields`
        say otherwise; one moved into Events a Meeting.
        """
        m = re.fullmatch(r"(\d+)x(\d+)", wsid)
        rec = self.store.get(int(m.group(2))) if m else None
        if rec is None or rec.deleted or module not in RECORD_MODULES:
            raise ValueError(f"no live record {wsid!r} or unknown module {module!r}")
        rec.module = module
        rec.data.update(activitytype="Task" if module == "Calendar" else "Meeting", **fields)
        if module == "Calendar":
            rec.data.setdefault("taskstatus", "Not Started")
        else:
            rec.data.setdefault("eventstatus", "Planned")
        return self.render(self.store.save(rec, rec.modifiedby))

    def update(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        return self._write(user, params, partial=False)

    def revise(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        return self._write(user, params, partial=True)

    def delete(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        rec = self._lookup(user, params.get("id", ""))
        if not self._can_write(user, rec):
            raise WsError("ACCESS_DENIED", DENIED)
        self.store.soft_delete(rec.crmid, user.id)
        return {"status": "successful"}

    def query(self, user: User, params: dict[str, str]) -> list[dict[str, Any]]:
        q = vtql.parse(params.get("query", ""))
        if q.module not in schema.FIELDS:
            raise WsError("ACCESS_DENIED", "Permission to perform the operation is denied for name")
        vtql.check_fields(q, schema.field_names(q.module))
        # Paging (`LIMIT k*100,100`) repeats one selection: keep the last one per user
        # until the next write, so reading N rows costs O(N), not O(N^2 / 100).
        key = (user.id, vtql.shape_key(q), self.store.version)
        hits = self._selection.get(user.id)
        if hits is None or hits[0] != key:
            users = self.store.user_ids()
            if q.module == "Users":
                if not user.is_admin:
                    raise WsError("ACCESS_DENIED", _DENIED_QUERY)
                rows = [self.render_user(u) for u in self.store.users()]
            else:
                recs = self.store.records((q.module,))
                rows = [self._query_row(r, users) for r in recs if self._can_read(user, r)]
            hits = (key, vtql.select(q, rows))
            self._selection[user.id] = hits
        return vtql.run(q, hits[1], selected=True)

    def sync(self, user: User, params: dict[str, str]) -> dict[str, Any]:
        if self.php8:
            raise Php8Fatal()
        module = params.get("elementType", "")
        if module not in RECORD_MODULES:
            raise WsError("ACCESS_DENIED", DENIED)
        try:
            since = int(float(params.get("modifiedTime", "0") or 0))
        except ValueError:
            since = 0
        sync_type = params.get("syncType", "user") or "user"
        if sync_type == "application" and not user.is_admin:
            raise WsError("ACCESS_DENIED", "Only admin users can perform application sync")
        owner = None if sync_type == "application" else user.id
        recs = self.store.changed_since(module, since, owner)
        users = self.store.user_ids()
        # Tie-safe: everything at the cursor second again, then up to 100 newer changes
        # extended to the end of their last second (duplicates possible, never a loss).
        again = [r for r in recs if r.mtime == since]
        newer = [r for r in recs if r.mtime > since]
        batch = newer[:SYNC_BATCH]
        last = batch[-1].mtime if batch else since
        batch = [r for r in newer if r.mtime <= last]
        return {
            "updated": [self.render(r, users=users) for r in again + batch if not r.deleted],
            "deleted": [ws_id(r.module, r.crmid) for r in again + batch if r.deleted],
            "lastModifiedTime": last,
            "more": len(newer) > len(batch),
        }
