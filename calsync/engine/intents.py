"""Adopting unfinished creates on sides that cannot store our link key (vtiger, Google Tasks).

Public API: `intent_hash(item)`, `pending_on(row, side)`, `adopt(rows, side, candidates)`.

Before a create, the runner commits an intent row: the pair with the target side's id still
None. A side that stores our key (Google events, the embedded CRM) gives the created copy back
with that key, so the next round adopts it by key. A key-less side gives back nothing of
ours; what it can show is the content we asked for and a new id. So the intent row keeps, in
the target side's hash column, `intent_hash` of the item sent: its title and time (or due
date), normalised so that what the side does to text on storage (vtiger's `??` for
characters it cannot store, case, spacing) does not hide the copy. The next round, an intent
whose target id is still None adopts a copy that appeared since (listed this round, linked
to no row, carrying no key of ours) with the same intent hash, instead of creating another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from calsync.engine.pairs import Pair
from calsync.model import Event, Item
from calsync.sides.base import Remote


def _summary(title: str) -> str:
    # Letters and digits of the basic plane only: a side that cannot store a character
    # (vtiger on a 3-byte `utf8` database) writes `?` for it, and spacing may be collapsed.
    return "".join(ch for ch in title.casefold() if ch.isalnum() and ord(ch) < 0x10000)


def intent_hash(item: Item) -> str:
    """Return the hash of what a key-less side shows of `item`: its summary and its time."""
    doc: dict[str, Any]
    if isinstance(item, Event):
        doc = {"kind": "event", "title": _summary(item.title), "when": item.when.key()}
    else:
        due = item.due.isoformat() if item.due is not None else None
        doc = {"kind": "task", "title": _summary(item.title), "due": due}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def pending_on(row: Pair, side: str) -> bool:
    """Return True when `row` is an intent to create on `side` (`crm` | `google`) that
    recorded its content."""
    if side == "crm":
        return row.crm_id is None and row.google_id is not None and row.crm_hash is not None
    return row.google_id is None and row.crm_id is not None and row.google_hash is not None


def adopt(
    rows: Iterable[Pair], side: str, candidates: Sequence[Remote[Any]]
) -> dict[str, Remote[Any]]:
    """Return, by row key, the copy on `side` each pending intent in `rows` adopts.

    `candidates` are the items listed on `side` this round that no row links. Only items with
    no key are considered (a side that stores keys is adopted by key), and each is adopted by
    one intent at most.
    """
    free: dict[str, list[Remote[Any]]] = {}
    for r in candidates:
        if r.key is None:
            free.setdefault(intent_hash(r.item), []).append(r)
    out: dict[str, Remote[Any]] = {}
    for row in rows:
        if not pending_on(row, side):
            continue
        wanted = row.crm_hash if side == "crm" else row.google_hash
        found = free.get(wanted or "")
        if found:
            out[row.key] = found.pop(0)
    return out
