"""The emulator object: state plus the run-time parts (faults, rate limits, stats, request log)
and the pipeline every API call goes through, directly or inside a batch."""

from __future__ import annotations

import copy
import json
import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote

from calsync.emulators.google import fields, oauth
from calsync.emulators.google.errors import ApiError, auth_error, rate_limited
from calsync.emulators.google.push import Push
from calsync.emulators.google.store import Store
from calsync.emulators.google.wire import Ctx, Req, Resp, Route, match

_LOGGER = logging.getLogger(__name__)


@dataclass
class Fault:
    """A scripted failure for the next `count` matching calls."""

    id: int
    status: int
    reason: str | None = None
    message: str | None = None
    domain: str | None = None
    count: int = 1
    path_prefix: str = ""
    method: str | None = None
    account: str | None = None
    mode: str = "fail"
    """`fail` answers without running the call; `apply_then_fail` runs it, then answers the
    error (a write applied whose reply was lost)."""

    def matches(self, method: str, path: str, account: str | None) -> bool:
        """Tell whether this fault applies to a call."""
        if self.count == 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.account and self.account != account:
            return False
        return path.startswith(self.path_prefix) or unquote(path).startswith(self.path_prefix)

    def error(self) -> ApiError:
        """Return the error this fault answers with."""
        return ApiError(self.status, self.reason, self.message, domain=self.domain)


class Stats:
    """Counts API calls like Google's quota does (each batched call counts one)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.total = 0
        self.batches = 0
        self.by_account: dict[str, int] = {}
        self.by_method: dict[str, int] = {}
        self.by_account_method: dict[str, dict[str, int]] = {}
        self.by_status: dict[str, int] = {}

    def count(self, account: str, method: str, status: int) -> None:
        """Count one call."""
        self.total += 1
        self.by_account[account] = self.by_account.get(account, 0) + 1
        self.by_method[method] = self.by_method.get(method, 0) + 1
        per = self.by_account_method.setdefault(account, {})
        per[method] = per.get(method, 0) + 1
        self.by_status[str(status)] = self.by_status.get(str(status), 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """Return the counters as JSON."""
        return {
            "total": self.total,
            "batches": self.batches,
            "by_account": self.by_account,
            "by_method": self.by_method,
            "by_account_method": self.by_account_method,
            "by_status": self.by_status,
        }


class RateLimiter:
    """Sliding one-minute windows per user and per project, on the emulator clock."""

    def __init__(self) -> None:
        self.user_calls: dict[str, deque[float]] = {}
        self.project_calls: deque[float] = deque()
        self.day = 0
        self.day_calls = 0

    @staticmethod
    def _trim(window: deque[float], now: float) -> None:
        while window and window[0] <= now - 60:
            window.popleft()

    def check(self, store: Store, account: str) -> None:
        """Count a call, or raise the rate-limit error when a window is full."""
        cfg = store.config
        now = store.now()
        if cfg.daily_limit_per_project is not None:
            if int(now // 86400) != self.day:
                self.day, self.day_calls = int(now // 86400), 0
            if self.day_calls >= cfg.daily_limit_per_project:
                raise ApiError(
                    403, "dailyLimitExceeded", "Daily Limit Exceeded", domain="usageLimits"
                )
            self.day_calls += 1
        if cfg.rate_limit_per_user is None and cfg.rate_limit_per_project is None:
            return
        user = self.user_calls.setdefault(account, deque())
        self._trim(user, now)
        self._trim(self.project_calls, now)
        if cfg.rate_limit_per_user is not None and len(user) >= cfg.rate_limit_per_user:
            raise rate_limited(cfg.rate_limit_status)
        if (
            cfg.rate_limit_per_project is not None
            and len(self.project_calls) >= cfg.rate_limit_per_project
        ):
            raise rate_limited(cfg.rate_limit_status)
        user.append(now)
        self.project_calls.append(now)


def _shape(req: Req, resp: Resp) -> Resp:
    """Apply the `fields` partial-response selection to a successful JSON answer."""
    selection = req.q("fields")
    if selection and resp.status == 200 and isinstance(resp.body, dict):
        resp.body = fields.apply(resp.body, fields.parse(selection))
    return resp


class Emulator:
    """Everything one emulator instance holds; `call()` runs one API call end to end."""

    def __init__(self, store: Store, routes: list[Route]) -> None:
        self.store = store
        self.routes = routes
        self.initial_config = copy.deepcopy(store.config)
        self.push = Push(store)
        """Watch channels and the delivery of their notifications."""
        self.reset_runtime()

    def reset_runtime(self) -> None:
        """Drop faults, counters, rate windows, channels and the request log."""
        self.faults: list[Fault] = []
        self.fault_seq = 0
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.requests: list[dict[str, Any]] = []
        self.push.reset()

    def notify_changes(self) -> None:
        """Send `exists` to the channels of every calendar whose events changed since the
        last call (under the store's lock)."""
        changed = self.store.changed_calendars
        if changed:
            self.push.changed(set(changed))
            changed.clear()

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        """Register a fault from its control-API JSON."""
        self.fault_seq += 1
        allowed = {
            "status",
            "reason",
            "message",
            "domain",
            "count",
            "path_prefix",
            "method",
            "account",
            "mode",
        }
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = Fault(id=self.fault_seq, **spec)
        if fault.mode not in ("fail", "apply_then_fail"):
            raise ValueError("mode must be 'fail' or 'apply_then_fail'")
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str, account: str | None) -> Fault | None:
        """Return (and use up one count of) the first fault matching a call."""
        for fault in self.faults:
            if fault.matches(method, path, account):
                if fault.count > 0:
                    fault.count -= 1
                return fault
        return None

    def faults_json(self) -> list[dict[str, Any]]:
        """Return the faults still armed."""
        return [asdict(f) for f in self.faults if f.count != 0]

    def call(self, req: Req, batch: bool = False) -> Resp:
        """Run one API call: fault, auth, scope, rate limit, handler; count and log it."""
        with self.store.lock:
            found = match(self.routes, req.method, req.path)
            name = found[0].name if found else "unknown"
            who = oauth.bearer(self.store, req.headers.get("authorization", ""))
            account = who[0] if who else None
            try:
                fault = self.take_fault(req.method, req.path, account)
                if fault and fault.mode == "fail":
                    raise fault.error()
                if who is None:
                    raise auth_error()
                if found is None:
                    raise ApiError(404, "notFound", "Not Found")
                route, params = found
                if self.store.config.enforce_scopes:
                    oauth.check_scope(who[1], route.family, route.write)
                self.limiter.check(self.store, who[0])
                if req.q("sendUpdates") not in (None, "all", "externalOnly", "none"):
                    raise ApiError(
                        400,
                        "invalid",
                        "Invalid Value",
                        domain="global",
                        location="sendUpdates",
                        location_type="parameter",
                    )
                resp = route.handler(Ctx(self, req, who[0]), **params)
                if fault is not None:
                    raise fault.error()
                resp = _shape(req, resp)
            except ApiError as err:
                resp = Resp(err.status, err.body())
            resp.pretty = req.q("prettyPrint") not in ("false", "0")
            self.stats.count(account or "anonymous", name, resp.status)
            self._log(req, name, account, resp.status, batch)
            # After the call, whatever it answered: an apply-then-fail write changed the events.
            self.notify_changes()
            self.store.flush()
            return resp

    def _log(self, req: Req, name: str, account: str | None, status: int, batch: bool) -> None:
        body: Any = None
        if req.body:
            try:
                body = json.loads(req.body)
            except ValueError:
                body = req.body.decode("utf-8", "replace")
        self.requests.append(
            {
                "seq": len(self.requests) + 1,
                "method": req.method,
                "path": unquote(req.path),
                "query": req.query,
                "api_method": name,
                "account": account,
                "status": status,
                "batch": batch,
                "if_match": req.headers.get("if-match"),
                "body": body,
            }
        )
        _LOGGER.debug("%s %s -> %s", req.method, req.path, status)
