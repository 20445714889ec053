"""Connecting a Google account: OAuth2 code flow with PKCE and a `state` bound to the session
and usable once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from calsync.errors import AdapterError
from calsync.service import VTIGER_CALLBACK, NotConfigured
from calsync.web.deps import Ctx, CurrentUser
from calsync.web.i18n import N_
from calsync.web.pages import flash, redirect, translator
from calsync.web.routes.admin import redirect_uri
from calsync.web.security import new_token, tokens_equal

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/oauth", tags=["oauth"])
compat_router = APIRouter(tags=["oauth"])
"""vtiger's callback path, for installs that keep the redirect URI they registered for it."""

_FLOW = "oauth"
STATE_LIFETIME = timedelta(minutes=15)
"""How long a started connection may wait for its callback (the consent screen in between)."""


def _start(request: Request, ctx: Ctx, user: str, tasks: bool) -> Response:
    state = new_token()
    try:
        auth, scopes = ctx.app.accounts.consent(
            redirect_uri=redirect_uri(request, ctx), tasks=tasks, state=state
        )
    except NotConfigured as err:
        _ = translator(request)
        flash(request, _(str(err)), "error")
        return redirect("/me")
    # The state is checked twice at the callback: against this signed session (it was started
    # in this browser) and against the store, which lets it be used once (a replayed or
    # copied callback is refused, even with an old copy of the cookie).
    ctx.store.add_oauth_state(state, user, STATE_LIFETIME)
    request.session[_FLOW] = {
        "state": state,
        "user": user,
        "verifier": auth.code_verifier,
        "scopes": scopes,
    }
    return redirect(auth.url)


@router.post("/start")
def start(
    request: Request, ctx: Ctx, user: CurrentUser, tasks: Annotated[str, Form()] = ""
) -> Response:
    """Send the browser to Google's consent page.

    A POST with the CSRF token (no GET): starting a flow stores a state, so no other site's
    link or image may start one in the user's name.
    """
    return _start(request, ctx, user.name, tasks == "on")


@router.get("/callback")
def callback(
    request: Request,
    ctx: Ctx,
    user: CurrentUser,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """Check `state`, exchange the code, store the refresh token (encrypted by the store)."""
    flow = request.session.pop(_FLOW, None)
    expected = flow.get("state") if isinstance(flow, dict) else None
    if (
        not isinstance(flow, dict)
        or not tokens_equal(state, expected if isinstance(expected, str) else None)
        or flow.get("user") != user.name
    ):
        _LOGGER.warning("OAuth callback for %s refused: state missing or not ours", user.name)
        raise HTTPException(
            status_code=400,
            detail=N_("This sign-in with Google was not started here (state mismatch). Try again."),
        )
    if not ctx.store.consume_oauth_state(state, user.name):
        _LOGGER.warning("OAuth callback for %s refused: state already used or expired", user.name)
        raise HTTPException(
            status_code=400,
            detail=N_("This sign-in with Google was already used or is too old. Try again."),
        )
    _ = translator(request)
    if error or not code:
        flash(
            request,
            _("Google did not connect the account (%(reason)s).")
            % {"reason": error or _("no code")},
            "warn",
        )
        return redirect("/me")
    try:
        linked = ctx.app.accounts.link(
            user.name,
            code=code,
            redirect_uri=redirect_uri(request, ctx),
            code_verifier=str(flow.get("verifier", "")),
            scopes=[str(s) for s in flow.get("scopes", [])],
        )
    except AdapterError as err:
        _LOGGER.warning("OAuth code exchange for %s failed: %s", user.name, err)
        flash(
            request,
            _("Connecting the Google account failed: %(reason)s") % {"reason": err},
            "error",
        )
        return redirect("/me")
    if linked.replaced is not None:
        flash(
            request,
            _("This replaces %(email)s; use Reset to fill the new account from scratch.")
            % {"email": linked.replaced},
            "warn",
        )
    flash(request, _("Connected %(email)s.") % {"email": linked.email}, "ok")
    return redirect("/me")


@compat_router.get("/index.php")
def vtiger_callback(
    request: Request,
    ctx: Ctx,
    user: CurrentUser,
    module: str = "",
    action: str = "",
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """Answer vtiger's `index.php?module=GoogleSync&action=AuthCallBack` like /oauth/callback."""
    if {"module": module, "action": action} != VTIGER_CALLBACK:
        raise HTTPException(status_code=404, detail=N_("Not found"))
    return callback(request, ctx, user, state=state, code=code, error=error)
