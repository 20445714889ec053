"""Marking user-facing text for translation where it is made, without translating it there.

The application layer writes its messages in English and marks them with `N_`; the web app
translates them into its reader's language when it shows them (the CLI shows them as they
are). `script/i18n` extracts the marked texts into the web app's catalogs.

Public API: `N_`.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Return `message` unchanged: it is extracted for the catalogs, translated where shown."""
    return message
