"""Three-way planning of a round: (CRM changes, Google changes, stored pairs, ctx) -> Plan.

Public API: `plan(crm, google, pairs, ctx) -> Plan`, the safety valves `check_emptied` and
`check_guard`, `MassDeleteBlocked`; re-exported for the runner: `plan_pair` (from `cases`),
`PlanContext` and `project` (from `policy`), `View` and `Seen` (from `changes`). Pure: no
I/O, no clock.

Matching comes first: listed items are tied to stored rows by id, intent rows adopt the item
created for them (found by our key, or on a key-less side by the content asked for, see
`calsync.engine.intents`), and items no row links are re-linked by the key found on
the other copy before anything is created, so a wiped state creates nothing. Each row is then
decided by `plan_pair` (one commented branch per case, in cases.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from calsync.engine import filters
from calsync.engine.actions import (
    Action,
    Create,
    Delete,
    Note,
    Plan,
    SideName,
    Skip,
    crm_key,
    google_key,
    key_origin,
    with_side,
)
from calsync.engine.cases import degraded_note, plan_pair
from calsync.engine.changes import UNSEEN, Seen, View, fingerprint
from calsync.engine.intents import adopt, pending_on
from calsync.engine.moves import Arrival
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.policy import PlanContext, project, writes
from calsync.engine.series import mark_fresh
from calsync.errors import CalsyncError
from calsync.model import Event, Item
from calsync.prefs import Prefs
from calsync.sides.base import ChangeSet, Remote

__all__ = [
    "GUARD_FLOOR",
    "MassDeleteBlocked",
    "PlanContext",
    "Seen",
    "View",
    "check_emptied",
    "check_guard",
    "plan",
    "plan_pair",
    "project",
]

CRM, GOOGLE = SideName.CRM, SideName.GOOGLE


class MassDeleteBlocked(CalsyncError):
    """The round looks like a mass deletion; nothing was written and cursors were kept."""

    def __init__(self, message: str, deletes: int = 0, linked: int = 0) -> None:
        super().__init__(message)
        self.deletes = deletes
        self.linked = linked


# -- the whole round -------------------------------------------------------------------------


GUARD_FLOOR = 10
"""Deletes a round may always make, however few items are linked."""


def check_guard(actions: Sequence[Action], linked: int, prefs: Prefs, force: bool) -> None:
    """Raise MassDeleteBlocked when the round would delete too much of the `linked` items
    of its scope (unless `force`)."""
    deletes = sum(isinstance(a, Delete) for a in actions)
    limit = max(GUARD_FLOOR, prefs.mass_delete_share * linked)
    if deletes > limit and not force:
        raise MassDeleteBlocked(
            f"round would delete {deletes} of {linked} linked items (limit {limit:g}); "
            "run again with force to allow it",
            deletes,
            linked,
        )


def check_emptied(
    cs: ChangeSet[Any],
    side: SideName,
    pairs: Sequence[Pair],
    ctx: PlanContext,
    copies: Mapping[str, Remote[Any] | None],
) -> None:
    """Raise MassDeleteBlocked when a full listing of `side` came back empty but should not have.

    Every linked copy missing from a full listing is read by id first (`copies`: what those
    reads found, None for gone). A copy the listing should have held is one that is gone now,
    or still there and inside the sync window; a copy still there but outside the window was
    left out by the window-bounded listing, which is how a listing empties when every linked
    item has drifted into the past. Copies whose read failed prove nothing either way.
    """
    if not cs.full or cs.items:
        return
    linked = [i for p in pairs if (i := p.crm_id if side is CRM else p.google_id) is not None]
    expected = 0
    for id_ in linked:
        if id_ not in copies:
            continue
        copy = copies[id_]
        if copy is None or filters.in_range(copy.item, ctx.prefs, ctx.now, ctx.user_tz):
            expected += 1
    if expected:
        raise MassDeleteBlocked(
            f"{side.value} listed no items but {expected} of {len(linked)} linked items "
            "belong in the listing; run again with force if they really were all deleted",
            expected,
            len(linked),
        )


def plan(
    crm: ChangeSet[Any],
    google: ChangeSet[Any],
    pairs: Sequence[Pair],
    ctx: PlanContext,
    others: Sequence[Pair] = (),
) -> Plan:
    """Return the actions for one round of one user and kind (Fetch steps still unresolved).

    `others` are the user's pairs of other scopes (calendars): a listed Google item that is
    the copy of one of them may have moved here, and becomes an `Arrival` to settle
    (calsync.engine.moves) instead of a new item. The safety valves run on the resolved
    plan: `check_emptied`, then `check_guard`.
    """
    by_id = {
        CRM: {p.crm_id: p for p in pairs if p.crm_id},
        GOOGLE: {p.google_id: p for p in pairs if p.google_id},
    }
    by_key = {p.key: p for p in pairs}
    rows: dict[str, Pair] = dict(by_key)
    views: dict[str, dict[SideName, View]] = {}

    def view(pr: Pair) -> dict[SideName, View]:
        # Built lazily: in an incremental round most pairs are in no listing and not dirty.
        v = views.get(pr.key)
        if v is None:
            v = views[pr.key] = {
                CRM: _initial_view(pr, CRM, crm, ctx),
                GOOGLE: _initial_view(pr, GOOGLE, google, ctx),
            }
        return v

    for pr in pairs:
        full = crm.full or google.full
        reread = _reread(pr, CRM, crm) or _reread(pr, GOOGLE, google)
        if full or reread or pr.dirty or None in (pr.crm_id, pr.google_id):
            view(pr)
    loose: dict[SideName, list[Remote[Any]]] = {CRM: [], GOOGLE: []}
    for side, cs in ((CRM, crm), (GOOGLE, google)):
        for r in cs.items:
            p: Pair | None = by_id[side].get(r.id)
            if p is None and r.key is not None:
                # An intent row whose create did happen (crash, lost reply): adopt by key.
                q = by_key.get(r.key)
                if q is not None and (q.crm_id if side is CRM else q.google_id) is None:
                    p = rows[q.key] = rows[q.key].with_(
                        **({"crm_id": r.id} if side is CRM else {"google_id": r.id})
                    )
            if p is None:
                loose[side].append(r)
            else:
                view(p)[side] = View(Seen.PRESENT, r)
        for gone in cs.deleted:
            q = by_id[side].get(gone)
            if q is not None:
                view(q)[side] = View(Seen.GONE)
        # An intent row whose create did happen on a side that cannot store our key: adopt
        # the new copy that shows the content asked for, instead of creating it again.
        # It is matched by title and time only, so the copies are compared afresh, as after a
        # re-link: equal contents link, different ones (a user's edit since, or a user's own
        # item that looks the same) go to the conflict winner, the loser kept in the log.
        # Marked pending whatever its status (a lost reply left it failed): `actions.Update`
        # stores a pending row with both ids before it writes over the adopted copy.
        for key, r in adopt(rows.values(), side, loose[side]).items():
            loose[side].remove(r)
            rows[key] = with_side(rows[key], side, r).with_(
                status=PairStatus.PENDING,
                crm_etag=None,
                crm_hash=None,
                google_etag=None,
                google_hash=None,
            )
            v = view(rows[key])
            v[side] = View(Seen.PRESENT, r)
            if v[side.other].remote is None and v[side.other].seen is not Seen.GONE:
                v[side.other] = View(Seen.FETCH)
    for key, v in views.items():
        # A held change: the copy listed now is planned against the other, read afresh.
        seen = {s: v[s].seen for s in (CRM, GOOGLE)}
        listed = any(x in (Seen.PRESENT, Seen.GONE) for x in seen.values())
        if rows[key].status is PairStatus.HELD and listed:
            for s in (CRM, GOOGLE):
                if seen[s] is Seen.UNSEEN:
                    v[s] = View(Seen.FETCH)
    actions: list[Action] = []
    # Only events move between collections (a task list chosen anew is no move).
    moving = ctx.kind is Kind.EVENT
    elsewhere = {p.google_id: p for p in others if moving and p.google_id and p.key not in by_key}
    if elsewhere:
        for r in list(loose[GOOGLE]):
            q = elsewhere.get(r.id) or (elsewhere.get(r.first_id) if r.first_id else None)
            if q is not None:
                loose[GOOGLE].remove(r)
                actions.append(Arrival(q.key, before=q, google=r))
    blind = {s for s, cs in ((CRM, crm), (GOOGLE, google)) if blind_listing(cs, s, pairs)}
    for key, v in views.items():
        row = rows[key]
        if v[CRM] is UNSEEN and v[GOOGLE] is UNSEEN and not row.dirty:
            continue  # neither side listed it: nothing to decide
        waiting = [s for s in blind if _may_wait(row, s)]
        if waiting:
            held = row.with_(message=WAITED)
            actions.append(Skip(key, side=waiting[0], reason="empty listing", row=held))
            continue
        actions.extend(plan_pair(ctx, row, v[CRM], v[GOOGLE]))
    actions.extend(_plan_loose(ctx, loose[CRM], loose[GOOGLE]))
    return Plan(mark_fresh(actions, pairs))


def blind_listing(cs: ChangeSet[Any], side: SideName, pairs: Sequence[Pair]) -> bool:
    """Return True when `cs` is a full listing of `side` that came back empty while creates
    on `side` are unconfirmed (intent rows).

    Such a listing cannot show a copy made before a crash or a lost reply, and a side that
    cannot keep our key gives no other way to find it: the intents wait one round (no create
    again), and the round keeps that side's old cursor so that the next round lists it in full
    again. An intent waits once: a side still empty then is believed.
    """
    return cs.full and not cs.items and any(_may_wait(p, side) for p in pairs)


WAITED = "an empty listing could not show this create's copy: waited one round"


def _may_wait(p: Pair, side: SideName) -> bool:
    return pending_on(p, side.value) and p.message != WAITED


def _reread(p: Pair, side: SideName, cs: ChangeSet[Any]) -> bool:
    """Return True when the increment `cs` asks for the pair's copy to be read by id."""
    id_ = p.crm_id if side is CRM else p.google_id
    return id_ is not None and cs.reread is not None and cs.reread(id_)


def _initial_view(p: Pair, side: SideName, cs: ChangeSet[Any], ctx: PlanContext) -> View:
    if (p.crm_id if side is CRM else p.google_id) is None:
        return View(Seen.NONE)
    dirty = p.status in (PairStatus.PENDING, PairStatus.FAILED)
    # In a full listing a linked copy that is absent is no proof of deletion (the listing may
    # be bounded by the sync window): read it by id first. A dirty pair is read again too,
    # because the change that failed is no longer in any increment; so is an occurrence of a
    # series whose rule changed (its loss may not be listed as a deletion).
    return View(Seen.FETCH) if cs.full or dirty or _reread(p, side, cs) else UNSEEN


def match_key(item: Item, degrade: Callable[[str], str] | None = None) -> tuple[Any, ...]:
    """Return what identifies an item across sides without ids: title and time (or due).

    `degrade` is what the CRM makes of text it stores: a Google title is compared as the CRM
    would hold it.
    """
    title = " ".join((degrade(item.title) if degrade else item.title).split()).casefold()
    if isinstance(item, Event):
        return ("event", title, item.when.start, item.when.end)
    return ("task", title, item.due)


def _plan_loose(
    ctx: PlanContext, crm: list[Remote[Any]], google: list[Remote[Any]]
) -> list[Action]:
    """Plan items no row links: re-link by key first, create only what is truly new."""
    actions: list[Action] = []
    crm_by_id = {r.id: r for r in crm}
    crm_by_key = {r.key: r for r in crm if r.key is not None}
    google_by_id = {r.id: r for r in google}
    taken: set[str] = set()
    orphans: list[Remote[Any]] = []

    def link(key: str, c: Remote[Any], g: Remote[Any]) -> None:
        taken.update((f"c:{c.id}", f"g:{g.id}"))
        row = Pair(ctx.user, ctx.kind, key, c.id, g.id, scope=ctx.scope)
        actions.extend(plan_pair(ctx, row, View(Seen.PRESENT, c), View(Seen.PRESENT, g)))

    for g in google:
        if g.key is None:
            continue
        c = crm_by_key.get(g.key)
        origin = key_origin(g.key)
        if c is None and origin is not None and origin[0] is CRM:
            c = crm_by_id.get(origin[1])
        if c is not None and f"c:{c.id}" not in taken:
            link(g.key, c, g)
        elif c is None and origin is not None and origin[0] is CRM:
            # Its CRM record is not listed: deleted, out of the window, or re-created under a
            # new id by "edit beats delete" in a CRM that cannot store our key (vtiger). The
            # last is matched by content below; the others are left alone.
            orphans.append(g)
        elif f"g:{g.id}" not in taken:
            # A second claim on a CRM item: never create from it, never delete it.
            taken.add(f"g:{g.id}")
            actions.append(Skip(g.key, reason="unlinked copy of a CRM item"))
    for c in crm:
        if f"c:{c.id}" in taken or c.key is None:
            continue
        origin = key_origin(c.key)
        g2 = google_by_id.get(origin[1]) if origin and origin[0] is GOOGLE else None
        if g2 is not None and f"g:{g2.id}" not in taken and g2.key is None:
            link(c.key, c, g2)
        elif origin is not None and origin[0] is GOOGLE:
            # A CRM copy we made whose Google original we cannot see: a copy is never the
            # source of a new item (that would resurrect a deletion after a state wipe).
            taken.add(f"c:{c.id}")
            actions.append(Skip(c.key, reason="unlinked copy of a Google item"))
    # Items with no key of ours on either side that hold the same event are one event seen
    # twice: a CRM that cannot store our key (vtiger) after a state wipe, or copies made by
    # vtiger's own Google module before the switch. Link them instead of duplicating them.
    # Our copies whose CRM record is not listed come first: a keyless CRM record with the
    # same content is that record re-created, and the pair keeps the key Google's copy holds.
    by_content: dict[tuple[Any, ...], list[Remote[Any]]] = {}
    for g in orphans:
        by_content.setdefault(match_key(g.item, ctx.crm_degrade), []).append(g)
    for g in google:
        if g.key is None and f"g:{g.id}" not in taken:
            by_content.setdefault(match_key(g.item, ctx.crm_degrade), []).append(g)
    for c in crm:
        twins = by_content.get(match_key(c.item))
        ours = c.key is not None and key_origin(c.key) is not None
        if not ours and f"c:{c.id}" not in taken and twins:
            g = twins.pop(0)
            key = g.key if g.key is not None else crm_key(c.id)
            link(key, c, g)
            msg = f"matched CRM {c.id} with Google {g.id} by title and time"
            actions.append(Note(key, message=msg))
    for g in orphans:
        if f"g:{g.id}" not in taken:
            # Our copy of something we cannot see (deleted or out of the CRM's window): never
            # create from it, never delete it.
            taken.add(f"g:{g.id}")
            assert g.key is not None
            actions.append(Skip(g.key, reason="unlinked copy of a CRM item"))
    # What is left is new on its side.
    for side, items in ((CRM, crm), (GOOGLE, google)):
        for r in items:
            tag = f"{side.value[0]}:{r.id}"
            if tag in taken or (r.key is not None and key_origin(r.key) is not None):
                continue
            key = crm_key(r.id) if side is CRM else google_key(r.id)
            item = project(ctx, side, r.item, None)
            if item is None or not writes(ctx, side.other):
                actions.append(Skip(key, side=side.other, reason="out of scope"))
                continue
            row = with_side(Pair(ctx.user, ctx.kind, key, None, None, scope=ctx.scope), side, r)
            seen = View(Seen.PRESENT, r)
            obs = fingerprint(seen, UNSEEN) if side is CRM else fingerprint(UNSEEN, seen)
            actions.append(Create(key, side=side.other, observed=obs, item=item, row=row))
            if side is GOOGLE:
                actions.extend(degraded_note(ctx, key, item))
    return actions
