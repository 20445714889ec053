"""Run one sync round: read both sides, plan, resolve reads, apply, commit after each action.

Public API: `sync_user(...) -> RoundResult`, `RoundResult`, `SideCounts`, `cursor_names`.
The only I/O is through the Side and PairStore protocols.

Cursor rule: the cursors of a round are stored only at its end, once every
change they cover is applied or parked. An item whose action failed is parked as a *dirty*
row (error set, attempts + 1; a new item gets its intent row first): the next round reads
dirty rows again by id, so their change is not lost although the cursor moved past it. A
crash or a quota stop leaves the old cursors, so the next round replays the changes; replays
of what was already applied are recognised by etag/hash and cost nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
from calsync.engine.pairs import Kind, Pair
from calsync.engine.plan import (
    MassDeleteBlocked,
    PlanContext,
    Seen,
    View,
    check_guard,
    plan,
    plan_pair,
)
from calsync.engine.store import LogEntry, PairStore
from calsync.errors import (
    AdapterError,
    AuthError,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
    QuotaError,
)
from calsync.prefs import Prefs
from calsync.sides.base import ChangeSet, Side

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


def sync_user(
    user: str,
    crm: Side[Any],
    google: Side[Any],
    store: PairStore,
    prefs: Prefs,
    kind: Kind,
    now: datetime,
    user_tz: str = "UTC",
    dry_run: bool = False,
    force: bool = False,
    *,
    full: bool = False,
    scope: str = "primary",
    max_attempts: int = 5,
    crm_blind: frozenset[str] = frozenset(),
    caps: Caps = Caps(),
    crm_degrade: Callable[[str], str] | None = None,
) -> RoundResult:
    """Run one round for `user`'s items of `kind` and return what it did.

    Raises MassDeleteBlocked (nothing written, cursors kept) unless `force`, and AuthError
    (the link needs reconnecting). `full` forces full listings (e.g. daily, to notice items
    that entered the sync window as time passed). A dry run reads but writes nothing.
    `caps` bounds the occurrences of recurring series created (calsync.engine.caps); a round
    that left some for later stops with `stopped="occurrence cap"` and keeps its cursors.
    """
    result = RoundResult(user, kind, dry_run=dry_run)
    if prefs.paused:
        result.stopped = "paused"
        return result
    ctx = PlanContext(user, kind, prefs, now, user_tz, scope, max_attempts, crm_blind, crm_degrade)
    env = Env(user, kind, now, crm, google, store)
    crm_name, google_name, fp_name = cursor_names(kind, scope)
    fp = prefs_fingerprint(prefs)
    # A prefs change that alters scope or projection re-examines everything once.
    refull = full or store.cursor(user, fp_name) != fp
    crm_cs = _read(crm, None if refull else store.cursor(user, crm_name))
    google_cs = _read(google, None if refull else store.cursor(user, google_name))
    result.full = crm_cs.full or google_cs.full
    for side, cs in ((SideName.CRM, crm_cs), (SideName.GOOGLE, google_cs)):
        _note_unreadable(side, cs, env, result)
    # Pairs of other calendars are none of this round's business (their copies live elsewhere).
    pairs = [p for p in store.pairs(user, kind) if p.scope == scope]
    try:
        actions = plan(crm_cs, google_cs, pairs, ctx, force=force).actions
        actions = _resolve(actions, ctx, env, result)
        check_guard(actions, pairs, prefs, force)
        actions, capped = cap(actions, ((SideName.CRM, crm_cs), (SideName.GOOGLE, google_cs)), caps)
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
    _log_caps(capped, caps, env)
    for action in actions:
        try:
            _execute(action, ctx, env, result)
        except _Stop:
            result.stopped = "quota"
            return result
    if capped.deferred:
        # The occurrences held back are in the changes the old cursors cover: keep them.
        result.stopped = "occurrence cap"
        return result
    store.set_cursor(user, crm_name, crm_cs.final_cursor())
    store.set_cursor(user, google_name, google_cs.final_cursor())
    store.set_cursor(user, fp_name, fp)
    store.commit()
    return result


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


def _fetched_views(fetch: Fetch, env: Env) -> tuple[View, View]:
    assert fetch.before is not None
    out: dict[SideName, View] = {}
    for side in (SideName.CRM, SideName.GOOGLE):
        known = fetch.crm if side is SideName.CRM else fetch.google
        gone = fetch.crm_gone if side is SideName.CRM else fetch.google_gone
        id_ = side_id(fetch.before, side)
        if side in fetch.sides and id_ is not None:
            remote = env.side(side).get(id_)
            out[side] = View(Seen.GONE) if remote is None else View(Seen.PRESENT, remote)
        elif gone:
            out[side] = View(Seen.GONE)
        elif known is not None:
            out[side] = View(Seen.PRESENT, known)
        else:
            out[side] = View(Seen.NONE) if id_ is None else View(Seen.UNSEEN)
    return out[SideName.CRM], out[SideName.GOOGLE]


def _resolve(
    actions: list[Action], ctx: PlanContext, env: Env, result: RoundResult
) -> list[Action]:
    """Do the reads the plan asked for and plan those pairs again (reads only, no writes)."""
    out: list[Action] = []
    queue = actions
    for _ in range(4):  # each pass reads sides not read before, so two or three suffice
        later: list[Action] = []
        for a in queue:
            if not isinstance(a, Fetch):
                out.append(a)
                continue
            assert a.before is not None
            try:
                crm, google = _fetched_views(a, env)
            except AdapterError as err:
                _failed(a, err, env, result, a.sides[0], mark=not result.dry_run)
                continue
            later.extend(plan_pair(ctx, a.before, crm, google))
        queue = later
        if not queue:
            break
    return out


def _execute(action: Action, ctx: PlanContext, env: Env, result: RoundResult) -> None:
    """Apply one action and commit; on failure roll back and park the item (per-item)."""
    if isinstance(action, Skip):
        result.side(action.side or SideName.CRM).skipped += 1
        return
    try:
        action.apply(env)
        env.store.commit()
        _count(action, result)
    except (PreconditionFailed, NotFound) as err:
        env.store.rollback()
        if action.before is None or not action.writes:
            _failed(action, err, env, result, action.side)
            return
        # 412 (or the copy vanished): someone changed it between our read and our write.
        # Read both copies again and plan this pair afresh; a second failure parks it.
        try:
            again = _resolve(
                [Fetch(action.key, before=action.before, sides=(SideName.CRM, SideName.GOOGLE))],
                ctx,
                env,
                result,
            )
            for a in again:
                _execute_once(a, env, result)
        except AdapterError as err2:
            env.store.rollback()
            _failed(action, err2, env, result, action.side)
    except AdapterError as err:
        env.store.rollback()
        _failed(action, err, env, result, action.side)


def _execute_once(action: Action, env: Env, result: RoundResult) -> None:
    if isinstance(action, Skip):
        result.side(action.side or SideName.CRM).skipped += 1
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
    err: AdapterError,
    env: Env,
    result: RoundResult,
    side: SideName | None,
    mark: bool = True,
) -> None:
    """Park a failed item: its row keeps its old state plus error and attempts (dirty)."""
    if isinstance(err, AuthError):
        raise err
    msg = f"{type(err).__name__}: {err}"
    result.side(side or SideName.CRM).errors += 1
    result.errors.append(f"{action.key}: {msg}")
    _LOGGER.warning("sync of %s %s failed: %s", env.user, action.key, msg)
    row = action.failure_row()
    if mark and row is not None:
        parked = _park(row, msg, action.observed)
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


def _park(row: Pair, msg: str, observed: str) -> Pair:
    # The observed contents go with the error: quarantine lasts until they change.
    return row.with_(error=f"{msg} [{observed}]", attempts=row.attempts + 1)
