"""The administrator's page: Google OAuth client, redirect URI, API budgets and usage (with
its chart and today's budget alerts), alert thresholds and the SMTP server, CRM, users."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from calsync.service import Api, MailError, Security, SettingsRefused
from calsync.state.records import UserRecord
from calsync.web.charts import SVG_HEADERS, usage_chart
from calsync.web.context import WebContext
from calsync.web.deps import AdminUser, Ctx, start_session
from calsync.web.pages import flash, redirect, render, translator

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])


def default_redirect_uri(request: Request, ctx: WebContext) -> str:
    """Return `<base>/oauth/callback`, the redirect URI calsync suggests."""
    base = ctx.config.public_url or str(request.base_url).rstrip("/")
    return f"{base}/oauth/callback"


def redirect_uri(request: Request, ctx: WebContext) -> str:
    """Return the OAuth redirect URI to register with Google (the admin's choice first)."""
    return ctx.app.settings.redirect_uri(default_redirect_uri(request, ctx))


def _page(
    request: Request,
    ctx: WebContext,
    admin: UserRecord,
    *,
    form: dict[str, str] | None = None,
    budget_form: dict[str, str] | None = None,
    alert_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = ctx.app.settings
    client = settings.google_client()
    crm = settings.crm()
    usage = ctx.app.usage.report(1)
    budgets = usage.budgets
    alerts = ctx.app.alerts
    smtp = alerts.smtp_view()
    return render(
        request,
        ctx.templates,
        "admin.html",
        status_code=status_code,
        user=admin,
        form=form
        if form is not None
        else {
            "client_id": client.client_id,
            "daily_budget": str(client.daily_budget),
            "redirect_uri": client.redirect_uri,
        },
        default_redirect_uri=default_redirect_uri(request, ctx),
        errors=errors or {},
        secret_stored=client.secret_stored,
        redirect_uri=redirect_uri(request, ctx),
        crm=crm.kind,
        crm_url=crm.url,
        crm_user=crm.user,
        calls_today=settings.calls_today(),
        rows=ctx.app.accounts.users(),
        usage=usage,
        apis=list(Api),
        budget_form=budget_form
        if budget_form is not None
        else {
            "calendar": str(budgets[Api.CALENDAR].project),
            "calendar_user": str(budgets[Api.CALENDAR].user),
            "tasks": str(budgets[Api.TASKS].project),
            "tasks_user": str(budgets[Api.TASKS].user),
        },
        alerts_today=alerts.today(),
        securities=[s.value for s in Security],
        smtp_password_stored=smtp.password_stored,
        alert_form=alert_form
        if alert_form is not None
        else {
            "thresholds": ", ".join(str(round(t * 100)) for t in alerts.thresholds()),
            "host": smtp.host,
            "port": str(smtp.port) if smtp.host else "",
            "security": smtp.security.value,
            "user": smtp.user,
            "sender": smtp.sender,
            "recipients": ", ".join(smtp.recipients),
        },
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
    _ = translator(request)
    try:
        ctx.app.settings.save_google_client(
            client_id=client_id,
            client_secret=client_secret,
            daily_budget=daily_budget,
            redirect_uri=redirect_uri_override,
        )
    except SettingsRefused as refused:
        # Keep what was typed, except the secret, which is never sent back to the browser.
        form = {
            "client_id": client_id,
            "daily_budget": daily_budget,
            "redirect_uri": redirect_uri_override,
        }
        return _page(request, ctx, admin, form=form, errors=refused.errors, status_code=400)
    _LOGGER.info("admin %s updated the Google client settings", admin.name)
    flash(request, _("Google settings saved."), "ok")
    return redirect("/admin")


@router.post("/budgets")
def save_budgets(
    request: Request,
    ctx: Ctx,
    admin: AdminUser,
    calendar: Annotated[str, Form()] = "",
    calendar_user: Annotated[str, Form()] = "",
    tasks: Annotated[str, Form()] = "",
    tasks_user: Annotated[str, Form()] = "",
) -> Response:
    """Store the daily budgets of each API, for the project and per user; all or nothing."""
    _ = translator(request)
    typed = {
        "calendar": calendar,
        "calendar_user": calendar_user,
        "tasks": tasks,
        "tasks_user": tasks_user,
    }
    try:
        ctx.app.settings.save_budgets(**typed)
    except SettingsRefused as refused:
        return _page(request, ctx, admin, budget_form=typed, errors=refused.errors, status_code=400)
    _LOGGER.info("admin %s updated the API budgets", admin.name)
    flash(request, _("API budgets saved."), "ok")
    return redirect("/admin")


@router.get("/usage.svg")
def usage_svg(request: Request, ctx: Ctx, admin: AdminUser) -> Response:
    """Return the chart of the last 30 quota days' calls per API (SVG, no script)."""
    svg = usage_chart(ctx.app.usage.report(30), translator(request))
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


@router.post("/alerts")
def save_alerts(
    request: Request,
    ctx: Ctx,
    admin: AdminUser,
    thresholds: Annotated[str, Form()] = "",
    host: Annotated[str, Form()] = "",
    port: Annotated[str, Form()] = "",
    security: Annotated[str, Form()] = "",
    user: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    sender: Annotated[str, Form()] = "",
    recipients: Annotated[str, Form()] = "",
) -> Response:
    """Store the alert thresholds and the SMTP server; all or nothing."""
    _ = translator(request)
    typed = {
        "thresholds": thresholds,
        "host": host,
        "port": port,
        "security": security,
        "user": user,
        "sender": sender,
        "recipients": recipients,
    }
    try:
        ctx.app.alerts.save(password=password, **typed)
    except SettingsRefused as refused:
        # What was typed comes back, except the password, never sent back to the browser.
        return _page(request, ctx, admin, alert_form=typed, errors=refused.errors, status_code=400)
    _LOGGER.info("admin %s updated the budget alerts and the SMTP server", admin.name)
    flash(request, _("Alert settings saved."), "ok")
    return redirect("/admin#alerts")


@router.post("/alerts/test")
def send_test_email(request: Request, ctx: Ctx, admin: AdminUser) -> Response:
    """Send a test email through the stored SMTP settings and say how it went."""
    _ = translator(request)
    try:
        sent_to = ctx.app.alerts.send_test()
    except MailError as err:
        flash(request, _("The test email was not sent: %(reason)s") % {"reason": err}, "error")
    else:
        flash(
            request,
            _("Test email sent to %(recipients)s.") % {"recipients": ", ".join(sent_to)},
            "ok",
        )
    return redirect("/admin#alerts")


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
    try:
        ctx.app.accounts.change_password(admin.name, current=current, new=new, confirm=confirm)
    except SettingsRefused as refused:
        return _page(request, ctx, admin, errors=refused.errors, status_code=400)
    # The new password ended every session of the admin; this browser signs in afresh.
    start_session(request, ctx, admin)
    _LOGGER.info("admin %s changed their password", admin.name)
    _ = translator(request)
    flash(
        request,
        _("Password changed; every other session of yours is signed out."),
        "ok",
    )
    return redirect("/admin")


@router.post("/users/{name:path}/sign-out")
def sign_out_user(request: Request, ctx: Ctx, admin: AdminUser, name: str) -> Response:
    """End every web session of the user `name` (copied cookies included)."""
    ended = ctx.store.end_sessions(name)
    _LOGGER.info("admin %s signed %s out (%d sessions)", admin.name, name, ended)
    _ = translator(request)
    flash(
        request,
        _("%(name)s is signed out everywhere (sessions ended: %(ended)d).")
        % {"name": name, "ended": ended},
        "ok",
    )
    if name == admin.name:
        return redirect("/login")
    return redirect("/admin")


@router.post("/crm-test")
def test_crm(request: Request, ctx: Ctx, admin: AdminUser) -> Response:
    """Try the CRM connection and say how it went."""
    _ = translator(request)
    try:
        message = ctx.app.settings.test_crm()
    except Exception as err:  # the reason is what the admin needs to see
        flash(request, _("CRM connection failed: %(reason)s") % {"reason": err}, "error")
    else:
        flash(request, _("CRM connection works: %(detail)s") % {"detail": message}, "ok")
    return redirect("/admin")
