"""Prefs policy: what may travel, how it looks on the other side, and who wins a conflict.

Public API: `PlanContext`, `writes`, `source`, `project`, `stored`, `text_fields`, `consistent`,
`masked`, `winner`, `record_conflict`. Pure: no I/O, no clock (the round's time comes in
`PlanContext.now`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from calsync.engine import filters
from calsync.engine.actions import SideName
from calsync.engine.pairs import Kind
from calsync.engine.store import Conflict
from calsync.model import Event, Item, Task, Visibility, as_dict
from calsync.prefs import Direction, Prefs, PrivateMode, Winner

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
    crm_stores: Callable[[Item], Item] | None = None
    """What the CRM makes of an item it stores, when it holds some fields lossily (vtiger: one
    reminder, in its own minutes). A CRM value equal to that of the stored Google item is no
    change: Google keeps its original."""


def writes(ctx: PlanContext, side: SideName) -> bool:
    """Return True when the prefs' direction lets calsync write `side`."""
    d = ctx.prefs.direction
    return d.writes_crm if side is CRM else d.writes_google


def source(ctx: PlanContext) -> SideName | None:
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


def text_fields(item: Item) -> tuple[str, ...]:
    """Return the names of `item`'s free-text fields."""
    return ("title", "notes") if isinstance(item, Task) else ("title", "description", "location")


def _keep_degraded(ctx: PlanContext, src: SideName, out: Item, target: Item | None) -> Item:
    """Return `out` with each field the CRM degraded on storage taken from `target`.

    The CRM hands back its stored form of what calsync wrote (`crm_stores` for the item, then
    `crm_degrade` for each text): that is no change. Towards Google, a CRM value equal to the
    stored form of Google's value keeps Google's original (both reminders, the emoji); towards
    the CRM, a Google value whose stored form the CRM holds already needs no write.
    """
    if target is None or type(out) is not type(target):
        return out
    if ctx.crm_degrade is None and ctx.crm_stores is None:
        return out
    crm_item, google_item = (out, target) if src is CRM else (target, out)
    held = stored(ctx, google_item)
    keep = {}
    for f in fields(out):
        if not f.compare:
            continue  # metadata (`updated`)
        new, old = getattr(out, f.name), getattr(target, f.name)
        if new != old and getattr(held, f.name) == getattr(crm_item, f.name):
            keep[f.name] = old
    return out.with_(**keep) if keep else out


def stored(ctx: PlanContext, item: Item) -> Item:
    """Return `item` as the CRM would hold it once written (itself when the CRM is lossless)."""
    out = ctx.crm_stores(item) if ctx.crm_stores is not None else item
    degrade = ctx.crm_degrade
    if degrade is None:
        return out
    return out.with_(**{name: degrade(getattr(out, name)) for name in text_fields(out)})


def consistent(ctx: PlanContext, crm: Item, google: Item) -> bool:
    """Return True when the two copies already agree as far as either may travel."""
    to_g = project(ctx, CRM, crm, google)
    to_c = project(ctx, GOOGLE, google, crm)
    if to_g is None and to_c is None:
        return True  # out of scope both ways: nothing to compare (frozen)
    return (to_g is not None and filters.same(to_g, google)) or (
        to_c is not None and filters.same(to_c, crm)
    )


def record_conflict(
    ctx: PlanContext, key: str, winner: SideName, crm: Item | None, google: Item | None, why: str
) -> Conflict:
    """Return the conflict-log record keeping both versions and the winner."""
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


def masked(ctx: PlanContext, crm: Item | None) -> bool:
    """Return True when the Google copy is a busy mask of this CRM item (CRM is the truth)."""
    return (
        ctx.prefs.private is PrivateMode.BUSY
        and isinstance(crm, Event)
        and crm.visibility is Visibility.PRIVATE
    )


def winner(ctx: PlanContext, crm: Item, google: Item) -> SideName:
    """Return the side whose version ends on both sides when both changed."""
    src = source(ctx)
    if src is not None:
        return src  # one-way: the source is the truth, target edits are reverted
    if masked(ctx, crm):
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
