"""Switching from vtiger's own Google module: link events it already copied instead of duplicating.

Public API: `match_existing_google_copies(crm, google) -> list[(crm, google)]`. Upstream kept
its links in `vtiger_wsapp_recordmapping`, which the webservice cannot read, so copies are
recognised by title + start + end. Upstream wrote Google all-day events as local
midnight-to-midnight, which the mapping already reads back as all-day, and an empty Google
summary as "Google Event"; both are taken into account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from calsync.model import Event
from calsync.sides.base import Remote
from calsync.sides.vtiger.mapping import NO_TITLE

_PLACEHOLDERS = {"", "google event", NO_TITLE.casefold()}


def _key(event: Event) -> tuple[str, Any, Any]:
    title = " ".join(event.title.split()).casefold()
    return ("" if title in _PLACEHOLDERS else title, event.when.start, event.when.end)


def match_existing_google_copies(
    crm: Iterable[Remote[Event]], google: Iterable[Remote[Event]]
) -> list[tuple[Remote[Event], Remote[Event]]]:
    """Return (CRM event, Google event) pairs with the same title, start and end.

    Each event is used at most once; identical duplicates pair up in id order, and anything
    left unmatched is for the normal sync to create.
    """
    pool: dict[tuple[str, Any, Any], list[Remote[Event]]] = defaultdict(list)
    for g in sorted(google, key=lambda r: r.id):
        pool[_key(g.item)].append(g)
    pairs = []
    for c in sorted(crm, key=lambda r: r.id):
        candidates = pool.get(_key(c.item))
        if candidates:
            pairs.append((c, candidates.pop(0)))
    return pairs
