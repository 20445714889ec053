"""The web app's languages: message catalogs, the language of a request, local dates and numbers.

The catalogs are the `.po` files under `calsync/web/locale/` (kept in git, refreshed by
`script/i18n`); they are compiled in memory when the app starts, so no build step can leave a
stale `.mo` behind.

A request's language is, in this order: the one chosen with the header's switcher (a
cookie), the signed-in CRM user's (vtiger's `it_it`, read at sign-in), the browser's
`Accept-Language`, English.

While a template renders, `rendering(...)` holds the request's language and time zone, which
the Jinja i18n extension and the `when`/`number` filters read.

Public API: `LANGUAGES`, `DEFAULT_LANGUAGE`, `LANG_COOKIE`, `SESSION_LANG`, `Catalogs`,
`from_crm`, `from_header`, `language_of`, `gettext_for`, `rendering`, `install`, `N_`,
`remember_choice`, `current_translations`,
`format_when`, `format_number`, `format_percent`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_percent
from babel.support import NullTranslations, Translations
from fastapi import Request
from jinja2 import Environment

from calsync.text import N_, Text

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

LANGUAGES: dict[str, str] = {"en": "English", "it": "Italiano"}
"""The languages the web app speaks, each named in itself (for the switcher)."""
DEFAULT_LANGUAGE = "en"

LANG_COOKIE = "calsync_lang"
"""The language chosen with the switcher; it outlives sessions (a browser keeps its choice)."""
SESSION_LANG = "crm_lang"
"""The signed-in CRM user's language, read from the CRM at sign-in."""

_LANG_COOKIE_AGE = 365 * 24 * 3600


class Catalogs:
    """One compiled catalog per language, read from the `.po` files."""

    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self._by_language: dict[str, NullTranslations] = {}
        for language in LANGUAGES:
            path = directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not path.exists():
                self._by_language[language] = NullTranslations()
                continue
            with path.open("rb") as po:
                catalog = read_po(po, locale=language, domain=DOMAIN)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            self._by_language[language] = Translations(compiled, domain=DOMAIN)

    def get(self, language: str) -> NullTranslations:
        """Return the translations of `language` (English's for an unknown one)."""
        return self._by_language.get(language) or self._by_language[DEFAULT_LANGUAGE]


def from_crm(code: str | None) -> str | None:
    """Return the web language for a CRM language code (`it_it` → `it`), or None."""
    if not code:
        return None
    try:
        language = Locale.parse(code.replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        return None
    return language if language in LANGUAGES else None


def from_header(accept_language: str | None) -> str | None:
    """Return the first language of an `Accept-Language` header the app speaks, or None."""
    if not accept_language:
        return None
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(weighted):
        language = tag.split("-")[0].split("_")[0].lower()
        if language in LANGUAGES:
            return language
    return None


def language_of(request: Request) -> str:
    """Return the request's language: switcher choice, CRM user's, browser's, English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    crm = request.session.get(SESSION_LANG)
    return (
        from_crm(crm if isinstance(crm, str) else None)
        or from_header(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


def remember_choice(response: object, language: str, *, secure: bool) -> None:
    """Set the switcher's cookie on `response` (a Starlette response)."""
    set_cookie = getattr(response, "set_cookie")  # noqa: B009 - typed loosely on purpose
    set_cookie(
        LANG_COOKIE,
        language,
        max_age=_LANG_COOKIE_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@dataclass(frozen=True, slots=True)
class Rendering:
    """What a template being rendered speaks: language, translations, the reader's zone."""

    language: str
    translations: NullTranslations
    zone: ZoneInfo


__all__ = ["N_"]  # re-exported: the web marks its own messages with it too

_CURRENT: ContextVar[Rendering | None] = ContextVar("calsync_rendering", default=None)
_ENGLISH = Rendering(DEFAULT_LANGUAGE, NullTranslations(), ZoneInfo("UTC"))


def _current() -> Rendering:
    return _CURRENT.get() or _ENGLISH


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@contextlib.contextmanager
def rendering(
    catalogs: Catalogs, language: str, time_zone: str | None = None
) -> Iterator[Rendering]:
    """Render templates, while in this block, in `language` and the zone `time_zone`."""
    current = Rendering(language, catalogs.get(language), _zone(time_zone))
    token = _CURRENT.set(current)
    try:
        yield current
    finally:
        _CURRENT.reset(token)


def gettext_for(catalogs: Catalogs, request: Request) -> Callable[[str], str]:
    """Return `gettext` in the request's language (for flashes and form errors)."""
    return catalogs.get(language_of(request)).gettext


def current_translations() -> NullTranslations:
    """Return the translations of the template being rendered (English outside one)."""
    return _current().translations


def _gettext(message: str) -> str:
    return _current().translations.gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _current().translations.ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return str(_current().translations.pgettext(context, message))


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _current().translations.npgettext(context, singular, plural, n)


def translate_text(message: object) -> str:
    """Return `message` (made in Python, marked with `N_`) in the reader's language; a
    `Text` is translated with its values, anything else as a whole."""
    if message is None:
        return ""
    translations = _current().translations
    if isinstance(message, Text):
        return message.translated(translations.gettext)
    text = str(message)
    return translations.gettext(text) if text else text


def format_when(value: object) -> str:
    """Return a moment as the reader writes it, in their zone: `30 nov 2026, 15:04`."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return str(value)
    current = _current()
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(current.zone)
    locale = Locale.parse(current.language)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.format(
        format_time(moment, "short", locale=locale),
        format_date(moment, "medium", locale=locale),
    )


def format_day(value: object) -> str:
    """Return a date as the reader writes it: `30 nov 2026`."""
    if isinstance(value, date):
        return format_date(value, "medium", locale=_current().language)
    return "" if value is None else str(value)


def format_number(value: object) -> str:
    """Return a number with the reader's digit grouping (`1,234` / `1.234`)."""
    if not isinstance(value, int | float):
        return "" if value is None else str(value)
    return format_decimal(value, locale=_current().language)


def format_percent(value: object) -> str:
    """Return a share (0.25) as the reader writes a percentage (`25%`)."""
    if not isinstance(value, int | float):
        return "" if value is None else str(value)
    return babel_percent(value, locale=_current().language)


def install(env: Environment) -> None:
    """Give `env` the i18n extension, reading the language of the template being rendered."""
    env.add_extension("jinja2.ext.i18n")
    # `{% trans %}` blocks may wrap lines; their whitespace collapses (babel.cfg says so too).
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    # Messages made elsewhere (form errors, refusals) may carry what the user typed: this
    # filter translates them as plain text, which autoescaping then escapes.
    env.filters["tr"] = translate_text
    env.filters["when"] = format_when
    env.filters["day"] = format_day
    env.filters["number"] = format_number
    env.filters["percent"] = format_percent
    env.globals["languages"] = LANGUAGES
    env.globals["current_language"] = lambda: _current().language
