"""Client of vtiger's `webservice.php`: session handling, retries, paging and the change feed.

Public API: `VtigerClient(url, user, access_key, http=None, *, sleep=time.sleep, backoff=...)` with
`login`, `logout`, `server_time`, `listtypes`, `describe`, `mandatory_fields`, `picklist`,
`users`, `query`, `query_all`, `retrieve`, `create`, `revise`, `delete`, `sync`,
`changes_by_query`, `holds_exactly`, `live_ids`; `SyncResult`. Full `update` is never used:
writes go through `revise` so fields calsync does not own survive. Dates and times travel in
UTC (the webservice converts nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from calsync.quota import Backoff, retryable
from calsync.sides.vtiger.errors import (
    SESSION_CODES,
    SyncUnavailable,
    VtigerAuthError,
    VtigerError,
    VtigerForbidden,
    VtigerNotFound,
    VtigerTransient,
    error_for,
)

_LOGGER = logging.getLogger(__name__)

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before a request left: resending cannot do a write twice."""

DEFAULT_BACKOFF = Backoff(base=0.5, cap=30.0, max_tries=5)
"""Tries of one call on HTTP faults and garbled replies, and the pauses between them."""

PAGE = 100
"""vtiger clamps every VTQL LIMIT to 100 rows."""
_MAX_PAGES = 10_000
_MAX_SYNC_ROUNDS = 10_000


@dataclass(slots=True)
class SyncResult:
    """The merged outcome of `sync` calls looped on `more`."""

    updated: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    last_modified: int = 0
    """Epoch to pass as `modifiedTime` next time (tie-safe: the server repeats that second)."""

    def for_owner(self, user_ws_id: str) -> SyncResult:
        """Return the part of an application-wide result that belongs to one user.

        Deleted ids carry no owner, so every user gets all of them (unknown ids are no-ops).
        """
        mine = [r for r in self.updated if owner_id(r.get("assigned_user_id")) == user_ws_id]
        return SyncResult(mine, list(self.deleted), self.last_modified)


def owner_id(value: Any) -> str:
    """Return an owner reference as a Users ws id (`"5"` and `"19x5"` both give `19x5`)."""
    text = str(value or "")
    return text if "x" in text or not text else f"19x{text}"


def vt_stamp(epoch: int) -> str:
    """Return `epoch` as vtiger's `Y-m-d H:i:s` (UTC)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def vt_epoch(stamp: str) -> int:
    """Return vtiger's `Y-m-d H:i:s` (UTC) as epoch seconds."""
    return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def vtql_quote(value: str) -> str:
    """Return `value` as a VTQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Resendable(VtigerTransient):
    """A failure after which the same call may safely be sent again."""


class VtigerClient:
    """One user's (or an admin's) connection to webservice.php.

    Logs in lazily with getchallenge + login (md5(token + accessKey)) and logs in again,
    once per call, when vtiger reports the session invalid, expired or idle. HTTP faults,
    5xx and garbled replies are retried by the one retry policy (`Backoff.call`).
    """

    def __init__(
        self,
        url: str,
        user: str,
        access_key: str,
        http: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Backoff = DEFAULT_BACKOFF,
        rng: random.Random | None = None,
    ) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("webservice.php") else base + "/webservice.php"
        self.user = user
        self._key = access_key
        self._http = http or httpx.Client(timeout=30.0)
        self._sleep = sleep
        self._backoff = backoff
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._session: str | None = None
        self.user_id = ""
        """Users ws id of the logged-in user (`19x5`), known after login."""
        self.profile: dict[str, Any] = {}
        """The user's profile from login (time_zone, is_admin, ...)."""
        self.sync_works: bool | None = None
        """None until `sync` was tried; False once it answered HTTP 500 (PHP 8)."""
        self._describe: dict[str, dict[str, Any]] = {}

    # transport ---------------------------------------------------------------------------

    def _raw(
        self,
        op: str,
        method: str,
        params: dict[str, Any],
        retry: bool = True,
        resend: bool = True,
    ) -> Any:
        """Send one operation; return `result` or raise the typed error for `error`.

        HTTP 5xx/429 and garbled replies are tried again when `retry`; a broken connection
        is, unless `resend=False` (a create: never send it twice) and the call may have left.
        vtiger's own `error` answers are never retried.
        """
        params = {"operation": op, **params}

        def once() -> Any:
            try:
                if method == "GET":
                    resp = self._http.get(self.endpoint, params=params)
                else:
                    resp = self._http.post(self.endpoint, data=params)
            except httpx.TransportError as err:
                problem = f"{type(err).__name__}: {err}"
                if resend or isinstance(err, _NOT_SENT):
                    raise _Resendable("HTTP_ERROR", problem, op) from err
                raise VtigerTransient("HTTP_ERROR", problem, op) from err
            if resp.status_code >= 500 or resp.status_code == 429:
                failure = _Resendable if retry else VtigerTransient
                raise failure(f"HTTP_{resp.status_code}", f"HTTP {resp.status_code}", op)
            try:
                body = resp.json()
                ok = bool(body["success"])
            except (ValueError, KeyError, TypeError) as err:
                failure = _Resendable if retry else VtigerTransient
                raise failure("BAD_REPLY", f"not a vtiger reply: {resp.text[:200]!r}", op) from err
            if ok:
                return body.get("result")
            error = body.get("error") or {}
            raise error_for(str(error.get("code", "")), str(error.get("message", "")), op)

        return self._backoff.call(
            once,
            retry_if=lambda err: retryable(err) and isinstance(err, _Resendable),
            sleep=self._sleep,
            rng=self._rng,
        )

    def _call(
        self,
        op: str,
        method: str,
        params: dict[str, Any],
        retry: bool = True,
        resend: bool = True,
    ) -> Any:
        """Send an operation with the session, logging in (again) when needed."""
        for fresh in (False, True):
            session = self._ensure_session(force=fresh)
            try:
                return self._raw(op, method, {"sessionName": session, **params}, retry, resend)
            except VtigerAuthError as err:
                if err.code not in SESSION_CODES or fresh:
                    raise
                _LOGGER.info(
                    "vtiger session of %s ended (%s); logging in again", self.user, err.code
                )
        raise AssertionError("unreachable")

    # session -----------------------------------------------------------------------------

    def _ensure_session(self, force: bool = False) -> str:
        with self._lock:
            if self._session is None or force:
                self.login()
            assert self._session is not None
            return self._session

    def login(self) -> None:
        """Run getchallenge + login and keep the session and the user's profile."""
        with self._lock:
            # vtiger keeps one challenge per user: another client of the same user may have
            # replaced ours, which reads as a wrong key. Try again after a random pause, so
            # that two clients racing each other fall apart.
            raced = Backoff(base=self._backoff.base, cap=self._backoff.cap, max_tries=4)
            result = raced.call(
                self._challenge_and_login,
                retry_if=lambda err: (
                    isinstance(err, VtigerAuthError)
                    and err.code in ("INVALID_AUTH_TOKEN", "INVALID_USER_CREDENTIALS")
                ),
                sleep=self._sleep,
                rng=self._rng,
            )
            self._session = str(result["sessionName"])
            self.user_id = str(result["userId"])
            # vtiger 8.4 puts the profile at the top level of the reply; older servers and
            # some forks nest it under `user`.
            profile = {k: v for k, v in result.items() if k not in ("sessionName", "user")}
            profile.update(result.get("user") or {})
            self.profile = profile

    def _challenge_and_login(self) -> dict[str, Any]:
        try:
            challenge = self._raw("getchallenge", "GET", {"username": self.user})
        except VtigerForbidden as err:  # vtiger's answer for an unknown user name
            raise VtigerAuthError(err.code, err.message, "getchallenge") from err
        digest = hashlib.md5((str(challenge["token"]) + self._key).encode()).hexdigest()
        return dict(self._raw("login", "POST", {"username": self.user, "accessKey": digest}))

    def logout(self) -> None:
        """End the session (if any)."""
        with self._lock:
            if self._session is not None:
                try:
                    self._raw("logout", "POST", {"sessionName": self._session})
                except VtigerError as err:
                    _LOGGER.debug("vtiger logout: %s", err)
                self._session = None

    @property
    def time_zone(self) -> str:
        """The logged-in user's IANA zone (login profile, else the Users record, else UTC)."""
        self._ensure_session()
        if not self.profile.get("time_zone"):
            self.profile["time_zone"] = self.retrieve(self.user_id).get("time_zone") or "UTC"
        return str(self.profile["time_zone"])

    @property
    def is_admin(self) -> bool:
        self._ensure_session()
        return str(self.profile.get("is_admin", "off")).lower() in ("on", "1", "true")

    def server_time(self) -> int:
        """Return vtiger's clock (epoch seconds) from a fresh challenge."""
        return int(self._raw("getchallenge", "GET", {"username": self.user})["serverTime"])

    # metadata ----------------------------------------------------------------------------

    def listtypes(self) -> list[str]:
        """Return the modules this user may use."""
        return [str(t) for t in self._call("listtypes", "GET", {})["types"]]

    def describe(self, module: str, refresh: bool = False) -> dict[str, Any]:
        """Return `describe` for `module` (cached; `refresh` reads it again)."""
        if refresh or module not in self._describe:
            self._describe[module] = dict(self._call("describe", "GET", {"elementType": module}))
        return self._describe[module]

    def mandatory_fields(self, module: str) -> list[str]:
        """Return the fields the admin made mandatory, read at run time."""
        return [f["name"] for f in self.describe(module)["fields"] if f.get("mandatory")]

    def picklist(self, module: str, name: str) -> list[str]:
        """Return the values of picklist field `name` ([] when not a picklist)."""
        for f in self.describe(module)["fields"]:
            if f["name"] == name:
                return [str(v["value"]) for v in f.get("type", {}).get("picklistValues", [])]
        return []

    def users(self) -> list[dict[str, Any]]:
        """Return the vtiger users (`id`, `user_name`, `time_zone`, `email1`, `status`, ...).

        A non-admin may not list Users (ACCESS_DENIED): then only the own user is returned,
        from its Users record, or else from what the login reply told.
        """
        try:
            return self.query_all("SELECT * FROM Users")
        except VtigerForbidden as err:
            _LOGGER.info("vtiger user %s may not list users (%s): only itself", self.user, err)
        self._ensure_session()
        try:
            return [self.retrieve(self.user_id)]
        except (VtigerForbidden, VtigerNotFound) as err:
            _LOGGER.info("vtiger user %s cannot read its own record (%s)", self.user, err)
        return [{**self.profile, "id": self.user_id, "user_name": self.user}]

    # records -----------------------------------------------------------------------------

    def query(self, vtql: str) -> list[dict[str, Any]]:
        """Run one VTQL statement (at most 100 rows come back)."""
        return list(self._call("query", "GET", {"query": vtql}))

    def query_all(self, select: str, order_by: str = "id") -> list[dict[str, Any]]:
        """Run `select` (SELECT ... FROM ... [WHERE ...], no `;`) paging past the 100-row clamp."""
        rows: list[dict[str, Any]] = []
        for page in range(_MAX_PAGES):
            batch = self.query(f"{select} ORDER BY {order_by} LIMIT {page * PAGE},{PAGE};")
            rows.extend(batch)
            if len(batch) < PAGE:
                return rows
        raise VtigerTransient("TOO_MANY_PAGES", f"more than {_MAX_PAGES} pages", "query")

    def retrieve(self, ws_id: str) -> dict[str, Any]:
        """Return record `ws_id`; VtigerNotFound when deleted or unknown."""
        try:
            return dict(self._call("retrieve", "GET", {"id": ws_id}))
        except VtigerForbidden as err:
            if "read given object" in err.message:
                raise  # another user's private record: it exists
            raise VtigerNotFound(err.code, err.message, "retrieve") from err

    def create(self, module: str, element: dict[str, Any]) -> dict[str, Any]:
        """Create a record in `module`; return it as stored.

        Never retried once sent: after a lost reply the record may exist, and a second
        create would duplicate it. The engine adopts it next round by its content.
        """
        params = {"elementType": module, "element": json.dumps(element)}
        return dict(self._call("create", "POST", params, retry=False, resend=False))

    def revise(self, element: dict[str, Any]) -> dict[str, Any]:
        """Change the fields in `element` (which carries `id`); return the stored record."""
        return dict(self._call("revise", "POST", {"element": json.dumps(element)}))

    def delete(self, ws_id: str) -> None:
        """Delete `ws_id`; deleting an already deleted or unknown id is not an error."""
        try:
            self._call("delete", "POST", {"id": ws_id})
        except VtigerForbidden:
            try:
                self.retrieve(ws_id)
            except VtigerNotFound:
                return  # gone already
            raise

    # change feed -------------------------------------------------------------------------

    def sync(self, module: str, since: int, sync_type: str = "user") -> SyncResult:
        """Return every change to `module` since epoch `since`, looping while `more`.

        `sync_type="application"` (admin key) returns all users' records in one feed.
        Raises SyncUnavailable when the server answers HTTP 500 (vtiger on PHP 8).
        """
        updated: dict[str, dict[str, Any]] = {}
        deleted: dict[str, None] = {}
        cursor = since
        for _ in range(_MAX_SYNC_ROUNDS):
            params = {"modifiedTime": cursor, "elementType": module, "syncType": sync_type}
            try:
                res = self._call("sync", "GET", params, retry=False)
            except VtigerTransient as err:
                self.sync_works = False
                raise SyncUnavailable(err.code, err.message, "sync") from err
            self.sync_works = True
            for rec in res.get("updated") or []:
                updated[str(rec["id"])] = rec
                deleted.pop(str(rec["id"]), None)
            for ws_id in res.get("deleted") or []:
                deleted[str(ws_id)] = None
                updated.pop(str(ws_id), None)
            last = int(res.get("lastModifiedTime") or cursor)
            if not res.get("more"):
                return SyncResult(list(updated.values()), list(deleted), max(last, cursor))
            if last <= cursor:
                raise VtigerTransient("SYNC_STALLED", f"sync cursor stuck at {cursor}", "sync")
            cursor = last
        raise VtigerTransient("SYNC_STALLED", "too many sync rounds", "sync")

    def changes_by_query(
        self, module: str, since: int, owner: str | None = None
    ) -> list[dict[str, Any]]:
        """Return records of `module` modified at or after `since` (the VTQL fallback)."""
        where = f"modifiedtime >= {vtql_quote(vt_stamp(since))}"
        if owner:
            where += f" AND assigned_user_id = {vtql_quote(owner)}"
        return self.query_all(f"SELECT * FROM {module} WHERE {where}")

    def holds_exactly(self, module: str, n: int, owner: str | None = None) -> bool:
        """Return True when `module` (optionally of one owner) has exactly `n` live records.

        One query whatever `n`: vtiger 8.4 answers `count(*)` with `[]`, so this reads the
        rows at offsets n-1 and n instead; exactly one comes back when there are `n`.
        """
        where = f" WHERE assigned_user_id = {vtql_quote(owner)}" if owner else ""
        rows = self.query(
            f"SELECT id FROM {module}{where} ORDER BY id LIMIT {max(n - 1, 0)},{2 if n else 1};"
        )
        return len(rows) == (1 if n else 0)

    def live_ids(self, module: str, owner: str | None = None) -> list[str]:
        """Return the ids of every live record of `module` (optionally of one owner)."""
        where = f" WHERE assigned_user_id = {vtql_quote(owner)}" if owner else ""
        return [str(r["id"]) for r in self.query_all(f"SELECT id FROM {module}{where}")]
