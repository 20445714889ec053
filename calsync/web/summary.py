"""A round's counts in words, for the page and the status fragment."""

from __future__ import annotations

from gettext import NullTranslations
from typing import Any

_ENGLISH = NullTranslations()


def _count(t: NullTranslations, what: str, n: int) -> str:
    # One plural message per kind, so each language can agree the noun with the number.
    if what == "created":
        return t.ngettext("%(n)d created", "%(n)d created", n) % {"n": n}
    if what == "updated":
        return t.ngettext("%(n)d updated", "%(n)d updated", n) % {"n": n}
    if what == "deleted":
        return t.ngettext("%(n)d deleted", "%(n)d deleted", n) % {"n": n}
    if what == "conflicts":
        return t.ngettext("%(n)d conflict", "%(n)d conflicts", n) % {"n": n}
    if what == "skipped":
        return t.ngettext("%(n)d skipped", "%(n)d skipped", n) % {"n": n}
    if what == "errors":
        return t.ngettext("%(n)d error", "%(n)d errors", n) % {"n": n}
    return f"{n} {what}"


def describe_counts(counts: dict[str, Any], translations: NullTranslations | None = None) -> str:
    """Return a run's counts as one line: `CRM: nothing changed; Google: 2 created`."""
    t = translations or _ENGLISH
    parts = []
    for side, value in counts.items():
        label = {"crm": "CRM", "google": "Google"}.get(side, side)
        if isinstance(value, dict):
            done = [_count(t, k, n) for k, n in value.items() if isinstance(n, int) and n]
            said = ", ".join(done) if done else t.gettext("nothing changed")
            parts.append(f"{label}: {said}")
        elif value not in (None, 0, ""):
            parts.append(f"{label}: {value}")
    return "; ".join(parts)
