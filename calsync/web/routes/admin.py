"""The administrator's page: Google OAuth client, redirect URI, API budget, CRM, users."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from calsync.passwords import password_problem
from calsync.quota import quota_day
from calsync.state.records import GoogleLink, Role, SyncRun, UserRecord
from calsync.web.context import WebContext
from calsync.web.deps import AdminUser, Ctx
from calsync.web.pages import flash, redirect, render
from calsync.web.services import (
    SETTING_CLIENT_ID,
    SETTING_CLIENT_SECRET,
    SETTING_DAILY_BUDGET,
    SETTING_REDIRECT_URI,
    VTIGER_CALLBACK,
)

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])


@dataclass(frozen=True, slots=True)
class UserRow:
    user: UserRecord
    link: GoogleLink | None
    run: SyncRun | None


def default_redirect_uri(request: Request, ctx: WebContext) -> str:
    """Return `<base>/oauth/callback`, the redirect URI calsync suggests."""
    base = ctx.config.public_url or str(request.base_url).rstrip("/")
    return f"{base}/oauth/callback"


def redirect_uri(request: Request, ctx: WebContext) -> str:
    """Return the OAuth redirect URI to register with Google (the admin's choice first)."""
    return ctx.store.get_setting(SETTING_REDIRECT_URI) or default_redirect_uri(request, ctx)


def check_redirect_uri(text: str) -> str | None:
    """Return why `text` cannot be the redirect URI, or None when calsync can serve it."""
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.netloc or any(c.isspace() for c in text):
        return "An absolute http(s) URL, e.g. https://calsync.example.com/oauth/callback."
    if url.fragment:
        return "A redirect URI has no #fragment."
    query = dict(parse_qsl(url.query))
    if url.path.endswith("/oauth/callback") and not url.query:
        return None
    if url.path.endswith("/index.php") and all(
        query.get(k) == v for k, v in VTIGER_CALLBACK.items()
    ):
        return None
    return (
        "calsync answers at <base>/oauth/callback, or at vtiger's"
        " index.php?module=GoogleSync&action=AuthCallBack&mode=callback."
    )


def _page(
    request: Request,
    ctx: WebContext,
    admin: UserRecord,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    cid, secret = ctx.client_credentials()
    budget = ctx.store.get_setting(SETTING_DAILY_BUDGET) or str(ctx.config.daily_budget)
    rows = [
        UserRow(u, ctx.store.get_link(u.name), ctx.store.last_run(u.name))
        for u in ctx.store.list_users()
        if u.role != Role.ADMIN or ctx.store.get_link(u.name) is not None
    ]
    return render(
        request,
        ctx.templates,
        "admin.html",
        status_code=status_code,
        user=admin,
        form=form
        if form is not None
        else {
            "client_id": cid,
            "daily_budget": budget,
            "redirect_uri": ctx.store.get_setting(SETTING_REDIRECT_URI) or "",
        },
        default_redirect_uri=default_redirect_uri(request, ctx),
        errors=errors or {},
        secret_stored=bool(secret),
        redirect_uri=redirect_uri(request, ctx),
        crm=ctx.config.crm,
        crm_url=ctx.config.crm_url,
        crm_user=ctx.config.crm_user,
        can_test_crm=ctx.crm_probe is not None,
        calls_today=ctx.store.calls_on(quota_day()),
        rows=rows,
    )


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, ctx: Ctx, admin: AdminUser) -> Response:
    """Show the admin settings and the users."""
    return _page(request, ctx, admin)


@router.post("/google")
def save_google(
    request: Request,
    ctx: Ctx,
    admin: AdminUser,
    client_id: Annotated[str, Form()] = "",
    client_secret: Annotated[str, Form()] = "",
    daily_budget: Annotated[str, Form()] = "",
    redirect_uri_override: Annotated[str, Form(alias="redirect_uri")] = "",
) -> Response:
    """Store the OAuth client, redirect URI and daily budget; nothing unless all is valid."""
    errors: dict[str, str] = {}
    cid = client_id.strip()
    if not cid:
        errors["client_id"] = "The client ID is required (Google Cloud console → Credentials)."
    elif len(cid) > 300 or any(c.isspace() for c in cid):
        errors["client_id"] = "A client ID has no spaces and is at most 300 characters."
    secret = client_secret.strip()
    if not secret and not ctx.client_credentials()[1]:
        errors["client_secret"] = "The client secret is required."
    budget_text = daily_budget.strip()
    try:
        budget = int(budget_text)
        if budget < 1:
            raise ValueError
    except ValueError:
        errors["daily_budget"] = "The daily budget is a whole number of API calls, 1 or more."
    override = redirect_uri_override.strip()
    if override and (problem := check_redirect_uri(override)):
        errors["redirect_uri"] = problem
    if errors:
        # Keep what was typed, except the secret, which is never sent back to the browser.
        form = {
            "client_id": client_id,
            "daily_budget": daily_budget,
            "redirect_uri": redirect_uri_override,
        }
        return _page(request, ctx, admin, form=form, errors=errors, status_code=400)
    ctx.store.set_setting(SETTING_CLIENT_ID, cid)
    if secret:
        ctx.store.set_setting(SETTING_CLIENT_SECRET, secret, secret=True)
    ctx.store.set_setting(SETTING_DAILY_BUDGET, str(budget))
    ctx.store.set_setting(SETTING_REDIRECT_URI, override or None)
    _LOGGER.info("admin %s updated the Google client settings", admin.name)
    flash(request, "Google settings saved.", "ok")
    return redirect("/admin")


@router.post("/password")
def change_password(
    request: Request,
    ctx: Ctx,
    admin: AdminUser,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Replace the admin's (one-time) password after checking the current one."""
    errors: dict[str, str] = {}
    if not ctx.store.verify_password(admin.name, current):
        errors["current"] = "This is not your current password."
    if problem := password_problem(new):
        errors["new"] = problem
    elif new != confirm:
        errors["confirm"] = "The two new passwords differ."
    if errors:
        return _page(request, ctx, admin, errors=errors, status_code=400)
    ctx.store.set_password(admin.name, new)
    _LOGGER.info("admin %s changed their password", admin.name)
    flash(request, "Password changed.", "ok")
    return redirect("/admin")


@router.post("/crm-test")
def test_crm(request: Request, ctx: Ctx, admin: AdminUser) -> Response:
    """Try the CRM connection and say how it went."""
    if ctx.crm_probe is None:
        flash(request, "No connection test is available for this CRM.", "warn")
        return redirect("/admin")
    try:
        message = ctx.crm_probe()
    except Exception as err:  # the reason is what the admin needs to see
        flash(request, f"CRM connection failed: {err}", "error")
    else:
        flash(request, f"CRM connection works: {message}", "ok")
    return redirect("/admin")
