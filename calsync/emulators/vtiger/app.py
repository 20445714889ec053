"""HTTP layer of the vtiger emulator: `/webservice.php` with vtiger's envelope, and the control API.

`create_app(db=None, *, php7=False, utf8mb4=False)` builds the ASGI app: by default it
answers as a stock vtiger 8.4 on PHP 8 (`sync` broken, a 3-byte `utf8` database). The
control API (not vtiger's) lives under `/_emulator/` and is documented in docs/emulator-vtiger.md.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from calsync.emulators.vtiger import schema, series
from calsync.emulators.vtiger.errors import DENIED, WsError
from calsync.emulators.vtiger.ops import Php8Fatal, Service, ws_id
from calsync.emulators.vtiger.store import Store, User

_LOGGER = logging.getLogger(__name__)

# operation -> (HTTP method, needs no session)
_OPS: dict[str, tuple[str, bool]] = {
    "getchallenge": ("GET", True),
    "login": ("POST", True),
    "logout": ("POST", False),
    "listtypes": ("GET", False),
    "describe": ("GET", False),
    "query": ("GET", False),
    "retrieve": ("GET", False),
    "create": ("POST", False),
    "update": ("POST", False),
    "revise": ("POST", False),
    "delete": ("POST", False),
    "sync": ("GET", False),
}


@dataclass(slots=True)
class Fault:
    status: int
    count: int
    operation: str | None = None
    body: str = ""
    mode: str = "fail"
    """`fail` answers without running the call; `apply_then_fail` runs it, then answers the
    fault instead of its result (a write that landed but whose reply was lost)."""


class Emulator:
    """State shared by the routes: the service, injected faults, the request log."""

    def __init__(self, db: str | None, php8: bool, utf8mb4: bool) -> None:
        self.store = Store(db)
        self.service = Service(self.store, php8=php8, utf8mb4=utf8mb4)
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.calls_by_user: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=2000)

    def take_fault(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation in (None, operation):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None


def _envelope(result: Any) -> JSONResponse:
    return JSONResponse({"success": True, "result": result})


def _error(err: WsError) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": err.code, "message": err.message}})


async def _webservice(emu: Emulator, request: Request) -> Response:
    query = dict(request.query_params)
    form: dict[str, str] = {}
    if request.method == "POST":
        raw = await request.form()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
    operation = (query.get("operation") or form.get("operation") or "").lower()
    sid = query.get("sessionName") or form.get("sessionName") or ""
    entry: dict[str, Any] = {
        "time": emu.store.clock.epoch(),
        "method": request.method,
        "operation": operation,
        "user": None,
    }
    emu.log.append(entry)
    emu.calls[operation] += 1
    with emu.store.lock:
        response = _dispatch(emu, request.method, operation, sid, query, form, entry)
    entry["status"] = response.status_code
    return response


def _dispatch(
    emu: Emulator,
    method: str,
    operation: str,
    sid: str,
    query: dict[str, str],
    form: dict[str, str],
    entry: dict[str, Any],
) -> Response:
    fault = emu.take_fault(operation)
    if fault is not None and fault.mode == "fail":
        entry["fault"] = fault.status
        return Response(fault.body, status_code=fault.status)
    if operation not in _OPS:
        return Response(b"", status_code=500)  # unknown operation: a PHP fatal error
    want, prelogin = _OPS[operation]
    svc = emu.service
    params = query if want == "GET" else form
    try:
        if prelogin:
            if operation == "login" and method != "POST":
                raise WsError("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
            entry["user"] = params.get("username")
            fn: Callable[[dict[str, str]], Any] = getattr(svc, operation)
            result = fn(params)
        else:
            if not sid or sid.lower() == "null":
                raise WsError("AUTHENTICATION_REQUIRED", "Authencation required")
            user: User = svc.session_user(sid)
            entry["user"] = user.user_name
            emu.calls_by_user[user.user_name] += 1
            if method != want:
                raise WsError("ACCESS_DENIED", DENIED)
            if operation == "logout":
                result = svc.logout(user, params, sid)
            else:
                result = getattr(svc, operation)(user, params)
    except WsError as err:
        entry["error"] = err.code
        return _error(err)
    except Php8Fatal:
        return Response(b"", status_code=500)
    except Exception as err:  # vtiger wraps any other failure the same way
        _LOGGER.exception("emulated operation %s failed", operation)
        entry["error"] = "INTERNAL_SERVER_ERROR"
        return _error(WsError("INTERNAL_SERVER_ERROR", f"Internal error: {err}"))
    if fault is not None:
        # apply_then_fail: the operation ran; its reply is lost.
        entry["fault"] = fault.status
        return Response(fault.body, status_code=fault.status)
    return _envelope(result)


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(db: str | None = None, *, php7: bool = False, utf8mb4: bool = False) -> FastAPI:
    """Return the emulator app (SQLite in memory unless `db` names a file).

    Defaults are a stock vtiger 8.4 on PHP 8; `php7` makes `sync` work, `utf8mb4` keeps
    characters outside the BMP.
    """
    app = FastAPI(title="vtiger webservice emulator", docs_url=None, redoc_url=None)
    php8 = not php7
    emu = Emulator(db, php8, utf8mb4)
    app.state.emulator = emu

    @app.api_route("/webservice.php", methods=["GET", "POST"])
    async def webservice(request: Request) -> Response:
        return await _webservice(emu, request)

    @app.post("/_emulator/users")
    async def add_user(request: Request) -> Response:
        body = await request.json()
        name = str(body.get("user_name", "")).strip()
        if not name:
            return _bad("user_name is required")
        try:
            user = emu.store.add_user(
                name,
                is_admin=bool(body.get("is_admin", False)),
                time_zone=str(body.get("time_zone") or "UTC"),
                active=bool(body.get("active", True)),
                first_name=str(body.get("first_name", "")),
                last_name=str(body.get("last_name", "")),
                email=str(body.get("email", "")),
                language=str(body.get("language") or "en_us"),
            )
        except ValueError as err:
            return _bad(str(err), 409)
        return JSONResponse(
            {
                "user_name": user.user_name,
                "id": f"19x{user.id}",
                "access_key": user.access_key,
                "language": user.language,
            }
        )

    @app.patch("/_emulator/users/{user_name}")
    async def change_user(user_name: str, request: Request) -> Response:
        user = emu.store.set_user(user_name, **(await request.json()))
        if user is None:
            return _bad("no such user", 404)
        return JSONResponse(emu.service.render_user(user))

    @app.post("/_emulator/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        if "set" in body:
            emu.store.clock.offset = float(body["set"]) - (
                emu.store.clock.now() - emu.store.clock.offset
            )
        emu.store.clock.offset += float(body.get("advance", 0))
        return JSONResponse({"now": emu.store.clock.epoch(), "offset": emu.store.clock.offset})

    @app.post("/_emulator/faults")
    async def faults(request: Request) -> Response:
        body = await request.json()
        mode = str(body.get("mode", "fail"))
        if mode not in ("fail", "apply_then_fail"):
            return _bad("mode must be 'fail' or 'apply_then_fail'")
        fault = Fault(
            status=int(body.get("status", 500)),
            count=int(body.get("count", 1)),
            operation=(str(body["operation"]).lower() if body.get("operation") else None),
            body=str(body.get("body", "")),
            mode=mode,
        )
        emu.faults.append(fault)
        return JSONResponse({"pending": [asdict(f) for f in emu.faults]})

    @app.post("/_emulator/mandatory")
    async def mandatory(request: Request) -> Response:
        body = await request.json()
        module, field = str(body.get("module", "")), str(body.get("field", ""))
        if module not in schema.FIELDS or field not in {f.name for f in schema.FIELDS[module]}:
            return _bad("unknown module or field")
        emu.store.set_mandatory(module, field, bool(body.get("mandatory", True)))
        return JSONResponse(
            {
                "module": module,
                "mandatory": schema.mandatory_fields(module, emu.store.field_settings()),
            }
        )

    @app.post("/_emulator/config")
    async def config(request: Request) -> Response:
        body = await request.json()
        if "php8" in body:
            emu.service.php8 = bool(body["php8"])
        if "utf8mb4" in body:
            emu.service.utf8mb4 = bool(body["utf8mb4"])
        return JSONResponse({"php8": emu.service.php8, "utf8mb4": emu.service.utf8mb4})

    @app.post("/_emulator/records")
    async def raw_record(request: Request) -> Response:
        body = await request.json()
        module = str(body.get("module", "Events"))
        owner = emu.store.user_by_name(str(body.get("owner", "")))
        if module not in ("Events", "Calendar") or owner is None:
            return _bad("module must be Events or Calendar and owner a known user_name")
        fields = {k: str(v) for k, v in dict(body.get("fields") or {}).items()}
        rec = emu.store.insert(module, owner.id, fields, owner.id)
        return JSONResponse(emu.service.render(rec))

    @app.post("/_emulator/series")
    async def add_series(request: Request) -> Response:
        body = await request.json()
        owner = emu.store.user_by_name(str(body.get("owner", "")))
        rule = dict(body.get("rule") or {})
        fields = {k: str(v) for k, v in dict(body.get("fields") or {}).items()}
        if owner is None or not fields.get("date_start"):
            return _bad("owner must be a known user_name and fields need date_start")
        # What the UI's form sends besides the fields it shows.
        first = {"activitytype": "Meeting", "eventstatus": "Planned", "reminder_time": "0"}
        first.update(fields)
        try:
            made, kept = series.occurrences(
                first,
                str(rule.get("type", "")),
                int(rule.get("interval", 1)),
                int(rule.get("count", 0)),
            )
        except (ValueError, KeyError) as err:
            return _bad(str(err))
        recs = emu.store.insert_series("Events", owner.id, made, kept)
        return JSONResponse({"ids": [ws_id("Events", r.crmid) for r in recs]})

    @app.post("/_emulator/records/{ws_id}/module")
    async def move_record(ws_id: str, request: Request) -> Response:
        body = await request.json()
        fields = {k: str(v) for k, v in dict(body.get("fields") or {}).items()}
        try:
            with emu.store.lock:
                moved = emu.service.move(ws_id, str(body.get("module", "")), fields)
        except ValueError as err:
            return _bad(str(err), 404)
        return JSONResponse(moved)

    @app.get("/_emulator/stats")
    async def stats() -> Response:
        return JSONResponse(
            {
                "calls": dict(emu.calls),
                "by_user": dict(emu.calls_by_user),
                "total": emu.calls.total(),
            }
        )

    @app.get("/_emulator/log")
    async def log() -> Response:
        return JSONResponse(list(emu.log))

    @app.post("/_emulator/reset")
    async def reset() -> Response:
        emu.store.reset()
        emu.store.clock.offset = 0.0
        emu.service.php8 = php8
        emu.service.utf8mb4 = utf8mb4
        emu.service.clear()
        emu.faults.clear()
        emu.calls.clear()
        emu.calls_by_user.clear()
        emu.log.clear()
        return JSONResponse({"reset": True})

    return app
