"""The emulator's ASGI app: `create_app()` wires the Calendar, Tasks, batch, OAuth and control
endpoints onto one catch-all route so batched calls go through the same pipeline; API requests
wait the configured latency first (the control API never does)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response

from calsync.emulators.google import batch, calendar, consent, control, eventlist, events, oauth
from calsync.emulators.google import tasks as tasks_api
from calsync.emulators.google.accounts import ensure_account
from calsync.emulators.google.config import EmulatorConfig
from calsync.emulators.google.errors import ApiError
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.google.store import Store
from calsync.emulators.google.wire import Req, Resp

ROUTES = [*calendar.ROUTES, *eventlist.ROUTES, *events.ROUTES, *tasks_api.ROUTES]
_BATCH_PATHS = ("/batch/calendar/v3", "/batch", "/batch/tasks/v1")
_TOKEN_PATHS = ("/token", "/o/oauth2/token", "/oauth2/v4/token")


def build_emulator(config: EmulatorConfig | None = None, db: str | Path | None = None) -> Emulator:
    """Return an emulator (state + pipeline) without any web framework around it."""
    return Emulator(Store(config, db), ROUTES)


def _oauth(emu: Emulator, req: Req) -> Resp | None:
    """Answer the OAuth endpoints (faults may target them too); None for other paths."""
    store = emu.store
    handlers = {
        ("GET", "/o/oauth2/auth"): lambda: consent.authorize_page(store, req),
        ("GET", "/o/oauth2/v2/auth"): lambda: consent.authorize_page(store, req),
        ("POST", "/o/oauth2/approve"): lambda: consent.approve(
            store, req, lambda email: ensure_account(store, email)
        ),
        ("POST", "/revoke"): lambda: oauth.revoke_endpoint(store, req),
        ("POST", "/o/oauth2/revoke"): lambda: oauth.revoke_endpoint(store, req),
        ("GET", "/tokeninfo"): lambda: oauth.tokeninfo_endpoint(store, req),
        ("POST", "/tokeninfo"): lambda: oauth.tokeninfo_endpoint(store, req),
    }
    for path in _TOKEN_PATHS:
        handlers[("POST", path)] = lambda: oauth.token_endpoint(store, req)
    handler = handlers.get((req.method, req.path))
    if handler is None:
        return None
    with store.lock:
        fault = emu.take_fault(req.method, req.path, None)
        if fault is not None and fault.mode == "fail":
            err = fault.error()
            return Resp(err.status, err.body())
        resp = handler()
        store.flush()
        return resp


def handle(emu: Emulator, req: Req) -> Resp:
    """Answer any request the emulator serves."""
    if req.path.startswith("/_emulator/"):
        return control.dispatch(emu, req)
    answered = _oauth(emu, req)
    if answered is not None:
        return answered
    if req.method == "POST" and req.path in _BATCH_PATHS:
        with emu.store.lock:
            fault = emu.take_fault(req.method, req.path, None)
            if fault is not None and fault.mode == "fail":
                err: ApiError = fault.error()
                return Resp(err.status, err.body())
        resp = batch.handle_batch(emu, req)
        if fault is not None:
            # `apply_then_fail`: every part ran, the batch's reply is lost.
            err = fault.error()
            return Resp(err.status, err.body())
        return resp
    return emu.call(req)


def create_app(
    config: EmulatorConfig | None = None,
    db: str | Path | None = None,
    emulator: Emulator | None = None,
) -> FastAPI:
    """Return the emulator as an ASGI app; `app.state.emulator` gives tests the state in process."""
    emu = emulator or build_emulator(config, db)
    app = FastAPI(title="Google API emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = emu

    @app.api_route(
        "/{full_path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def catch_all(request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name.lower()] = value
        req = Req(
            method=request.method,
            path=raw_path.decode("latin-1").split("?", 1)[0],
            query=parse_qs(request.url.query, keep_blank_values=True),
            headers=headers,
            body=await request.body(),
        )
        latency = emu.store.config.latency_ms
        if latency > 0 and not req.path.startswith("/_emulator/"):
            # Awaited, not slept: concurrent callers wait side by side, as on Google.
            await asyncio.sleep(latency / 1000)
        resp = handle(emu, req)
        if resp.status in (204, 304):
            return Response(status_code=resp.status, headers=resp.headers)
        return Response(
            content=resp.payload(),
            status_code=resp.status,
            headers=resp.headers,
            media_type=resp.content_type,
        )

    return app
