"""The case planners: one stored (or just re-linked) pair and its two views -> actions.

Public API: `plan_pair(ctx, pair, crm, google)`, `degraded_note`. One function per case, each
branch commented: an unfinished create, a deletion on one side, a change on one side, changes
on both sides, nothing changed. Change detection is in `changes`, what may travel and who
wins in `policy`. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from calsync.engine import filters
from calsync.engine.actions import (
    Action,
    Create,
    Delete,
    Drop,
    Fetch,
    Link,
    Note,
    SideName,
    Skip,
    Update,
    next_key,
    side_etag,
    with_side,
)
from calsync.engine.changes import Change, Seen, View, change, fingerprint, quarantined
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.policy import (
    PlanContext,
    consistent,
    masked,
    project,
    record_conflict,
    source,
    text_fields,
    winner,
    writes,
)
from calsync.engine.store import Conflict
from calsync.model import Event, Item, Visibility
from calsync.sides.base import Remote

CRM, GOOGLE = SideName.CRM, SideName.GOOGLE


def plan_pair(ctx: PlanContext, pair: Pair, crm: View, google: View) -> list[Action]:
    """Return the actions for one stored (or just re-linked) pair."""
    obs = fingerprint(crm, google)
    need = tuple(s for s, v in ((CRM, crm), (GOOGLE, google)) if v.seen is Seen.FETCH)
    if need:
        return [_fetch(pair, need, {CRM: crm, GOOGLE: google})]
    if quarantined(pair, crm, google):
        return [Skip(pair.key, before=pair, observed=obs, reason="quarantined")]
    cs = change(crm, pair.crm_etag, pair.crm_hash)
    gs = change(google, pair.google_etag, pair.google_hash)
    views = {CRM: crm, GOOGLE: google}
    st = {CRM: cs, GOOGLE: gs}

    # Both copies gone (or one gone and the other never made): only the row is left.
    if {cs, gs} <= {Change.GONE, Change.NONE}:
        return [Drop(pair.key, before=pair)]
    # An unfinished create: the copy on `x` was planned but never confirmed.
    for x in (CRM, GOOGLE):
        if st[x] is Change.NONE:
            return _plan_create_missing(ctx, pair, x, views[x.other], obs)
    # Deleted on one side.
    for x in (CRM, GOOGLE):
        if st[x] is Change.GONE:
            return _plan_deleted(ctx, pair, x, views[x.other], st[x.other], obs)

    changed = [x for x in (CRM, GOOGLE) if st[x] is Change.CHANGED]
    if not changed:
        return _plan_unchanged(ctx, pair, crm, google, obs)
    # Events need both contents for privacy and masks; tasks compare without the other,
    # unless the CRM stores lossily (telling its `??` from an edit needs Google's text).
    both = ctx.kind is Kind.EVENT or ctx.crm_degrade is not None or ctx.crm_stores is not None
    missing = tuple(x for x in (CRM, GOOGLE) if views[x].remote is None and both)
    if missing:
        return [_fetch(pair, missing, views)]
    if len(changed) == 2:
        return _plan_both_changed(ctx, pair, crm, google, obs)
    return _plan_flow(ctx, pair, changed[0], views, obs)


def degraded_note(ctx: PlanContext, key: str, item: Item) -> list[Action]:
    """Return a log line when writing `item` to the CRM loses characters it cannot hold.

    Said once per text: a text the CRM holds degraded already is not written again (see
    `policy._keep_degraded`), so only a new one comes here.
    """
    degrade = ctx.crm_degrade
    if degrade is None:
        return []
    lost = [f for f in text_fields(item) if degrade(getattr(item, f)) != getattr(item, f)]
    if not lost:
        return []
    message = (
        f"the CRM cannot hold some characters of the {', '.join(lost)} (emoji and others "
        "outside the BMP): it stores them as '?', Google keeps the original"
    )
    return [Note(key, what="degraded", message=message, level="warning", title=item.title)]


def _fetch(pair: Pair, sides: tuple[SideName, ...], views: dict[SideName, View]) -> Fetch:
    """Return a read of `sides` that keeps what is known of the other side."""
    return Fetch(
        pair.key,
        before=pair,
        sides=sides,
        crm=views[CRM].remote,
        google=views[GOOGLE].remote,
        crm_gone=views[CRM].seen is Seen.GONE,
        google_gone=views[GOOGLE].seen is Seen.GONE,
    )


def _frozen(pair: Pair, obs: str, google: View, side: SideName | None = None) -> Action:
    """Return the no-op for a change that may not travel (out of scope changes nothing).

    The row keeps its etags and hashes, so the change is still seen as pending when the item
    comes back in scope, and is marked held: when either copy is listed again, the other is
    read too (its change may be in no increment any more). A dirty flag from an earlier
    failure is cleared, though, or the pair would be read again by id every round for
    nothing. A Google copy that moved on is kept with the row, so the resolve step never
    takes the copy kept from before for Google's.
    """
    g = google.remote
    moved = g.item if g is not None and g.etag != pair.google_etag else None
    held = replace(pair.cleared(), status=PairStatus.HELD, google_item=moved)
    if pair.dirty:
        return Link(pair.key, before=pair, observed=obs, row=held)
    keep = held if pair.status is not PairStatus.HELD or moved is not None else None
    return Skip(pair.key, side=side, before=pair, observed=obs, reason="out of scope", row=keep)


def _refresh(pair: Pair, crm: View, google: View) -> Pair:
    row = pair
    if crm.remote is not None:
        row = with_side(row, CRM, crm.remote)
    if google.remote is not None:
        row = with_side(row, GOOGLE, google.remote)
    return row


def _plan_unchanged(
    ctx: PlanContext, pair: Pair, crm: View, google: View, obs: str
) -> list[Action]:
    row = _refresh(pair, crm, google).cleared()
    c, g = crm.remote, google.remote
    if pair.status is PairStatus.HELD and (c is None or g is None):
        # A held change stays held until both copies are read and agree with the row.
        row = replace(row, status=PairStatus.HELD)
    # Both read (full listing, fetch) but no longer consistent: only a prefs change does this
    # (busy mask turned on or off). Restricted to private events, so that a side which drops
    # fields (no attendees on the CRM) is never "repaired" into losing data on the other.
    if c is not None and g is not None and ctx.kind is Kind.EVENT:
        private = any(
            isinstance(i, Event) and i.visibility is Visibility.PRIVATE for i in (c.item, g.item)
        )
        if private and not consistent(ctx, c.item, g.item):
            src = source(ctx) or CRM
            acts = _push(ctx, row, src, {CRM: crm, GOOGLE: google}, obs, pair)
            if acts:
                return acts
    if row != pair:
        # Metadata churn (or a cleared error): refresh the row, write nothing.
        return [Link(pair.key, before=pair, observed=obs, row=row)]
    return []


def _push(
    ctx: PlanContext,
    row: Pair,
    src: SideName,
    views: dict[SideName, View],
    obs: str,
    before: Pair,
    conflict: Conflict | None = None,
) -> list[Action]:
    """Return an Update of the copy opposite `src`, or [] when nothing may or need travel."""
    dst = src.other
    s, d = views[src].remote, views[dst].remote
    assert s is not None
    if not writes(ctx, dst):
        return []
    item = project(ctx, src, s.item, d.item if d else None)
    if item is None:
        return []
    if d is not None and filters.same(item, d.item):
        return [Link(row.key, before=before, observed=obs, row=row)]
    target_id = d.id if d is not None else (row.crm_id if dst is CRM else row.google_id)
    assert target_id is not None
    etag = d.etag if d is not None else side_etag(before, dst)
    update = Update(
        row.key,
        side=dst,
        before=before,
        observed=obs,
        item=item,
        conflict=conflict,
        target_id=target_id,
        etag=etag,
        row=row,
    )
    return [update, *(degraded_note(ctx, row.key, item) if dst is CRM else [])]


def _plan_flow(
    ctx: PlanContext, pair: Pair, src: SideName, views: dict[SideName, View], obs: str
) -> list[Action]:
    """One side changed, the other did not: carry the change across (or revert it)."""
    row = _refresh(pair, views[CRM], views[GOOGLE])
    crm_remote = views[CRM].remote
    is_mask = src is GOOGLE and masked(ctx, crm_remote.item if crm_remote else None)
    if not writes(ctx, src.other) or is_mask:
        # One-way mode and the change is on the target, or an edit of a busy block on
        # Google: revert it from the source.
        if views[src.other].remote is None:
            return [_fetch(pair, (src.other,), views)]
        acts = _push(ctx, row, src.other, views, obs, pair)
        return acts or [_frozen(pair, obs, views[GOOGLE])]
    acts = _push(ctx, row, src, views, obs, pair)
    # Out of scope: the row is left as it was, so the change is still pending when the item
    # comes back: leaving scope changes nothing on either side.
    return acts or [_frozen(pair, obs, views[GOOGLE], src.other)]


def _plan_both_changed(
    ctx: PlanContext, pair: Pair, crm: View, google: View, obs: str
) -> list[Action]:
    c, g = crm.remote, google.remote
    assert c is not None and g is not None
    row = _refresh(pair, crm, google)
    relink = pair.crm_hash is None and pair.google_hash is None
    if project(ctx, CRM, c.item, g.item) is None and project(ctx, GOOGLE, g.item, c.item) is None:
        # Out of scope both ways: nothing can be compared or carried. Keep the row's old
        # hashes (a re-link keeps none), so the changes are still pending when back in scope.
        if relink:
            return [Link(pair.key, before=pair, observed=obs, row=pair.cleared())]
        return [_frozen(pair, obs, google)]
    # Both changed to the same content (or a fresh re-link of equal copies): refresh the row.
    if consistent(ctx, c.item, g.item):
        return [Link(pair.key, before=pair, observed=obs, row=row.cleared())]
    win = winner(ctx, c.item, g.item)
    why = "re-linked copies differ" if pair.crm_hash is None else "edited on both sides"
    conflict = record_conflict(ctx, pair.key, win, c.item, g.item, why)
    acts = _push(ctx, row, win, {CRM: crm, GOOGLE: google}, obs, pair, conflict)
    if not acts and relink:
        # A re-link whose winner may not travel (out of scope): keep the link all the same,
        # so it is not re-matched every round, but with no etags or hashes, so the next
        # listing that shows either copy in scope still reconciles them.
        return [Link(pair.key, before=pair, observed=obs, row=pair.cleared())]
    return acts or [_frozen(pair, obs, google)]


def _recreate(
    ctx: PlanContext,
    pair: Pair,
    on: SideName,
    src: Remote[Any],
    obs: str,
    conflict: Conflict | None = None,
) -> list[Action]:
    """Re-create the copy on `on` from `src`; Google needs a fresh key generation."""
    item = project(ctx, on.other, src.item, None)
    if item is None or not writes(ctx, on):
        return [Drop(pair.key, before=pair, reason="surviving copy cannot travel; unlinked")]
    # `attempts` is carried over so a create that keeps failing ends in quarantine.
    row = with_side(with_side(pair, on.other, src), on, None)
    replaces = None
    if on is GOOGLE and pair.google_id is not None:
        row = row.with_(key=next_key(pair.key))
        replaces = pair.key
    create = Create(
        row.key,
        side=on,
        before=pair,
        observed=obs,
        item=item,
        conflict=conflict,
        row=row,
        replaces=replaces,
    )
    return [create, *(degraded_note(ctx, row.key, item) if on is CRM else [])]


def _plan_create_missing(
    ctx: PlanContext, pair: Pair, on: SideName, other: View, obs: str
) -> list[Action]:
    if other.remote is None:
        return [_fetch(pair, (on.other,), {on: View(Seen.NONE), on.other: other})]
    return _recreate(ctx, pair, on, other.remote, obs)


def _plan_deleted(
    ctx: PlanContext, pair: Pair, gone: SideName, other: View, other_st: Change, obs: str
) -> list[Action]:
    keep = other.remote
    p = ctx.prefs
    if other_st is not Change.CHANGED:
        if writes(ctx, gone.other):
            # Deleted on one side, unchanged on the other: the deletion travels.
            etag = keep.etag if keep else side_etag(pair, gone.other)
            target = keep.id if keep else (pair.google_id if gone is CRM else pair.crm_id)
            assert target is not None
            title = keep.item.title if keep else ""
            return [
                Delete(
                    pair.key,
                    side=gone.other,
                    before=pair,
                    observed=obs,
                    target_id=target,
                    etag=etag,
                    title=title,
                )
            ]
        # One-way and the deletion is on the target: revert it from the source.
        if keep is None:
            return [_fetch(pair, (gone.other,), {gone: View(Seen.GONE), gone.other: other})]
        return _recreate(ctx, pair, gone, keep, obs)
    assert keep is not None
    # Deleted on one side, edited on the other.
    if writes(ctx, gone) and (p.edit_beats_delete or not writes(ctx, gone.other)):
        return _recreate(ctx, pair, gone, keep, obs)  # edit beats delete: the edit wins
    if writes(ctx, gone.other):
        # delete-wins: the edit is lost on purpose, so keep it in the conflict log.
        c_item = keep.item if gone is GOOGLE else None
        g_item = keep.item if gone is CRM else None
        conflict = record_conflict(ctx, pair.key, gone, c_item, g_item, "deleted vs edited")
        return [
            Delete(
                pair.key,
                side=gone.other,
                before=pair,
                observed=obs,
                conflict=conflict,
                target_id=keep.id,
                etag=keep.etag,
                title=keep.item.title,
            )
        ]
    return [Drop(pair.key, before=pair, reason="deleted copy cannot be restored; unlinked")]
