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
The adoption is stored before the round writes over the adopted copy (`actions.Update`): once
updated, the copy no longer shows what the intent asked for.
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


def _digest(doc: dict[str, Any]) -> str:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def intent_hash(item: Item) -> str:
    """Return what a key-less side shows of `item`: a digest of its summary and its time, then
    a digest of its time alone (two 32-digit halves, to fit the 64-character hash column)."""
    doc: dict[str, Any]
    if isinstance(item, Event):
        doc = {"kind": "event", "title": _summary(item.title), "when": item.when.key()}
    else:
        due = item.due.isoformat() if item.due is not None else None
        doc = {"kind": "task", "title": _summary(item.title), "due": due}
    time_only = {k: v for k, v in doc.items() if k != "title"}
    return _digest(doc) + _digest(time_only)


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
    one intent at most. An intent first adopts a copy with its title and time; failing that,
    the one copy at its time, when no other intent or copy shares that time (a user renamed
    the new copy before the next round). A copy whose title and time both changed is not
    recognised: the create is made again rather than guessed.
    """
    free = [r for r in candidates if r.key is None]
    hashes = {r.id: intent_hash(r.item) for r in free}
    pending = [
        (row.key, wanted)
        for row in rows
        if pending_on(row, side) and (wanted := row.crm_hash if side == "crm" else row.google_hash)
    ]
    out: dict[str, Remote[Any]] = {}
    taken: set[str] = set()
    for key, wanted in pending:
        found = next(
            (r for r in free if r.id not in taken and hashes[r.id][:32] == wanted[:32]), None
        )
        if found is not None:
            out[key] = found
            taken.add(found.id)
    left = [(key, wanted) for key, wanted in pending if key not in out]
    for key, wanted in left:
        at = wanted[32:]
        if not at or sum(1 for _, w in left if w[32:] == at) != 1:
            continue
        same_time = [r for r in free if r.id not in taken and hashes[r.id][32:] == at]
        if len(same_time) == 1:
            out[key] = same_time[0]
            taken.add(same_time[0].id)
    return out
