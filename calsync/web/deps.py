"""Request dependencies: the app context, the signed-in user, the admin check, CSRF."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from calsync.service.push import NOTIFY_PATH
from calsync.state.records import Role, UserRecord
from calsync.web.context import WebContext
from calsync.web.i18n import N_
from calsync.web.security import CSRF_FIELD, CSRF_HEADER, new_token, tokens_equal

SESSION_USER = "user"
SESSION_CSRF = "csrf"
SESSION_ID = "sid"
"""The server-side session's token: without a live one in the store, the cookie signs no one
in (signing out, a password change or the admin ends it, whoever holds a copy)."""

SESSION_IDLE = timedelta(hours=8)
"""A session unused this long ends."""
SESSION_LIFETIME = timedelta(hours=24)
"""A session ends this long after sign-in, however much it is used."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_EXEMPT = frozenset({NOTIFY_PATH})
"""Paths no browser session posts to: Google's notifications, checked by channel and token."""


class LoginRequired(Exception):
    """No one is signed in; the app answers with the sign-in page (or 401 for fragments)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def get_ctx(request: Request) -> WebContext:
    """Return the app's context."""
    ctx: WebContext = request.app.state.ctx
    return ctx


Ctx = Annotated[WebContext, Depends(get_ctx)]


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, making one when the session has none."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = new_token()
        request.session[SESSION_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) any unsafe request without the session's CSRF token (form field or header),
    except on the paths in CSRF_EXEMPT."""
    if request.method in _SAFE_METHODS or request.url.path in CSRF_EXEMPT:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = request.session.get(SESSION_CSRF)
    if not tokens_equal(sent, expected if isinstance(expected, str) else None):
        raise HTTPException(
            status_code=403, detail=N_("Missing or wrong CSRF token; reload the page.")
        )


def start_session(request: Request, ctx: WebContext, user: UserRecord) -> None:
    """Sign `user` in with a fresh session: nothing chosen before (e.g. a planted CSRF token
    or session id) survives."""
    request.session.clear()
    request.session[SESSION_ID] = ctx.store.create_session(user.name, SESSION_LIFETIME)
    request.session[SESSION_USER] = user.name
    request.session[SESSION_CSRF] = new_token()


def end_session(request: Request, ctx: WebContext) -> None:
    """Sign out: end the session in the store (copies of the cookie die too) and forget it."""
    token = request.session.get(SESSION_ID)
    if isinstance(token, str) and token:
        ctx.store.end_session(token)
    request.session.clear()


def optional_user(request: Request, ctx: Ctx) -> UserRecord | None:
    """Return the signed-in user, or None."""
    name = request.session.get(SESSION_USER)
    token = request.session.get(SESSION_ID)
    if not isinstance(name, str) or not name or not isinstance(token, str) or not token:
        return None
    user = ctx.store.session_user(token, SESSION_IDLE)
    if user is None or user.name != name:
        # Ended, expired, or the account is gone: the cookie is void.
        request.session.pop(SESSION_USER, None)
        request.session.pop(SESSION_ID, None)
        return None
    return user


def current_user(
    request: Request, user: Annotated[UserRecord | None, Depends(optional_user)]
) -> UserRecord:
    """Return the signed-in user, or send the browser to the sign-in page."""
    if user is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path)
    return user


CurrentUser = Annotated[UserRecord, Depends(current_user)]
MaybeUser = Annotated[UserRecord | None, Depends(optional_user)]


def admin_user(user: CurrentUser) -> UserRecord:
    """Return the signed-in admin; anyone else gets 403."""
    if user.role != Role.ADMIN:
        raise HTTPException(
            status_code=403, detail=N_("This page is for the calsync administrator.")
        )
    return user


AdminUser = Annotated[UserRecord, Depends(admin_user)]
