"""The signed-in user's sync page: link, preferences, calendars, "Sync now", log, conflicts.

Every handler acts on the session's user only: no form field or path names a user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from calsync.prefs import (
    Direction,
    HoursWindow,
    Prefs,
    PrefsError,
    PrivateMode,
    Winner,
    parse_days,
    parse_enum,
)
from calsync.state.records import GoogleLink, LinkStatus, UserRecord
from calsync.web.context import WebContext
from calsync.web.deps import Ctx, CurrentUser
from calsync.web.google import SCOPE_TASKS
from calsync.web.pages import flash, redirect, render
from calsync.web.services import (
    CalendarInfo,
    GoogleError,
)

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/me", tags=["me"])


@dataclass(slots=True)
class GoogleLists:
    """The linked account's calendars and task lists, or why they could not be read."""

    calendars: list[CalendarInfo] = field(default_factory=list)
    tasklists: list[CalendarInfo] = field(default_factory=list)
    error: str = ""
    tasks_granted: bool = False


def _lists(ctx: WebContext, link: GoogleLink | None) -> GoogleLists:
    out = GoogleLists()
    if link is None or not link.refresh_token or link.status == LinkStatus.NEEDS_RECONNECT:
        return out
    # Reading the lists costs a token refresh and one or two calls: reuse them for a minute.
    key = (link.user, link.connected_at.isoformat(), link.google_email)
    cached = ctx.lists_cache.get(key)
    if isinstance(cached, GoogleLists):
        return cached
    out.tasks_granted = SCOPE_TASKS in link.scopes
    cid, secret = ctx.client_credentials()
    if not cid or not secret:
        out.error = "The administrator has not set up the Google client: calendars cannot be read."
        return out
    try:
        out.calendars = ctx.google.calendars(
            client_id=cid, client_secret=secret, refresh_token=link.refresh_token
        )
        if out.tasks_granted:
            out.tasklists = ctx.google.tasklists(
                client_id=cid, client_secret=secret, refresh_token=link.refresh_token
            )
    except GoogleError as err:
        if err.reason == "invalid_grant":
            ctx.store.set_link_status(link.user, LinkStatus.NEEDS_RECONNECT)
            out.error = "Google no longer accepts this connection: please reconnect."
        else:
            out.error = f"Could not read your calendars from Google: {err}"
    else:
        ctx.lists_cache.put(key, out)
    return out


def _calendar_name(lists: GoogleLists, cal_id: str) -> str:
    for cal in lists.calendars:
        if cal.id == cal_id or (cal_id == "primary" and cal.primary):
            return cal.summary
    return "Primary calendar" if cal_id == "primary" else cal_id


def _prefs_form(prefs: Prefs) -> dict[str, object]:
    return {
        "direction": prefs.direction.value,
        "winner": prefs.winner.value,
        "edit_beats_delete": prefs.edit_beats_delete,
        "days_past": str(prefs.days_past),
        "days_future": str(prefs.days_future),
        "hours": str(prefs.hours),
        "private": prefs.private.value,
        "target_calendar": prefs.calendars[0],
        "calendars": list(prefs.calendars[1:]),
        "tasklist": prefs.tasklist or "",
    }


def saved_prefs(ctx: WebContext, name: str) -> tuple[Prefs, str]:
    """Return the user's saved preferences; when they are unusable (saved before today's
    limits), the defaults and a message asking to save them again."""
    try:
        return ctx.store.get_prefs(name), ""
    except PrefsError as err:
        return Prefs(), f"Your saved preferences cannot be used ({err}): please save them again."


def page(
    request: Request,
    ctx: WebContext,
    user: UserRecord,
    *,
    form: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the user's page (with a rejected form's values and messages, when given)."""
    store = ctx.store
    link = store.get_link(user.name)
    prefs, problem = saved_prefs(ctx, user.name)
    if problem and not errors:
        errors = {"_form": problem}
    lists = _lists(ctx, link)
    if link is not None:
        link = store.get_link(user.name)  # the listing may have flagged it
    target = prefs.calendars[0]
    return render(
        request,
        ctx.templates,
        "me.html",
        status_code=status_code,
        user=user,
        link=link,
        prefs=prefs,
        paused=prefs.paused or (link is not None and link.status == LinkStatus.PAUSED),
        lists=lists,
        target_id=target,
        target_name=_calendar_name(lists, target),
        form=form if form is not None else _prefs_form(prefs),
        errors=errors or {},
        run=ctx.runner.status(user.name),
        last_run=store.last_run(user.name),
        log=store.logs(user.name, 100),
        conflicts=store.conflicts(user.name, 50),
        directions=[d.value for d in Direction],
        winners=[w.value for w in Winner],
        privates=[p.value for p in PrivateMode],
    )


@router.get("", response_class=HTMLResponse)
def me_page(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Show the user's sync page."""
    return page(request, ctx, user)


@router.get("/status", response_class=HTMLResponse)
def status_fragment(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Return the "last sync" fragment the page polls while a round runs."""
    return render(
        request,
        ctx.templates,
        "_status.html",
        user=user,
        run=ctx.runner.status(user.name),
        last_run=ctx.store.last_run(user.name),
        link=ctx.store.get_link(user.name),
    )


def parse_prefs(form: FormData, current: Prefs) -> tuple[Prefs | None, dict[str, str]]:
    """Return the preferences in `form` (or None) and a message per refused field."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str, minimum: int, what: str) -> int:
        try:
            return parse_days(text(name), what, minimum)
        except PrefsError as err:
            errors[name] = str(err)
            return minimum

    changes: dict[str, object] = {}
    for name, kind, what in (
        ("direction", Direction, "direction"),
        ("winner", Winner, "conflict winner"),
        ("private", PrivateMode, "private mode"),
    ):
        try:
            changes[name] = parse_enum(kind, text(name), what)
        except PrefsError as err:
            errors[name] = str(err)
    changes["edit_beats_delete"] = form.get("edit_beats_delete") == "on"
    changes["days_past"] = number("days_past", 0, "days back")
    changes["days_future"] = number("days_future", 1, "days ahead")
    try:
        changes["hours"] = HoursWindow.parse(text("hours") or "00:00-00:00")
    except PrefsError as err:
        errors["hours"] = str(err)
    target = text("target_calendar") or current.calendars[0]
    extra = [c for c in form.getlist("calendars") if isinstance(c, str) and c and c != target]
    changes["calendars"] = (target, *dict.fromkeys(extra))
    changes["tasklist"] = text("tasklist") or None
    if errors:
        return None, errors
    try:
        return current.with_(**changes), {}
    except PrefsError as err:
        return None, {"_form": str(err)}


def _typed(form: FormData) -> dict[str, object]:
    typed: dict[str, object] = {
        k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"
    }
    typed["edit_beats_delete"] = form.get("edit_beats_delete") == "on"
    typed["calendars"] = [c for c in form.getlist("calendars") if isinstance(c, str)]
    return typed


@router.post("/prefs")
async def save_prefs(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Store the user's preferences; refuse them all, field by field, if any is wrong."""
    form = await request.form()
    current, _problem = saved_prefs(ctx, user.name)
    prefs, errors = parse_prefs(form, current)
    if prefs is None:
        return page(request, ctx, user, form=_typed(form), errors=errors, status_code=400)
    ctx.store.set_prefs(user.name, prefs)
    flash(request, "Preferences saved.", "ok")
    return redirect("/me")


@router.post("/sync")
def sync_now(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Start a sync round in the background; the page shows its progress."""
    link = ctx.store.get_link(user.name)
    if link is None:
        flash(request, "Connect your Google account first.", "warn")
    elif link.status == LinkStatus.NEEDS_RECONNECT:
        flash(request, "Google refused the last sync: reconnect your account first.", "warn")
    elif saved_prefs(ctx, user.name)[0].paused or link.status == LinkStatus.PAUSED:
        flash(request, "Sync is paused: resume it first.", "warn")
    elif ctx.runner.start(user.name):
        flash(request, "Sync started.", "info")
    else:
        flash(request, "A sync is already running.", "info")
    return redirect("/me")


@router.post("/pause")
def pause(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Stop scheduled rounds for this user until resumed."""
    ctx.store.set_prefs(user.name, saved_prefs(ctx, user.name)[0].with_(paused=True))
    link = ctx.store.get_link(user.name)
    if link is not None and link.status == LinkStatus.OK:
        ctx.store.set_link_status(user.name, LinkStatus.PAUSED)
    flash(request, "Sync paused.", "ok")
    return redirect("/me")


@router.post("/resume")
def resume(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Let scheduled rounds run again."""
    ctx.store.set_prefs(user.name, saved_prefs(ctx, user.name)[0].with_(paused=False))
    link = ctx.store.get_link(user.name)
    if link is not None and link.status == LinkStatus.PAUSED:
        ctx.store.set_link_status(user.name, LinkStatus.OK)
    flash(request, "Sync resumed.", "ok")
    return redirect("/me")


@router.post("/reset")
def reset(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Forget pairs and cursors; the next round re-links items by the ids kept on Google."""
    ctx.store.wipe_pairs(user.name)
    ctx.store.wipe_cursors(user.name)
    flash(
        request,
        "Sync state reset. The next sync re-reads both sides and re-links what it finds"
        " (nothing is duplicated).",
        "ok",
    )
    return redirect("/me")


@router.post("/disconnect")
def disconnect(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Revoke the token at Google and forget the link (pairs are kept for a reconnect)."""
    link = ctx.store.get_link(user.name)
    if link is None:
        flash(request, "No Google account is connected.", "info")
        return redirect("/me")
    if link.refresh_token:
        try:
            ctx.google.revoke(link.refresh_token)
        except GoogleError as err:
            _LOGGER.warning("revoking %s's token failed: %s", user.name, err)
            flash(
                request,
                "Google could not be told to revoke access; remove calsync at"
                " myaccount.google.com/permissions.",
                "warn",
            )
    ctx.store.delete_link(user.name)
    flash(request, f"Disconnected {link.google_email}.", "ok")
    return redirect("/me")
