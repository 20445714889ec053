"""The web app factory: `create_app(settings, store, service, ...)` wires routers and sessions.

Nothing is built at import time; the CLI (`calsync serve`, `calsync demo`) and tests call
`create_app` with their own store, sync service and CRM authenticator.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from calsync.quota import quota_day
from calsync.web.context import WebConfig, WebContext
from calsync.web.deps import SESSION_IDLE, LoginRequired, check_csrf
from calsync.web.google import SidesGoogleGateway
from calsync.web.metrics import WebMetrics
from calsync.web.pages import STATIC_DIR, make_templates, redirect, render
from calsync.web.routes import admin, auth, health, me, oauth
from calsync.web.runner import SyncRunner
from calsync.web.security import LoginThrottle, ensure_admin, session_key
from calsync.web.services import (
    CrmAuthenticator,
    CrmProbe,
    GoogleGateway,
    SyncServiceLike,
)
from calsync.web.store import AppStore, FailureCounter

_LOGGER = logging.getLogger(__name__)

SESSION_COOKIE = "calsync_session"
SESSION_MAX_AGE = int(SESSION_IDLE.total_seconds())


def create_app(
    settings: Any,
    store: AppStore,
    service: SyncServiceLike,
    *,
    crm_auth: CrmAuthenticator,
    google: GoogleGateway | None = None,
    crm_probe: CrmProbe | None = None,
    public_url: str = "",
    bootstrap_admin: bool = True,
    announce: Callable[[str], None] | None = None,
) -> FastAPI:
    """Return the calsync web app.

    `settings` is calsync's Settings (Google endpoints and client, CRM kind, public URL,
    trusted proxies); `store` the state store seen as an `AppStore`; `service` runs sync rounds;
    `crm_auth` checks CRM users' credentials; `google` defaults to HTTP calls at the
    configured endpoints. With `bootstrap_admin`, a first run creates the `admin` account
    and passes its one-time password to `announce` (stderr by default).
    """
    config = WebConfig.from_settings(settings, public_url)
    metrics = WebMetrics(calls_today=lambda: store.calls_on(quota_day()))
    if google is None:
        google = SidesGoogleGateway(
            auth_url=_setting(
                settings, "google_auth_url", "https://accounts.google.com/o/oauth2/auth"
            ),
            token_url=_setting(settings, "google_token_url", "https://oauth2.googleapis.com/token"),
            api_url=_setting(settings, "google_api_url", "https://www.googleapis.com"),
        )
    ctx = WebContext(
        config=config,
        store=store,
        runner=SyncRunner(service, metrics),
        google=google,
        crm_auth=crm_auth,
        crm_probe=crm_probe,
        templates=make_templates(),
        metrics=metrics,
        login_throttle=LoginThrottle(_failure_counter(settings, store)),
    )
    abandoned = store.abandon_dead_runs()
    if abandoned:
        _LOGGER.warning("%d sync runs were left running by a stopped process: abandoned", abandoned)
    if bootstrap_admin:
        password = ensure_admin(store)
        if password is not None:
            say = announce or _to_stderr
            say(
                "calsync: created the administrator account 'admin' with the one-time"
                f" password {password} (shown only now)"
            )

    app = FastAPI(
        title="calsync",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_csrf)],
    )
    app.state.ctx = ctx
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(store),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=config.https,
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for module in (auth, admin, me, oauth, health):
        app.include_router(module.router)
    app.include_router(oauth.compat_router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request") or request.method != "GET":
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return redirect(f"/login?next={_quote(exc.next_path)}")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        if not wants_html:
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return render(
            request,
            ctx.templates,
            "error.html",
            status_code=exc.status_code,
            status=exc.status_code,
            detail=exc.detail,
        )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            " frame-ancestors 'none'; form-action 'self' http: https:",
        )
        return response

    return app


def _failure_counter(settings: Any, store: AppStore) -> FailureCounter:
    """Return where failed sign-ins are counted: Redis when configured, else the state store."""
    url = getattr(settings, "redis_url", None)
    if not url:
        return store
    from calsync.web.redis_counter import RedisFailureCounter

    return RedisFailureCounter.from_url(str(url))


def _setting(settings: Any, name: str, default: str) -> str:
    value = getattr(settings, name, None)
    return str(value) if value else default


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
