"""The signed-in user's sync page: link, preferences, calendars, "Sync now", log, conflicts.

Every handler acts on the session's user only: no form field or path names a user.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from calsync.prefs import (
    DAYS_AHEAD,
    DAYS_BACK,
    DIRECTION,
    PRIVATE_MODE,
    WINNER,
    Direction,
    HoursWindow,
    Prefs,
    PrefsError,
    PrivateMode,
    Winner,
    parse_days,
    parse_enum,
)
from calsync.service import UserBusy
from calsync.state.records import UserRecord
from calsync.web.context import WebContext
from calsync.web.deps import Ctx, CurrentUser
from calsync.web.i18n import N_
from calsync.web.pages import flash, redirect, render, translator

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/me", tags=["me"])


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
    accounts = ctx.app.accounts
    prefs = accounts.prefs(user.name)
    if not errors and (problem := accounts.prefs_problem(user.name)):
        errors = {"_form": problem}
    lists = accounts.google_lists(user.name)
    link = accounts.link_of(user.name)  # read after the lists: reading them may flag it
    target = prefs.calendars[0]
    return render(
        request,
        ctx.templates,
        "me.html",
        status_code=status_code,
        user=user,
        link=link,
        prefs=prefs,
        paused=prefs.paused,
        lists=lists,
        target_id=target,
        target_name=lists.calendar_name(target),
        form=form if form is not None else _prefs_form(prefs),
        errors=errors or {},
        run=ctx.runner.status(user.name),
        last_run=accounts.last_run(user.name),
        log=accounts.logs(user.name, 100),
        conflicts=accounts.conflicts(user.name, 50),
        waiting=ctx.app.waiting(user.name),
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
        last_run=ctx.app.accounts.last_run(user.name),
        link=ctx.app.accounts.link_of(user.name),
    )


def parse_prefs(form: FormData, current: Prefs) -> tuple[Prefs | None, dict[str, str]]:
    """Return the preferences in `form` (or None) and a message per refused field.

    The messages are the ones `calsync.prefs` makes (marked, English); the page translates
    them where it shows them.
    """
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str, minimum: int, what: str) -> int:
        try:
            return parse_days(text(name), what, minimum)
        except PrefsError as err:
            errors[name] = err.message
            return minimum

    changes: dict[str, object] = {}
    for name, kind, what in (
        ("direction", Direction, DIRECTION),
        ("winner", Winner, WINNER),
        ("private", PrivateMode, PRIVATE_MODE),
    ):
        try:
            changes[name] = parse_enum(kind, text(name), what)
        except PrefsError as err:
            errors[name] = err.message
    changes["edit_beats_delete"] = form.get("edit_beats_delete") == "on"
    changes["days_past"] = number("days_past", 0, DAYS_BACK)
    changes["days_future"] = number("days_future", 1, DAYS_AHEAD)
    try:
        changes["hours"] = HoursWindow.parse(text("hours") or "00:00-00:00")
    except PrefsError as err:
        errors["hours"] = err.message
    target = text("target_calendar") or current.calendars[0]
    extra = [c for c in form.getlist("calendars") if isinstance(c, str) and c and c != target]
    changes["calendars"] = (target, *dict.fromkeys(extra))
    changes["tasklist"] = text("tasklist") or None
    if errors:
        return None, errors
    try:
        return current.with_(**changes), {}
    except PrefsError as err:
        return None, {"_form": err.message}


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
    _ = translator(request)
    form = await request.form()
    current = ctx.app.accounts.prefs(user.name)
    prefs, errors = parse_prefs(form, current)
    if prefs is None:
        return page(request, ctx, user, form=_typed(form), errors=errors, status_code=400)
    ctx.app.accounts.save_prefs(user.name, prefs)
    flash(request, _("Preferences saved."), "ok")
    return redirect("/me")


@router.post("/sync")
def sync_now(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Start a sync round in the background; the page shows its progress."""
    _ = translator(request)
    refusal = ctx.app.accounts.sync_refusal(user.name)
    if refusal is not None:
        flash(request, _(refusal), "warn")
    elif ctx.runner.start(user.name):
        flash(request, _("Sync started."), "info")
    else:
        flash(request, _("A sync is already running."), "info")
    return redirect("/me")


@router.post("/pause")
def pause(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Stop scheduled rounds for this user until resumed."""
    _ = translator(request)
    ctx.app.accounts.pause(user.name)
    flash(request, _("Sync paused."), "ok")
    return redirect("/me")


@router.post("/resume")
def resume(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Let scheduled rounds run again."""
    _ = translator(request)
    ctx.app.accounts.resume(user.name)
    flash(request, _("Sync resumed."), "ok")
    return redirect("/me")


_BUSY = N_("A sync of your calendar is running; try again when it has finished.")


@router.post("/reset")
def reset(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Forget pairs and cursors; the next round re-links items by the ids kept on Google."""
    _ = translator(request)
    try:
        ctx.app.accounts.reset(user.name)
    except UserBusy:
        flash(request, _(_BUSY), "warn")
        return redirect("/me")
    flash(
        request,
        _(
            "Sync state reset. The next sync re-reads both sides and re-links what it finds"
            " (nothing is duplicated)."
        ),
        "ok",
    )
    return redirect("/me")


@router.post("/disconnect")
def disconnect(request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Revoke the token at Google and forget the link (pairs are kept for a reconnect)."""
    _ = translator(request)
    try:
        done = ctx.app.accounts.disconnect(user.name)
    except UserBusy:
        flash(request, _(_BUSY), "warn")
        return redirect("/me")
    if done is None:
        flash(request, _("No Google account is connected."), "info")
        return redirect("/me")
    if not done.revoked:
        flash(
            request,
            _(
                "Google could not be told to revoke access; remove calsync at"
                " myaccount.google.com/permissions."
            ),
            "warn",
        )
    flash(request, _("Disconnected %(email)s.") % {"email": done.email}, "ok")
    return redirect("/me")
