"""Change detection: what this round knows of each side of a pair, and what changed since the row.

Public API: `Seen`, `View`, `UNSEEN`, `Change`, `change`, `fingerprint`, `quarantined`.
Pure: no I/O, no clock.

Change detection is version first, then content: an etag equal to the row's means unchanged;
a different etag with the same content hash is metadata churn (the row is refreshed, nothing
is written); only a different hash is a change. Our own writes come back with the etag and
hash stored after the write, so they are no change (no echo, no ping-pong).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from calsync.engine.pairs import Pair, PairStatus
from calsync.model import content_hash
from calsync.sides.base import Remote


class Seen(enum.Enum):
    PRESENT = "present"
    """Read this round (listed or fetched)."""
    GONE = "gone"
    """Listed as deleted, or a fetch found nothing."""
    UNSEEN = "unseen"
    """Not in an incremental listing: unchanged since the row."""
    FETCH = "fetch"
    """Must be read by id first (absent from a full listing, or the pair is dirty)."""
    NONE = "none"
    """The pair has no copy on this side yet (an unfinished create)."""


@dataclass(frozen=True)
class View:
    """What this round knows about one side of a pair."""

    seen: Seen
    remote: Remote[Any] | None = None


UNSEEN = View(Seen.UNSEEN)


class Change(enum.Enum):
    """How one side of a pair stands against the row."""

    SAME = "same"
    """Unchanged (same etag, or not seen in an increment)."""
    TOUCHED = "touched"
    """New etag, same content: metadata churn."""
    CHANGED = "changed"
    """New content."""
    GONE = "gone"
    """Deleted on that side."""
    NONE = "none"
    """No copy on that side yet."""


def change(v: View, etag: str | None, hash_: str | None) -> Change:
    """Return how the side seen as `v` stands against the row's `etag` and content `hash_`."""
    if v.seen is Seen.GONE:
        return Change.GONE
    if v.seen is Seen.NONE:
        return Change.NONE
    if v.remote is None or v.remote.etag == etag:
        return Change.SAME
    # A new etag alone is churn; only new content is a change.
    return Change.TOUCHED if content_hash(v.remote.item) == hash_ else Change.CHANGED


def fingerprint(crm: View, google: View) -> str:
    """Return the observed contents of a pair, to tell a quarantined pair's real changes."""
    parts = []
    for name, v in (("c", crm), ("g", google)):
        if v.remote is not None:
            parts.append(f"{name}={content_hash(v.remote.item)[:12]}")
    return " ".join(parts)


def quarantined(pair: Pair, crm: View, google: View) -> bool:
    """Return True while a quarantined pair's copies still hold the contents that failed."""
    if pair.status is not PairStatus.QUARANTINED:
        return False
    # Quarantine lasts while every copy read now has the content recorded with the failure.
    return all(part in (pair.observed or "") for part in fingerprint(crm, google).split())
