"""The web app factory: `create_app(application, ...)` wires routers and sessions.

Nothing is built at import time; `calsync serve`, `calsync demo` and the tests call
`create_app` with the application layer (`calsync.service.Application`) they assembled. The
web app reaches the rest of calsync only through it.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from calsync.service import AccountService, Application
from calsync.web.context import CrmAuthenticator, WebConfig, WebContext
from calsync.web.deps import SESSION_IDLE, LoginRequired, check_csrf
from calsync.web.i18n import Catalogs
from calsync.web.metrics import WebMetrics
from calsync.web.pages import STATIC_DIR, make_templates, redirect, render
from calsync.web.routes import admin, auth, health, me, oauth, push
from calsync.web.runner import SyncRunner
from calsync.web.security import LoginThrottle, ensure_admin, session_key
from calsync.web.store import AppStore, FailureCounter

_LOGGER = logging.getLogger(__name__)

SESSION_COOKIE = "calsync_session"
SESSION_MAX_AGE = int(SESSION_IDLE.total_seconds())


class _CrmSignIn:
    """Signs CRM users in with their CRM credentials (password or vtiger access key)."""

    def __init__(self, accounts: AccountService) -> None:
        self._accounts = accounts

    def check(self, user: str, secret: str) -> bool:
        return self._accounts.sign_in_with_crm(user, secret)


def create_app(
    application: Application,
    *,
    crm_auth: CrmAuthenticator | None = None,
    public_url: str = "",
    bootstrap_admin: bool = True,
    announce: Callable[[str], None] | None = None,
) -> FastAPI:
    """Return the calsync web app over `application`.

    `crm_auth` checks CRM users' credentials (default: the CRM, through the account
    service); `public_url` is where users reach the app (for the OAuth redirect URI and, when
    https, the Secure cookie; default CALSYNC_PUBLIC_URL, else each request's own). With
    `bootstrap_admin`, a first run creates the `admin` account and passes its one-time
    password to `announce` (stderr by default).
    """
    store: AppStore = application.store
    settings = application.settings.config
    config = WebConfig(
        public_url=(public_url or settings.public_url).rstrip("/"),
        crm=application.settings.crm().kind,
        trusted_proxies=tuple(
            ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies
        ),
    )
    metrics = WebMetrics(application.metrics, calls_today=application.settings.calls_today)
    ctx = WebContext(
        config=config,
        app=application,
        store=store,
        runner=SyncRunner(application.rounds),
        crm_auth=crm_auth or _CrmSignIn(application.accounts),
        templates=make_templates(),
        metrics=metrics,
        login_throttle=LoginThrottle(_failure_counter(settings.redis_url, store)),
        catalogs=Catalogs(),
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
    for module in (auth, admin, me, oauth, health, push):
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


def _failure_counter(redis_url: str | None, store: AppStore) -> FailureCounter:
    """Return where failed sign-ins are counted: Redis when configured, else the state store."""
    if not redis_url:
        return store
    from calsync.web.redis_counter import RedisFailureCounter

    return RedisFailureCounter.from_url(redis_url)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
