"""Marking user-facing text for translation where it is made, without translating it there.

The application layer writes its messages in English and marks them with `N_`; the web app
translates them into its reader's language when it shows them (the CLI shows them as they
are). `script/i18n` extracts the marked texts into the web app's catalogs.

A message with values (`N_("expected %(minimum)d to %(maximum)d days", minimum=0, ...)`) is a
`Text`: a `str` that reads as the English message filled in, so the CLI, logs and tests see
plain English, and that keeps its template and values, so the web can translate the template
and fill it in again. A value that is itself a `Text` (a field's name) is translated too;
any other value (what the user typed, a number) is shown as it is.

Public API: `N_`, `Text`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Text(str):
    """An English message made from a marked template and its values."""

    template: str
    values: Mapping[str, object]

    def __new__(cls, template: str, values: Mapping[str, object] | None = None) -> Text:
        values = dict(values or {})
        self = super().__new__(cls, template % values if values else template)
        self.template = template
        self.values = values
        return self

    def translated(self, gettext: Callable[[str], str]) -> str:
        """Return the message in the language of `gettext` (its values translated too when
        they are `Text`)."""
        template = gettext(self.template)
        if not self.values:
            return template
        return template % {
            key: value.translated(gettext) if isinstance(value, Text) else value
            for key, value in self.values.items()
        }


def N_(message: str, **values: object) -> str:
    """Return `message` unchanged (extracted for the catalogs, translated where shown), or,
    given values, the `Text` of `message` filled in with them."""
    return Text(message, values) if values else message
