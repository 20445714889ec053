"""Rendering helpers: templates with the CSRF token, flash messages, sanitised HTML, each page
in its reader's language and time zone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from calsync.web import i18n
from calsync.web.deps import SESSION_USER, csrf_token
from calsync.web.summary import describe_counts

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_FLASH = "flash"

# Text formatting only: no images (remote ones are tracking pixels), no image maps.
_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"img", "map", "area"}


def sanitize_html(text: object) -> Markup:
    """Return `text` (HTML from the CRM or Google) with only harmless markup left."""
    if text is None:
        return Markup("")
    return Markup(nh3.clean(str(text), tags=set(_TAGS), link_rel="noopener noreferrer nofollow"))


def _compact(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "" if value is None else str(value)


def _counts(counts: dict[str, Any]) -> str:
    return describe_counts(counts, i18n.current_translations())


def make_templates() -> Jinja2Templates:
    """Return the app's Jinja environment with its filters and the i18n extension."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    i18n.install(templates.env)
    templates.env.filters["clean_html"] = sanitize_html
    templates.env.filters["compact"] = _compact
    templates.env.filters["counts"] = _counts
    return templates


def _catalogs(request: Request) -> i18n.Catalogs:
    catalogs: i18n.Catalogs = request.app.state.ctx.catalogs
    return catalogs


def translator(request: Request) -> Callable[[str], str]:
    """Return `gettext` in the request's language, for flashes and form errors."""
    return i18n.gettext_for(_catalogs(request), request)


def flash(request: Request, message: str, level: str = "info") -> None:
    """Queue a message for the next page shown to this session."""
    messages = list(request.session.get(_FLASH, []))
    messages.append([level, message])
    request.session[_FLASH] = messages[-5:]


def render(
    request: Request,
    templates: Jinja2Templates,
    name: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render template `name` with the CSRF token, the signed-in user and pending messages,
    in the request's language and the user's time zone."""
    context.setdefault("user", None)
    context["csrf_token"] = csrf_token(request)
    context["signed_in"] = request.session.get(SESSION_USER)
    context["messages"] = request.session.pop(_FLASH, [])
    user = context["user"]
    zone = getattr(user, "time_zone", None)
    language = i18n.language_of(request)
    context["lang"] = language
    # The response renders here, in this thread: the language holds for exactly this page.
    with i18n.rendering(_catalogs(request), language, zone):
        return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    """Return a 303 redirect (POST/redirect/GET)."""
    return RedirectResponse(path, status_code=303)


def safe_next(path: str | None, default: str) -> str:
    """Return `path` when it is a local path, else `default` (no open redirects)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default
