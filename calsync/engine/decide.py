"""Three-way decisions for one pair: (CRM view, Google view, stored row, prefs) -> actions.

Public API: `plan_pair(ctx, pair, crm, google)`, `PlanContext`, `View`, `Seen`, `project`,
`fingerprint`. Pure: no I/O, no clock. `calsync.engine.plan` builds the views for a round.

Change detection is version first, then content: an etag equal to the row's means unchanged;
a different etag with the same content hash is metadata churn (the row is refreshed, nothing
is written); only a different hash is a change. Our own writes come back with the etag and
hash stored after the write, so they are no change (no echo, no ping-pong).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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
from calsync.engine.pairs import Kind, Pair
from calsync.engine.store import Conflict
from calsync.model import Event, Item, Task, Visibility, as_dict, content_hash
from calsync.prefs import Direction, Prefs, PrivateMode, Winner
from calsync.sides.base import Remote

CRM, GOOGLE = SideName.CRM, SideName.GOOGLE


@dataclass(frozen=True)
class PlanContext:
    """Everything planning depends on besides the data: who, what kind, prefs, time."""

    user: str
    kind: Kind
    prefs: Prefs
    now: datetime
    user_tz: str = "UTC"
    scope: str = "primary"
    max_attempts: int = 5
    """Failed attempts after which a pair is quarantined until its content changes."""
    crm_blind: frozenset[str] = frozenset()
    """Event fields the CRM cannot hold (vtiger: attendees, recurrence, ...). A CRM edit never
    overwrites them on Google: the Google copy keeps its own values."""
    crm_degrade: Callable[[str], str] | None = None
    """What the CRM makes of text it stores, when it cannot hold every character (vtiger on a
    3-byte utf8 database: each character outside the BMP becomes `??`). A CRM text equal to
    the degraded Google text is no change: Google keeps its original."""


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


class _St(enum.Enum):
    SAME, TOUCHED, CHANGED, GONE, NONE = range(5)


def _status(v: View, etag: str | None, hash_: str | None) -> _St:
    if v.seen is Seen.GONE:
        return _St.GONE
    if v.seen is Seen.NONE:
        return _St.NONE
    if v.remote is None or v.remote.etag == etag:
        return _St.SAME
    # A new etag alone is churn; only new content is a change.
    return _St.TOUCHED if content_hash(v.remote.item) == hash_ else _St.CHANGED


def fingerprint(crm: View, google: View) -> str:
    """Return the observed contents of a pair, to tell a quarantined pair's real changes."""
    parts = []
    for name, v in (("c", crm), ("g", google)):
        if v.remote is not None:
            parts.append(f"{name}={content_hash(v.remote.item)[:12]}")
    return " ".join(parts)


def _quarantined(ctx: PlanContext, pair: Pair, crm: View, google: View) -> bool:
    if pair.attempts < ctx.max_attempts or not pair.error:
        return False
    # Quarantine lasts while every copy read now has the content recorded with the failure.
    return all(part in pair.error for part in fingerprint(crm, google).split())


# -- projection helpers ----------------------------------------------------------------------


def _writes(ctx: PlanContext, side: SideName) -> bool:
    d = ctx.prefs.direction
    return d.writes_crm if side is CRM else d.writes_google


def _source(ctx: PlanContext) -> SideName | None:
    """Return the one-way source, None when both ways."""
    d = ctx.prefs.direction
    return None if d is Direction.BOTH else (CRM if d is Direction.TO_GOOGLE else GOOGLE)


def project(ctx: PlanContext, src: SideName, item: Item, target: Item | None) -> Item | None:
    """Return `item` (read on `src`) as the other side should hold it, or None: out of scope.

    `target` is the copy the other side holds now, if known. A private Google event lands in
    the CRM as public, so that copy keeps the visibility found on its own side; and a CRM copy
    that is private under `busy` is a masked pair: nothing flows back from the mask.
    """
    out = _project(ctx, src, item, target)
    return None if out is None else _keep_degraded(ctx, src, out, target)


def _project(ctx: PlanContext, src: SideName, item: Item, target: Item | None) -> Item | None:
    p, now, tz = ctx.prefs, ctx.now, ctx.user_tz
    if src is CRM:
        out = filters.for_google(item, p, now, tz)
        if isinstance(out, Event) and isinstance(target, Event) and ctx.crm_blind:
            out = out.with_(**{f: getattr(target, f) for f in ctx.crm_blind})
        if (
            isinstance(out, Event)
            and isinstance(target, Event)
            and out.visibility is Visibility.PUBLIC
            and target.visibility is Visibility.PRIVATE
        ):
            out = out.with_(visibility=Visibility.PRIVATE)
        return out
    if (
        p.private is PrivateMode.BUSY
        and isinstance(target, Event)
        and target.visibility is Visibility.PRIVATE
    ):
        return None  # the Google copy is a mask of a private CRM event: nothing flows back
    out = filters.for_crm(item, p, now, tz)
    if (
        isinstance(out, Event)
        and isinstance(target, Event)
        and isinstance(item, Event)
        and item.visibility is Visibility.PRIVATE
    ):
        out = out.with_(visibility=target.visibility)
    return out


def _text_fields(item: Item) -> tuple[str, ...]:
    return ("title", "notes") if isinstance(item, Task) else ("title", "description", "location")


def _keep_degraded(ctx: PlanContext, src: SideName, out: Item, target: Item | None) -> Item:
    """Return `out` with each text the CRM degraded on storage taken from `target`.

    The CRM hands back `degrade(text)` for the text calsync wrote: that is no change. Towards
    Google, a CRM text equal to the degraded Google text keeps Google's original; towards the
    CRM, a Google text whose degraded form the CRM holds already needs no write.
    """
    degrade = ctx.crm_degrade
    if degrade is None or target is None or type(out) is not type(target):
        return out
    keep = {}
    for name in _text_fields(out):
        new, old = getattr(out, name), getattr(target, name)
        crm_text, google_text = (new, old) if src is CRM else (old, new)
        if new != old and degrade(google_text) == crm_text:
            keep[name] = old
    return out.with_(**keep) if keep else out


def degraded_note(ctx: PlanContext, key: str, item: Item) -> list[Action]:
    """Return a log line when writing `item` to the CRM loses characters it cannot hold.

    Said once per text: a text the CRM holds degraded already is not written again (see
    `_keep_degraded`), so only a new one comes here.
    """
    degrade = ctx.crm_degrade
    if degrade is None:
        return []
    lost = [f for f in _text_fields(item) if degrade(getattr(item, f)) != getattr(item, f)]
    if not lost:
        return []
    message = (
        f"the CRM cannot hold some characters of the {', '.join(lost)} (emoji and others "
        "outside the BMP): it stores them as '?', Google keeps the original"
    )
    return [Note(key, what="degraded", message=message, level="warning", title=item.title)]


def _consistent(ctx: PlanContext, crm: Item, google: Item) -> bool:
    to_g = project(ctx, CRM, crm, google)
    to_c = project(ctx, GOOGLE, google, crm)
    if to_g is None and to_c is None:
        return True  # out of scope both ways: nothing to compare (frozen, invariant 13)
    return (to_g is not None and filters.same(to_g, google)) or (
        to_c is not None and filters.same(to_c, crm)
    )


def _conflict(
    ctx: PlanContext, key: str, winner: SideName, crm: Item | None, google: Item | None, why: str
) -> Conflict:
    return Conflict(
        user=ctx.user,
        kind=ctx.kind,
        key=key,
        winner=winner.value,
        crm_version=as_dict(crm) if crm is not None else None,
        google_version=as_dict(google) if google is not None else None,
        at=ctx.now,
        reason=why,
    )


def _masked(ctx: PlanContext, crm: Item | None) -> bool:
    """Return True when the Google copy is a busy mask of this CRM item (CRM is the truth)."""
    return (
        ctx.prefs.private is PrivateMode.BUSY
        and isinstance(crm, Event)
        and crm.visibility is Visibility.PRIVATE
    )


def _winner(ctx: PlanContext, crm: Item, google: Item) -> SideName:
    src = _source(ctx)
    if src is not None:
        return src  # one-way: the source is the truth, target edits are reverted
    if _masked(ctx, crm):
        return CRM  # an edit of a busy block on Google is reverted, never carried back
    w = ctx.prefs.winner
    if w == Winner.CRM:
        return CRM
    if w == Winner.GOOGLE:
        return GOOGLE
    # `latest` compares the modification times read before anything was applied; a tie
    # (or a side without times) goes to the CRM.
    if crm.updated is not None and google.updated is not None and google.updated > crm.updated:
        return GOOGLE
    return CRM


# -- one pair --------------------------------------------------------------------------------


def plan_pair(ctx: PlanContext, pair: Pair, crm: View, google: View) -> list[Action]:
    """Return the actions for one stored (or just re-linked) pair."""
    obs = fingerprint(crm, google)
    need = tuple(s for s, v in ((CRM, crm), (GOOGLE, google)) if v.seen is Seen.FETCH)
    if need:
        return [_fetch(pair, need, {CRM: crm, GOOGLE: google})]
    if _quarantined(ctx, pair, crm, google):
        return [Skip(pair.key, before=pair, observed=obs, reason="quarantined")]
    cs = _status(crm, pair.crm_etag, pair.crm_hash)
    gs = _status(google, pair.google_etag, pair.google_hash)
    views = {CRM: crm, GOOGLE: google}
    st = {CRM: cs, GOOGLE: gs}

    # Both copies gone (or one gone and the other never made): only the row is left.
    if {cs, gs} <= {_St.GONE, _St.NONE}:
        return [Drop(pair.key, before=pair)]
    # An unfinished create: the copy on `x` was planned but never confirmed.
    for x in (CRM, GOOGLE):
        if st[x] is _St.NONE:
            return _plan_create_missing(ctx, pair, x, views[x.other], obs)
    # Deleted on one side.
    for x in (CRM, GOOGLE):
        if st[x] is _St.GONE:
            return _plan_deleted(ctx, pair, x, views[x.other], st[x.other], obs)

    changed = [x for x in (CRM, GOOGLE) if st[x] is _St.CHANGED]
    if not changed:
        return _plan_unchanged(ctx, pair, crm, google, obs)
    # Events need both contents for privacy and masks; tasks compare without the other,
    # unless the CRM degrades text (telling its `??` from an edit needs Google's text).
    both = ctx.kind is Kind.EVENT or ctx.crm_degrade is not None
    missing = tuple(x for x in (CRM, GOOGLE) if views[x].remote is None and both)
    if missing:
        return [_fetch(pair, missing, views)]
    if len(changed) == 2:
        return _plan_both_changed(ctx, pair, crm, google, obs)
    return _plan_flow(ctx, pair, changed[0], views, obs)


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


def _frozen(pair: Pair, obs: str, side: SideName | None = None) -> Action:
    """Return the no-op for a change that may not travel (out of scope, invariant 13).

    The row keeps its etags and hashes, so the change is still seen as pending when the item
    comes back in scope; a dirty flag from an earlier failure is cleared, though, or the pair
    would be read again by id every round for nothing.
    """
    if pair.error is not None:
        return Link(pair.key, before=pair, observed=obs, row=pair.with_(error=None, attempts=0))
    return Skip(pair.key, side=side, before=pair, observed=obs, reason="out of scope")


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
    row = _refresh(pair, crm, google).with_(error=None, attempts=0)
    c, g = crm.remote, google.remote
    # Both read (full listing, fetch) but no longer consistent: only a prefs change does this
    # (busy mask turned on or off). Restricted to private events, so that a side which drops
    # fields (no attendees on the CRM) is never "repaired" into losing data on the other.
    if c is not None and g is not None and ctx.kind is Kind.EVENT:
        private = any(
            isinstance(i, Event) and i.visibility is Visibility.PRIVATE for i in (c.item, g.item)
        )
        if private and not _consistent(ctx, c.item, g.item):
            src = _source(ctx) or CRM
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
    if not _writes(ctx, dst):
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
    masked = src is GOOGLE and _masked(ctx, crm_remote.item if crm_remote else None)
    if not _writes(ctx, src.other) or masked:
        # One-way mode and the change is on the target, or an edit of a busy block on
        # Google: revert it from the source.
        if views[src.other].remote is None:
            return [_fetch(pair, (src.other,), views)]
        acts = _push(ctx, row, src.other, views, obs, pair)
        return acts or [_frozen(pair, obs)]
    acts = _push(ctx, row, src, views, obs, pair)
    # Out of scope: the row is left as it was, so the change is still pending when the item
    # comes back (invariant 13: leaving scope changes nothing on either side).
    return acts or [_frozen(pair, obs, src.other)]


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
            return [
                Link(pair.key, before=pair, observed=obs, row=pair.with_(error=None, attempts=0))
            ]
        return [_frozen(pair, obs)]
    # Both changed to the same content (or a fresh re-link of equal copies): refresh the row.
    if _consistent(ctx, c.item, g.item):
        return [Link(pair.key, before=pair, observed=obs, row=row.with_(error=None, attempts=0))]
    win = _winner(ctx, c.item, g.item)
    why = "re-linked copies differ" if pair.crm_hash is None else "edited on both sides"
    conflict = _conflict(ctx, pair.key, win, c.item, g.item, why)
    acts = _push(ctx, row, win, {CRM: crm, GOOGLE: google}, obs, pair, conflict)
    if not acts and relink:
        # A re-link whose winner may not travel (out of scope): keep the link all the same,
        # so it is not re-matched every round, but with no etags or hashes, so the next
        # listing that shows either copy in scope still reconciles them.
        return [Link(pair.key, before=pair, observed=obs, row=pair.with_(error=None, attempts=0))]
    return acts or [_frozen(pair, obs)]


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
    if item is None or not _writes(ctx, on):
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
    ctx: PlanContext, pair: Pair, gone: SideName, other: View, other_st: _St, obs: str
) -> list[Action]:
    keep = other.remote
    p = ctx.prefs
    if other_st is not _St.CHANGED:
        if _writes(ctx, gone.other):
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
    if _writes(ctx, gone) and (p.edit_beats_delete or not _writes(ctx, gone.other)):
        return _recreate(ctx, pair, gone, keep, obs)  # invariant 9: the edit wins
    if _writes(ctx, gone.other):
        # delete-wins: the edit is lost on purpose, so keep it in the conflict log.
        c_item = keep.item if gone is GOOGLE else None
        g_item = keep.item if gone is CRM else None
        conflict = _conflict(ctx, pair.key, gone, c_item, g_item, "deleted vs edited")
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
