"""A round's counts in words, for the page and the status fragment."""

from __future__ import annotations

from typing import Any


def describe_counts(counts: dict[str, Any]) -> str:
    """Return a run's counts as one line: `CRM: nothing changed; Google: 2 created`."""
    parts = []
    for side, value in counts.items():
        label = {"crm": "CRM", "google": "Google"}.get(side, side)
        if isinstance(value, dict):
            done = [f"{n} {k}" for k, n in value.items() if isinstance(n, int) and n]
            parts.append(f"{label}: {', '.join(done) if done else 'nothing changed'}")
        elif value not in (None, 0, ""):
            parts.append(f"{label}: {value}")
    return "; ".join(parts)
