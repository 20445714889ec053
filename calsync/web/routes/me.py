"""The signed-in user's sync page: link, preferences, calendars, "Sync now", log, conflicts.

Every handler acts on the session's user only: no form field or path names a user.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

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

_HOURS_SHAPE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
"""The shape `HoursWindow.parse` reads, to say which part of a refused window is wrong."""


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


def parse_prefs(
    form: FormData, current: Prefs, gettext: Callable[[str], str] = str
) -> tuple[Prefs | None, dict[str, str]]:
    """Return the preferences in `form` (or None) and a message per refused field, in the
    language of `gettext`."""
    _ = gettext
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str, minimum: int) -> int:
        raw = text(name)
        try:
            value = int(raw)
        except ValueError:
            errors[name] = _("%(value)s is not a whole number of days.") % {"value": repr(raw)}
            return minimum
        if value < minimum:
            errors[name] = _("Must be %(minimum)d or more.") % {"minimum": minimum}
        elif value > 3650:
            errors[name] = _("At most 3650 days (ten years).")
        return value

    changes: dict[str, object] = {}
    for name, kind, refused in (
        ("direction", Direction, N_("bad direction %(value)s: expected one of %(allowed)s")),
        ("winner", Winner, N_("bad conflict winner %(value)s: expected one of %(allowed)s")),
        ("private", PrivateMode, N_("bad private mode %(value)s: expected one of %(allowed)s")),
    ):
        try:
            changes[name] = parse_enum(kind, text(name), name)
        except PrefsError:
            allowed = "|".join(m.value for m in kind)
            errors[name] = _(refused) % {"value": repr(text(name)), "allowed": allowed}
    changes["edit_beats_delete"] = form.get("edit_beats_delete") == "on"
    changes["days_past"] = number("days_past", 0)
    changes["days_future"] = number("days_future", 1)
    try:
        changes["hours"] = HoursWindow.parse(text("hours") or "00:00-00:00")
    except PrefsError:
        errors["hours"] = _hours_refusal(text("hours"), _)
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


def _hours_refusal(written: str, _: Callable[[str], str]) -> str:
    shape = _HOURS_SHAPE.match(written)
    if shape:
        for hour, minute in (shape.group(1, 2), shape.group(3, 4)):
            if (hour, minute) != ("24", "00") and not (int(hour) <= 23 and int(minute) <= 59):
                return _("bad hours window %(value)s: %(time)s is not a time of day") % {
                    "value": repr(written),
                    "time": f"{int(hour):02d}:{int(minute):02d}",
                }
    return _("bad hours window %(value)s: expected HH:MM-HH:MM, e.g. 08:00-19:00") % {
        "value": repr(written)
    }


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
    prefs, errors = parse_prefs(form, current, translator(request))
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
