"""Run one sync round: read both sides, plan, resolve reads, apply, commit after each action.

Public API: `sync_user(RoundContext) -> RoundResult`, `RoundContext`, `Limits`, `RoundResult`,
`SideCounts`, `cursor_names`.
The only I/O is through the Side and PairStore protocols.

Cursor rule: the cursors of a round are stored only at its end, once every change they cover
is applied or parked. An item whose action failed is parked as a *dirty* row (status FAILED
with its message, attempts + 1; a new item gets its PENDING intent row first): the next round
reads dirty rows again by id, so their change is not lost although the cursor moved past it.
A crash or a quota stop leaves the old cursors, so the next round replays the changes;
replays of what was already applied are recognised by etag/hash and cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from calsync.engine.actions import (
    Action,
    Create,
    Delete,
    Env,
    Fetch,
    SideName,
    Skip,
    Update,
    side_id,
)
from calsync.engine.caps import Capped, Caps, cap
from calsync.engine.filters import prefs_fingerprint
from calsync.engine.moves import arrivals, departures
from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.engine.plan import (
    GUARD_FLOOR,
    MassDeleteBlocked,
    PlanContext,
    Seen,
    View,
    blind_listing,
    check_emptied,
    check_guard,
    plan,
    plan_pair,
)
from calsync.engine.store import LogEntry, PairStore, Touching
from calsync.errors import (
    AuthError,
    BudgetSpent,
    CalsyncError,
    InvalidSyncToken,
    LeaseLost,
    NotFound,
    PreconditionFailed,
    QuotaError,
)
from calsync.model import Item, content_hash
from calsync.prefs import Prefs
from calsync.sides.base import (
    BatchSide,
    BatchWriteSide,
    ChangeSet,
    Remote,
    Side,
    WriteResult,
    offers,
)

_LOGGER = logging.getLogger(__name__)


@dataclass
class SideCounts:
    """What a round did to one side."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    conflicts: int = 0
    """Conflicts whose loser was on this side (its copy was overwritten or deleted)."""
    skipped: int = 0
    errors: int = 0

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class RoundResult:
    """The outcome of one round for one user and kind (a row of the CLI summary table)."""

    user: str
    kind: Kind
    crm: SideCounts = field(default_factory=SideCounts)
    google: SideCounts = field(default_factory=SideCounts)
    full: bool = False
    """A full listing was read on at least one side."""
    dry_run: bool = False
    planned: list[str] = field(default_factory=list)
    """The plan, one line per action (filled in dry runs)."""
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why the round stopped early (`quota`, `paused`), cursors kept; None when it ran through."""

    def side(self, name: SideName) -> SideCounts:
        return self.crm if name is SideName.CRM else self.google

    @property
    def ok(self) -> bool:
        return not self.errors and self.stopped is None


def cursor_names(kind: Kind, scope: str = "primary") -> tuple[str, str, str]:
    """Return the store's cursor names: CRM, Google, and the prefs fingerprint.

    All three are per scope (Google calendar or task list): a user syncing several calendars
    runs one round per calendar, and each must see every CRM change since its own last round.
    """
    tail = f"{kind.value}:{scope}"
    return f"crm:{tail}", f"google:{tail}", f"engine:{tail}:prefs"


class ResolveIncomplete(CalsyncError):
    """The plan still asked for reads after every resolve pass: a planner bug, never hidden.

    The round fails with this (nothing of it applied, cursors kept) instead of silently
    dropping the pairs it could not settle.
    """

    def __init__(self, keys: list[str], passes: int) -> None:
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        super().__init__(f"{len(keys)} item(s) still needed reads after {passes} passes: {shown}")
        self.keys = keys


class _Stop(Exception):
    """Quota said stop: end the round early and keep the cursors."""


def _read(side: Side[Any], cursor: str | None) -> ChangeSet[Any]:
    try:
        return side.changes(cursor)
    except InvalidSyncToken:
        # 410: drop the cursor and read everything; matching is by id and key, and absent
        # linked copies are verified by id, so this re-reads but never re-imports or deletes.
        _LOGGER.info("%s cursor expired, doing a full listing", side.name)
        return side.changes(None)


@dataclass(frozen=True)
class Limits:
    """How far a round may go before it gives up on an item or on itself."""

    max_attempts: int = 5
    """Failed attempts after which a pair is quarantined until its content changes."""
    resolve_passes: int = 4
    """Read-and-replan passes of the resolve step; each reads sides not read before, so two
    or three suffice, and a plan still asking for reads after these is a planner bug."""


@dataclass(frozen=True)
class RoundContext:
    """Everything one round of one user and kind runs with: sides, store, prefs, time, limits."""

    user: str
    kind: Kind
    crm: Side[Any]
    google: Side[Any]
    store: PairStore
    prefs: Prefs
    now: datetime
    """The round's time: one instant for every decision of the round."""
    user_tz: str = "UTC"
    scope: str = "primary"
    """Google calendar id (events) or task list id (to-dos) this round syncs."""
    crm_blind: frozenset[str] = frozenset()
    """Event fields the CRM cannot hold; a CRM edit never overwrites them on Google."""
    crm_degrade: Callable[[str], str] | None = None
    """What the CRM makes of text it stores when it cannot hold every character (vtiger on a
    3-byte utf8 database); None when it keeps text as given."""
    crm_stores: Callable[[Item], Item] | None = None
    """What the CRM makes of an item it stores when it holds some fields lossily (vtiger: one
    reminder, in its own minutes); None when it keeps items as given."""
    limits: Limits = Limits()
    caps: Caps = field(default_factory=Caps)
    """Bounds on the occurrences of recurring series created (calsync.engine.caps); a round
    that left some for later stops with `stopped="occurrence cap"` and keeps its cursors."""
    dry_run: bool = False
    """Read and plan, write nothing."""
    force: bool = False
    """Apply what the mass-delete guard would block."""
    full: bool = False
    """Read full listings (e.g. daily, to notice items time brought into the window)."""

    def planning(self) -> PlanContext:
        """Return the pure part of the context the planner sees."""
        return PlanContext(
            self.user,
            self.kind,
            self.prefs,
            self.now,
            self.user_tz,
            self.scope,
            self.limits.max_attempts,
            self.crm_blind,
            self.crm_degrade,
            self.crm_stores,
        )


def sync_user(round_: RoundContext) -> RoundResult:
    """Run one round for the context's user and kind and return what it did.

    Raises MassDeleteBlocked (nothing written, cursors kept) unless `force`, and AuthError
    (the link needs reconnecting). A dry run reads but writes nothing.
    """
    user, kind, store, prefs = round_.user, round_.kind, round_.store, round_.prefs
    dry_run, force, now = round_.dry_run, round_.force, round_.now
    result = RoundResult(user, kind, dry_run=dry_run)
    if prefs.paused:
        result.stopped = "paused"
        return result
    ctx = round_.planning()
    env = Env(user, kind, now, round_.crm, round_.google, store)
    crm_name, google_name, fp_name = cursor_names(kind, round_.scope)
    fp = prefs_fingerprint(prefs)
    # A prefs change that alters scope or projection re-examines everything once.
    refull = round_.full or store.cursor(user, fp_name) != fp
    crm_cs = _read(round_.crm, None if refull else store.cursor(user, crm_name))
    google_cs = _read(round_.google, None if refull else store.cursor(user, google_name))
    result.full = crm_cs.full or google_cs.full
    for side, cs in ((SideName.CRM, crm_cs), (SideName.GOOGLE, google_cs)):
        _note_unreadable(side, cs, env, result)
    # Pairs of other calendars are none of this round's business (their copies live
    # elsewhere), but for an event that moved here from one of them (calsync.engine.moves).
    # An incremental round reads only the rows its listings name (in any calendar), the dirty
    # ones and those missing an id: a quiet round reads no row, however long the history.
    full = crm_cs.full or google_cs.full
    touching = None if full else _touching(crm_cs, google_cs)
    every = (
        store.pairs(user, kind) if touching is None else store.pairs_touching(user, kind, touching)
    )
    pairs = [p for p in every if p.scope == round_.scope]
    others = [p for p in every if p.scope != round_.scope]
    try:
        actions = plan(crm_cs, google_cs, pairs, ctx, others).actions
        # Events moved between the user's calendars are followed, never deleted and re-made.
        try:
            actions = arrivals(actions, ctx, round_.google)
        except QuotaError as stop:
            raise _Stop from stop
        reads: Reads = {}
        actions, failed = _resolve(
            actions, ctx, env, round_.limits.resolve_passes, reads, _unlisted(google_cs)
        )
        try:
            actions = departures(actions, round_.google)
        except QuotaError as stop:
            raise _Stop from stop
        if not force:
            for name, cs in ((SideName.CRM, crm_cs), (SideName.GOOGLE, google_cs)):
                check_emptied(cs, name, pairs, ctx, _copies(reads, name))
            deletes = sum(isinstance(a, Delete) for a in actions)
            # The guard needs the number of linked items only when the deletes could pass it.
            linked = (
                len(pairs)
                if full or deletes <= GUARD_FLOOR
                else store.count_pairs(user, kind, round_.scope)
            )
            check_guard(actions, linked, prefs, force)
        for a, err in failed:
            _failed(a, err, env, result, a.sides[0], ctx.max_attempts, mark=not dry_run)
        actions, capped = cap(
            actions, ((SideName.CRM, crm_cs), (SideName.GOOGLE, google_cs)), round_.caps
        )
    except MassDeleteBlocked as err:
        if not dry_run:
            store.add_log(LogEntry(user, now, "blocked", message=str(err), level="warning"))
            store.commit()
        raise
    except _Stop:
        result.stopped = "quota"
        return result
    if dry_run:
        result.planned = [a.describe() for a in actions]
        return result
    _log_caps(capped, round_.caps, env)
    try:
        _apply_all(actions, ctx, env, result, round_.limits.resolve_passes)
    except _Stop:
        result.stopped = "quota"
        return result
    if capped.deferred:
        # The occurrences held back are in the changes the old cursors cover: keep them.
        result.stopped = "occurrence cap"
        return result
    # An empty full listing that unconfirmed creates wait on is listed in full again.
    if not blind_listing(crm_cs, SideName.CRM, pairs):
        store.set_cursor(user, crm_name, crm_cs.final_cursor())
    if not blind_listing(google_cs, SideName.GOOGLE, pairs):
        store.set_cursor(user, google_name, google_cs.final_cursor())
    store.set_cursor(user, fp_name, fp)
    store.commit()
    return result


MAX_TOUCHING = 5_000
"""Ids and keys past which an incremental round reads the whole scope's rows instead."""


def _touching(crm: ChangeSet[Any], google: ChangeSet[Any]) -> Touching | None:
    """Return what the two increments name: None when every pair must be read (an increment
    asking for copies to be read again by a rule, or naming too much to ask by id)."""
    if crm.reread is not None or google.reread is not None:
        return None
    # A listed occurrence of a series its CRM keeps one record per occurrence names every
    # member: whether any is linked decides how the series reaches Google.
    members = (
        m for r in crm.items if (link := getattr(r.item, "series", None)) for m in link.members
    )
    touching = Touching(
        crm_ids=frozenset([*(r.id for r in crm.items), *crm.deleted, *members]),
        google_ids=frozenset(
            [
                *(r.id for r in google.items),
                *(r.first_id for r in google.items if r.first_id),  # moved here (moves.py)
                *google.deleted,
            ]
        ),
        keys=frozenset(r.key for cs in (crm, google) for r in cs.items if r.key is not None),
    )
    return touching if len(touching) <= MAX_TOUCHING else None


def _note_unreadable(side: SideName, cs: ChangeSet[Any], env: Env, result: RoundResult) -> None:
    """Count the items `side` could not read and log each one where the user will see it
    (the store's sync log, shown on their page), not only on the server's stderr."""
    result.side(side).skipped += len(cs.skipped)
    if result.dry_run:
        return
    for id_ in cs.skipped:
        reason = cs.skip_reasons.get(id_) or "unreadable"
        env.log("skip", side.value, id_, message=f"skipped: {reason}", level="warning")
    if cs.skipped:
        # Committed now: a later action's rollback must not take these lines with it.
        env.store.commit()


def _log_caps(capped: Capped, caps: Caps, env: Env) -> None:
    """Say in the user's sync log what the occurrence caps held back, one line each."""
    for series, (title, kept, listed) in sorted(capped.series.items()):
        msg = (
            f"recurring series {title!r} has {listed} occurrences in the sync window; only "
            f"its first {kept} are synced (limit per series)"
        )
        _LOGGER.warning("sync of %s: %s", env.user, msg)
        env.store.add_log(
            LogEntry(
                env.user, env.now, "skip", key=series, title=title, message=msg, level="warning"
            )
        )
    if capped.deferred:
        msg = (
            f"{caps.per_round} occurrences of recurring series created this round (limit per "
            f"round); {capped.deferred} more follow in the next rounds"
        )
        _LOGGER.warning("sync of %s: %s", env.user, msg)
        env.store.add_log(LogEntry(env.user, env.now, "capped", message=msg, level="warning"))
    if capped.series or capped.deferred:
        env.store.commit()


Reads = dict[tuple[SideName, str], Remote[Any] | CalsyncError | None]
"""What the resolve step read by id: per (side, id) the copy, None (gone), or why it failed."""


Unlisted = Callable[[Pair], bool]
"""Tells whether a pair's Google copy is unchanged since its row (the increment left it out)."""


def _unlisted(google: ChangeSet[Any]) -> Unlisted:
    """Return the test of a pair whose Google copy the increment `google` did not list.

    Such a copy is unchanged since the row: its etag is the one stored, so the copy kept
    with the row is Google's. A full listing tells nothing of what it left out, a dirty
    row's change is in no increment, and a copy the side asks to read again (an occurrence
    of a series this increment changed, which a split may have cut off) may be gone: those
    are read.
    """
    listed = {r.id for r in google.items} | set(google.deleted) | set(google.skipped)
    reread = google.reread

    def unlisted(p: Pair) -> bool:
        if google.full or p.dirty or p.google_id is None or p.google_id in listed:
            return False
        if reread is not None and reread(p.google_id):
            return False
        return p.google_etag is not None and p.google_hash is not None

    return unlisted


def _kept(fetches: list[Fetch], env: Env, unlisted: Unlisted) -> dict[str, Remote[Any]]:
    """Return the Google copies `fetches` ask for that the store keeps, by Google id.

    Only for pairs whose copy is unchanged since the row, and only a kept copy whose content
    hash is the row's: anything else is read from Google.
    """
    rows = {
        f.before.key: f.before
        for f in fetches
        if SideName.GOOGLE in f.sides and f.before is not None and unlisted(f.before)
    }
    if not rows:
        return {}
    out: dict[str, Remote[Any]] = {}
    for key, item in env.store.google_copies(env.user, env.kind, list(rows)).items():
        p = rows[key]
        if p.google_id and p.google_etag is not None and content_hash(item) == p.google_hash:
            out[p.google_id] = Remote(p.google_id, p.google_etag, item)
    return out


def _read_by_id(fetches: list[Fetch], env: Env, unlisted: Unlisted | None = None) -> Reads:
    """Read every copy `fetches` ask for: one batch per side where the side offers it.

    A Google copy unchanged since its row (`unlisted`) is the copy the store keeps, when it
    keeps one: no read. A batch that fails as a whole (one bad part fails it) is read again
    one id at a time, so the failure stays with its own item. A lost link fails the round at
    once.
    """
    got: Reads = {}
    for name in (SideName.CRM, SideName.GOOGLE):
        ids = list(
            dict.fromkeys(
                i
                for f in fetches
                if name in f.sides and f.before is not None
                if (i := side_id(f.before, name)) is not None
            )
        )
        if name is SideName.GOOGLE and unlisted is not None and ids:
            kept = _kept(fetches, env, unlisted)
            got.update(((name, i), r) for i, r in kept.items())
            ids = [i for i in ids if i not in kept]
        side = env.side(name)
        quota: QuotaError | None = None
        if len(ids) > 1 and offers(side, BatchSide):
            try:
                batch = cast(BatchSide[Any], side).get_many(ids)
            except AuthError:
                raise
            except QuotaError as err:
                quota = err
            except CalsyncError as err:
                _LOGGER.info("batch read of %d %s items failed (%s); reading one by one",
                             len(ids), name.value, err)  # fmt: skip
            else:
                got.update(((name, i), batch[i]) for i in ids if i in batch)
                # An id the batch did not answer is read alone: silence is no deletion.
                ids = [i for i in ids if i not in batch]
        for i in ids:
            if quota is not None:
                got[name, i] = quota  # the side said stop: do not ask again this round
                continue
            try:
                got[name, i] = side.get(i)
            except AuthError:
                raise
            except QuotaError as err:
                got[name, i] = quota = err
            except CalsyncError as err:
                got[name, i] = err
    return got


def _fetched_views(fetch: Fetch, got: Reads) -> tuple[View, View]:
    """Return the pair's views with the copies read by id (CalsyncError: that read failed)."""
    assert fetch.before is not None
    out: dict[SideName, View] = {}
    for side in (SideName.CRM, SideName.GOOGLE):
        known = fetch.crm if side is SideName.CRM else fetch.google
        gone = fetch.crm_gone if side is SideName.CRM else fetch.google_gone
        id_ = side_id(fetch.before, side)
        if side in fetch.sides and id_ is not None:
            remote = got[side, id_]
            if isinstance(remote, CalsyncError):
                raise remote
            out[side] = View(Seen.GONE) if remote is None else View(Seen.PRESENT, remote)
        elif gone:
            out[side] = View(Seen.GONE)
        elif known is not None:
            out[side] = View(Seen.PRESENT, known)
        else:
            out[side] = View(Seen.NONE) if id_ is None else View(Seen.UNSEEN)
    return out[SideName.CRM], out[SideName.GOOGLE]


def _copies(reads: Reads, side: SideName) -> dict[str, Remote[Any] | None]:
    """Return what the reads by id found on `side` (failed reads left out: nothing known)."""
    return {i: r for (s, i), r in reads.items() if s is side and not isinstance(r, CalsyncError)}


def _resolve(
    actions: list[Action],
    ctx: PlanContext,
    env: Env,
    passes: int,
    reads: Reads,
    unlisted: Unlisted | None = None,
) -> tuple[list[Action], list[tuple[Fetch, CalsyncError]]]:
    """Do the reads the plan asked for and plan those pairs again (reads only, no writes).

    Returns the settled actions and the reads that failed (the caller parks those items, once
    the round is known to go ahead); every read is added to `reads`. Google copies
    `unlisted` are taken from the store where it keeps them. Each pass reads sides
    not read before, so two or three suffice; a plan still asking for reads after `passes`
    is a planner bug and fails the round (ResolveIncomplete). A lost link (AuthError) fails
    the round, and a quota stop ends it.
    """
    out: list[Action] = []
    failed: list[tuple[Fetch, CalsyncError]] = []
    queue = actions
    for _ in range(passes):
        fetches = [a for a in queue if isinstance(a, Fetch)]
        out.extend(a for a in queue if not isinstance(a, Fetch))
        if not fetches:
            return out, failed
        got = _read_by_id(fetches, env, unlisted)
        reads.update(got)
        queue = []
        for a in fetches:
            assert a.before is not None
            try:
                crm, google = _fetched_views(a, got)
            except QuotaError as err:
                raise _Stop from err
            except CalsyncError as err:
                failed.append((a, err))
                continue
            queue.extend(plan_pair(ctx, a.before, crm, google))
    out.extend(a for a in queue if not isinstance(a, Fetch))
    stuck = [a.key for a in queue if isinstance(a, Fetch)]
    if stuck:
        raise ResolveIncomplete(stuck, passes)
    return out, failed


Writes = Create | Update | Delete


def _apply_all(
    actions: list[Action], ctx: PlanContext, env: Env, result: RoundResult, passes: int
) -> None:
    """Apply `actions` in order; writes to a side that offers `write_many` go in runs of its
    batch size, one round trip per run, each write's state committed on its own."""
    runs: dict[SideName, list[Writes]] = {}
    batching = {n: offers(env.side(n), BatchWriteSide) for n in SideName}
    for action in actions:
        if isinstance(action, Writes) and action.side is not None and batching[action.side]:
            side = cast(BatchWriteSide[Any], env.side(action.side))
            run = runs.setdefault(action.side, [])
            run.append(action)
            if len(run) >= max(1, side.batch_size):
                _apply_run(run, side, ctx, env, result, passes)
                run.clear()
            continue
        _execute(action, ctx, env, result, passes)
    for name, run in runs.items():
        if run:
            _apply_run(run, cast(BatchWriteSide[Any], env.side(name)), ctx, env, result, passes)


def _apply_run(
    run: list[Writes],
    side: BatchWriteSide[Any],
    ctx: PlanContext,
    env: Env,
    result: RoundResult,
    passes: int,
) -> None:
    """Send `run`'s writes in one `write_many` and settle each write's outcome on its own.

    Everything that must be durable before the writes (the creates' intent rows) is
    committed in one go first, which also proves the lease. Once every part's answer is in,
    the state of the writes that succeeded is committed in one transaction; a crash before
    it leaves intents and unchanged rows, which the next round adopts (by key or by
    content) or finds in step, so nothing is lost or made twice. Then each failed write is
    handled alone, as a write sent by itself is: retried after a 412, adopted after a 409,
    or parked. The successes are committed before any failure is handled, so a quota stop
    loses none of them.
    """
    for action in run:
        action.prepare(env)
    env.store.commit()
    try:
        outcomes: list[WriteResult[Any]] = side.write_many([a.write() for a in run])
    except AuthError:
        raise
    except CalsyncError as err:
        # The whole request failed: no part's outcome is known, each is parked (an insert
        # that did land is adopted next round by its intent row).
        outcomes = [err] * len(run)
    done = [(a, o) for a, o in zip(run, outcomes, strict=True) if not isinstance(o, CalsyncError)]
    failed = [(a, o) for a, o in zip(run, outcomes, strict=True) if isinstance(o, CalsyncError)]
    try:
        for action, outcome in done:
            action.settle(env, outcome)
        env.store.commit()
    except CalsyncError:
        # One settle failed (or the commit did): settle them one by one, so the failure
        # stays with its own write (a lost lease is raised on from there).
        env.store.rollback()
        for action, outcome in done:
            _execute(action, ctx, env, result, passes, outcome=(outcome,))
    else:
        for action, _ in done:
            _count(action, result)
    _withdraw([a for a, error in failed if isinstance(error, BudgetSpent)], env)
    for action, error in failed:
        _execute(action, ctx, env, result, passes, outcome=(error,))


def _withdraw(refused: list[Writes], env: Env) -> None:
    """Take back the intent rows of creates our own budget refused: nothing of them was
    sent, so each pair is left as it was before the round (a later round does the create)."""
    creates = [a for a in refused if isinstance(a, Create) and a.row is not None]
    for action in creates:
        assert action.row is not None
        env.store.delete_pair(env.user, env.kind, action.row.key)
        if action.before is not None:
            env.store.put_pair(action.before)
    if creates:
        env.store.commit()


def _execute(
    action: Action,
    ctx: PlanContext,
    env: Env,
    result: RoundResult,
    passes: int,
    outcome: tuple[WriteResult[Any]] | None = None,
) -> None:
    """Apply one action and commit; on failure roll back and park the item (per-item).

    With `outcome`, the action's write was sent already (in a batch): only its result is
    settled here, as the action's own `apply` would.
    """
    if isinstance(action, Skip):
        result.side(action.side or SideName.CRM).skipped += 1
        if action.row is not None:
            action.apply(env)  # keeps a held row; writes no side
            env.store.commit()
        return
    try:
        if outcome is None:
            action.apply(env)
        else:
            assert isinstance(action, Writes)
            action.settle(env, outcome[0])
        env.store.commit()
        _count(action, result)
    except (PreconditionFailed, NotFound) as err:
        env.store.rollback()
        if action.before is None or not action.writes:
            _failed(action, err, env, result, action.side, ctx.max_attempts)
            return
        # 412 (or the copy vanished): someone changed it between our read and our write.
        # Read both copies again and plan this pair afresh; a second failure parks it.
        try:
            refetch = Fetch(action.key, before=action.before, sides=(SideName.CRM, SideName.GOOGLE))
            again, failed = _resolve([refetch], ctx, env, passes, {})
            for _, err2 in failed:
                raise err2
            for a in again:
                _execute_once(a, env, result)
        except CalsyncError as err2:
            env.store.rollback()
            _failed(action, err2, env, result, action.side, ctx.max_attempts)
    except CalsyncError as err:
        env.store.rollback()
        _failed(action, err, env, result, action.side, ctx.max_attempts)


def _execute_once(action: Action, env: Env, result: RoundResult) -> None:
    if isinstance(action, Skip):
        result.side(action.side or SideName.CRM).skipped += 1
        if action.row is not None:
            action.apply(env)
            env.store.commit()
        return
    action.apply(env)
    env.store.commit()
    _count(action, result)


def _count(action: Action, result: RoundResult) -> None:
    if action.side is None:
        return
    counts = result.side(action.side)
    if isinstance(action, Create):
        counts.created += 1
    elif isinstance(action, Update):
        counts.updated += 1
    elif isinstance(action, Delete):
        counts.deleted += 1
    if isinstance(action, Create | Update | Delete) and action.conflict is not None:
        counts.conflicts += 1


def _failed(
    action: Action,
    err: CalsyncError,
    env: Env,
    result: RoundResult,
    side: SideName | None,
    max_attempts: int,
    mark: bool = True,
) -> None:
    """Park a failed item: its row keeps its old state plus error and attempts (dirty).

    Errors that are about the round, not the item (the link needs reconnecting, another round
    took over the user's lease, the planner could not settle), are raised on: parking one item
    for them would hide them, and after a lost lease nothing may be written at all.
    """
    if isinstance(err, AuthError | LeaseLost | ResolveIncomplete):
        raise err
    if isinstance(err, BudgetSpent):
        # Our own budget refused the call before it was made: nothing of this item happened,
        # so it is not parked (no attempt spent); the round stops and a later one does it.
        raise _Stop from err
    msg = f"{type(err).__name__}: {err}"
    result.side(side or SideName.CRM).errors += 1
    result.errors.append(f"{action.key}: {msg}")
    _LOGGER.warning("sync of %s %s failed: %s", env.user, action.key, msg)
    row = action.failure_row()
    if mark and row is not None:
        parked = _park(row, msg, action.observed, max_attempts)
        env.store.put_pair(parked)
        env.store.add_log(
            LogEntry(
                env.user,
                env.now,
                "error",
                side=side.value if side else "",
                key=action.key,
                message=msg,
                level="error",
            )
        )
        env.store.commit()
    if isinstance(err, QuotaError):
        raise _Stop from err


def _park(row: Pair, msg: str, observed: str, max_attempts: int) -> Pair:
    # The observed contents go with the failure: quarantine lasts until they change.
    attempts = row.attempts + 1
    status = PairStatus.QUARANTINED if attempts >= max_attempts else PairStatus.FAILED
    return row.with_(status=status, message=msg, observed=observed, attempts=attempts)
