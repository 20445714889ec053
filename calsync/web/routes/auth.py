"""Sign-in and sign-out: calsync's own accounts (argon2) and CRM users (checked by the CRM);
the header's language switcher."""

from __future__ import annotations

import logging
import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from calsync.state.records import Role, UserRecord
from calsync.web import i18n
from calsync.web.deps import Ctx, MaybeUser, end_session, start_session
from calsync.web.pages import redirect, render, safe_next, translator
from calsync.web.security import client_address

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["auth"])


def _home(user: UserRecord) -> str:
    return "/admin" if user.role == Role.ADMIN else "/me"


@router.get("/")
def index(user: MaybeUser) -> Response:
    """Send the browser to its home page, or to the sign-in page."""
    return redirect(_home(user) if user else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Ctx, user: MaybeUser, next: str = "") -> Response:
    """Show the sign-in form."""
    if user is not None:
        return redirect(safe_next(next, _home(user)))
    return render(request, ctx.templates, "login.html", next=next, form={}, crm=ctx.config.crm)


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the credentials; on success start a fresh session."""
    name = username.strip()
    client = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        ctx.config.trusted_proxies,
    )
    # Counted before the password is checked, so a burst of guesses sent at once cannot all
    # pass the backoff before the first of them is counted.
    wait = ctx.login_throttle.reserve(name, client) if name else 0.0
    if wait > 0:
        ctx.metrics.logins.labels("throttled").inc()
        _LOGGER.warning("sign-in for %r from %s throttled", name, client)
        _ = translator(request)
        response = render(
            request,
            ctx.templates,
            "login.html",
            status_code=429,
            next=next,
            form={"username": name},
            error=_("Too many failed sign-ins. Try again in %(wait)s.")
            % {"wait": _duration(request, wait)},
            crm=ctx.config.crm,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = _authenticate(ctx, name, password)
    if user is None:
        if name:
            ctx.login_throttle.failed(name, client)
        ctx.metrics.logins.labels("refused").inc()
        _LOGGER.info("sign-in refused for %r", name)
        _ = translator(request)
        return render(
            request,
            ctx.templates,
            "login.html",
            status_code=401,
            next=next,
            form={"username": name},
            error=_("Wrong user name or password."),
            crm=ctx.config.crm,
        )
    ctx.login_throttle.succeeded(name, client)
    ctx.metrics.logins.labels("ok").inc()
    start_session(request, ctx, user)
    if user.role != Role.ADMIN:
        # The page speaks the language the CRM speaks to this user (until they pick another).
        language = ctx.app.accounts.crm_language(user.name)
        if language:
            request.session[i18n.SESSION_LANG] = language
    return redirect(safe_next(next, _home(user)))


def _duration(request: Request, seconds: float) -> str:
    ctx = request.app.state.ctx
    t = ctx.catalogs.get(i18n.language_of(request))
    if seconds < 90:
        n = math.ceil(seconds)
        return str(t.ngettext("%(n)d second", "%(n)d seconds", n) % {"n": n})
    n = math.ceil(seconds / 60)
    return str(t.ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n})


def _authenticate(ctx: Ctx, name: str, password: str) -> UserRecord | None:
    if not name or not password:
        return None
    known = ctx.store.get_user(name)
    # Every name costs one password hash: without a calsync password (unknown name, CRM
    # user) the store checks against a dummy hash, so the time taken tells no one which
    # names have an account.
    matches = ctx.store.verify_password(name, password)
    if known is not None and known.has_password:
        # An account with a calsync password never falls back to the CRM check.
        return known if matches else None
    try:
        accepted = ctx.crm_auth.check(name, password)
    except Exception as err:  # the CRM being down must read as a refusal, not a crash
        _LOGGER.warning("CRM sign-in check failed for %r: %s", name, err)
        return None
    if not accepted:
        return None
    return known if known is not None else ctx.store.upsert_user(name)


@router.post("/logout")
def logout(request: Request, ctx: Ctx) -> Response:
    """End the session, here and in the store (a copy of the cookie stops working too)."""
    end_session(request, ctx)
    return redirect("/login")


@router.post("/language")
def choose_language(
    request: Request,
    ctx: Ctx,
    language: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Keep the language picked in the header for this browser (a cookie), then go back."""
    response = redirect(safe_next(next, "/"))
    if language in i18n.LANGUAGES:
        i18n.remember_choice(response, language, secure=ctx.config.https)
    return response
