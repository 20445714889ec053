"""One sync round per user: checks, the per-user lock, wiring both sides, the run record.

Public API: `SyncService(store, crm, google, ..., pool_size=8)` with `sync_user(name, ...)` and
`sync_all(pool_size=None, users=None)` (every linked user, or the given ones, `pool_size` of
them at once in threads);
`UserReport` (what the CLI table and the web page show); `UserStatus`; `RoundService` (what a
caller that only runs rounds needs, e.g. the web page's background runner).

Every round run here is counted in the service's `RoundMetrics`, whoever asked for it.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from calsync.engine.caps import Caps
from calsync.engine.pairs import Kind
from calsync.engine.plan import MassDeleteBlocked
from calsync.engine.run import RoundContext, RoundResult, SideCounts
from calsync.engine.run import sync_user as engine_sync
from calsync.engine.store import LogEntry
from calsync.errors import AdapterError, AuthError, BudgetSpent, CalsyncError, LeaseLost
from calsync.model import Event, utcnow
from calsync.prefs import Direction, Prefs, PrefsError
from calsync.quota import Api, Backoff, Budget, CallBudget
from calsync.service.metrics import RoundMetrics
from calsync.service.waits import BudgetWaits, Waiting, describe
from calsync.sides.base import Side
from calsync.sides.crm import CrmBackend, CrmUserInfo
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.connections import GoogleConnections
from calsync.sides.google.factory import GoogleSettings, calendar_side, tasks_side
from calsync.sides.scoped import ScopedSide
from calsync.state.records import GoogleLink, LinkStatus, LockInfo, UnknownUser, UserBusy
from calsync.state.store import Store

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

Progress = Callable[[str], None]

DEFAULT_POOL_SIZE = 8
"""Users one process syncs at once in `sync_all` (the `pool_size` setting's default)."""


class UserStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    """The mass-delete guard stopped the round; `--force` applies it."""
    NEEDS_RECONNECT = "needs_reconnect"
    NOT_LINKED = "not_linked"
    PAUSED = "paused"
    BUSY = "busy"
    """Another round of this user is running (or took this round's lease over mid-way)."""
    WAITING = "waiting"
    """A daily API budget is spent: the sync goes on the next quota day or once it is raised."""

    @property
    def success(self) -> bool:
        # A paused user was skipped on purpose: that is not a failure of the round.
        return self in (UserStatus.OK, UserStatus.PAUSED)


@dataclass
class UserReport:
    """What one user's round did, per kind and side."""

    user: str
    status: UserStatus
    message: str = ""
    rounds: list[RoundResult] = field(default_factory=list)
    api_calls: int = 0
    """Google API calls the round made (every try, batched calls one each)."""

    def total(self, side: str) -> SideCounts:
        """Return the counts of `side` (`crm` | `google`) summed over every round."""
        out = SideCounts()
        for r in self.rounds:
            counts: SideCounts = getattr(r, side)
            for name in ("created", "updated", "deleted", "conflicts", "skipped", "errors"):
                setattr(out, name, getattr(out, name) + getattr(counts, name))
        return out

    def counts(self) -> dict[str, Any]:
        """Return the counts as JSON (stored with the run)."""
        return {side: vars(self.total(side)) for side in ("crm", "google")}


def register_crm_user(store: Store, crm: CrmBackend, name: str) -> CrmUserInfo:
    """Return the CRM user `name`, registering it in the state store; UnknownUser if none."""
    info = crm.user(name)
    if info is None:
        raise UnknownUser(name)
    _register(store, info)
    return info


def _register(store: Store, info: CrmUserInfo) -> None:
    """Add the CRM user `info` to the state store's users unless it is there."""
    if store.get_user(info.name) is None:
        store.upsert_user(info.name, crm_id=info.crm_id, email=info.email, time_zone=info.time_zone)


class RoundService(Protocol):
    """Runs one user's round now (`SyncService` is the real one)."""

    def sync_user(
        self,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        new_round: bool = True,
    ) -> UserReport:
        """Run one round for `name` and return what it did."""
        ...


class _CallTally:
    """Counts the Google calls of one round on their way to the real budget (if any), and
    keeps the budget refusals it passes on (per API, with the round they stopped)."""

    def __init__(self, budget: CallBudget | None) -> None:
        self._budget = budget
        self.calls = 0
        self.where = ""
        """The round under way, e.g. `event:primary`."""
        self.spent: dict[Api, tuple[BudgetSpent, str]] = {}

    def spend(self, user: str, n: int = 1, api: Api = Api.CALENDAR) -> None:
        if self._budget is not None:
            try:
                self._budget.spend(user, n, api)  # refuses before the call is counted here
            except BudgetSpent as err:
                self.spent.setdefault(Api(api), (err, self.where))
                raise
        self.calls += n


def _until_spent(tally: _CallTally, run: Callable[[], T]) -> T | None:
    """Return what `run` returns, or None when a budget refused one of its calls (the tally
    keeps the refusal; everything before it is committed, nothing after it was started)."""
    try:
        return run()
    except BudgetSpent:
        if not tally.spent:
            raise  # a refusal the tally never saw is not this round's stop: fail as usual
        return None


def _add(report: UserReport, tally: _CallTally, run: Callable[[], RoundResult]) -> None:
    """Run one engine round and keep its result, unless a budget stopped it before it began
    (a refused listing: the engine had read, planned and written nothing yet)."""
    result = _until_spent(tally, run)
    if result is not None:
        report.rounds.append(result)


class SyncService:
    """Runs sync rounds, each under its user's lock; `sync_all` runs several users at once."""

    def __init__(
        self,
        store: Store,
        crm: CrmBackend,
        google: GoogleSettings | Callable[[], GoogleSettings],
        *,
        budget: Budget | None = None,
        backoff: Backoff | None = None,
        now: Callable[[], datetime] = utcnow,
        metrics: RoundMetrics | None = None,
        connections: GoogleConnections | None = None,
        caps: Caps | None = None,
        waits: BudgetWaits | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.store = store
        self.pool_size = pool_size
        """Users `sync_all` syncs at once (threads), unless its call says otherwise."""
        self.caps = caps or Caps()
        """Bounds on the occurrences of recurring series a round creates."""
        self.crm = crm
        # A callable is asked again each time: the admin page may change the client meanwhile.
        self._google = google
        self.budget = budget
        self.backoff = backoff
        self.now = now
        self.metrics = metrics or RoundMetrics()
        # One HTTP client and one cached access token per user for every round of the process.
        self.connections = connections or GoogleConnections()
        self.waits = waits or BudgetWaits(
            store, lambda: budget.limits if budget is not None else {}, now
        )
        """Rounds stopped by a spent budget, waiting for the next quota day or a raise."""

    @property
    def google(self) -> GoogleSettings:
        """Return the Google client settings in force now."""
        return self._google() if callable(self._google) else self._google

    def known_user(self, name: str) -> CrmUserInfo:
        """Return the CRM user `name`, registering it in the state store; UnknownUser if none."""
        return register_crm_user(self.store, self.crm, name)

    def sync_all(
        self,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        pool_size: int | None = None,
        users: Sequence[str] | None = None,
    ) -> list[UserReport]:
        """Run a round for every linked user (or only for `users`, in their order) and return
        their reports in the users' order (links needing reconnection are reported).

        `pool_size` users (default: the service's) are synced at once, each in a thread of a
        pool that lives for this call; 1 syncs them one after another. Each user's round runs
        under that user's lock as always, so no two rounds of one user overlap, whoever else
        runs them. A store that cannot be shared between threads (in-memory SQLite) is synced
        one user at a time.
        """
        size = self.pool_size if pool_size is None else pool_size
        if size < 1:
            raise ValueError("pool_size must be at least 1")
        names = self.store.linked_users(status=None) if users is None else list(users)
        self.crm.begin_round()
        size = min(size, len(names))
        if size > 1 and not self.store.parallel_safe:
            _LOGGER.info("the state store is in memory: syncing one user at a time")
            size = 1
        if size <= 1:
            return [self._isolated(name, dry_run, force, progress) for name in names]
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="calsync-round")
        try:
            futures = [
                pool.submit(self._isolated, name, dry_run, force, progress) for name in names
            ]
            return [f.result() for f in futures]
        finally:
            # Interrupted (Ctrl-C): the rounds running finish, the ones not started never do.
            pool.shutdown(wait=True, cancel_futures=True)

    def _isolated(
        self, name: str, dry_run: bool, force: bool, progress: Progress | None
    ) -> UserReport:
        """Run `name`'s round for `sync_all`: whatever it raises is that user's failure only."""
        try:
            return self.sync_user(
                name, dry_run=dry_run, force=force, progress=progress, new_round=False
            )
        except Exception as err:
            _LOGGER.exception("round of %s failed", name)
            return self._crashed(name, err)

    def _crashed(self, name: str, err: Exception) -> UserReport:
        """Return the report of a round that raised something unexpected (and log it)."""
        message = f"internal error: {err!r}"
        try:
            self.store.rollback()
            self.store.add_log(LogEntry(name, self.now(), "failed", message=message, level="error"))
            self.store.commit()
        except Exception:
            # The store itself may be what failed: the report and the log line still say it.
            _LOGGER.exception("could not record the failed round of %s", name)
        return UserReport(name, UserStatus.FAILED, message)

    def sync_user(
        self,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        new_round: bool = True,
    ) -> UserReport:
        """Run one round for `name` (events, then to-dos when a task list is chosen).

        `new_round=False` is for `sync_all`, which started the CRM's round once for everyone.
        The round is counted in `metrics`, however it ends.
        """
        t0 = time.perf_counter()
        report: UserReport | None = None
        try:
            report = self._round(
                name, dry_run=dry_run, force=force, progress=progress, new_round=new_round
            )
            return report
        finally:
            self.metrics.record(
                ok=report is not None and report.status.success,
                api_calls=report.api_calls if report is not None else 0,
                seconds=time.perf_counter() - t0,
            )

    def _round(
        self, name: str, *, dry_run: bool, force: bool, progress: Progress | None, new_round: bool
    ) -> UserReport:
        try:
            if new_round:
                self.crm.begin_round()
            # Read once: the round hands it on (its sides need not look the user up again).
            info = self.crm.user(name)
        except AdapterError as err:
            # The CRM could not even be asked who the user is: fail this user, touch nothing.
            return self._failed_early(name, f"CRM unavailable: {err}")
        if info is None:
            # Linked once, gone from the CRM since: report it, sync (and delete) nothing.
            return self._failed_early(name, f"user {name!r} is no longer in the CRM")
        link, prefs = self.store.get_link_and_prefs(name)
        if link is None:
            # A linked user is always a registered one (the link's foreign key): only an
            # unlinked one may need registering.
            _register(self.store, info)
            return UserReport(name, UserStatus.NOT_LINKED, "no Google account linked")
        if link.status is LinkStatus.NEEDS_RECONNECT:
            return UserReport(name, UserStatus.NEEDS_RECONNECT, link.message or "reconnect Google")
        if isinstance(prefs, PrefsError):
            return self._failed_early(name, f"preferences cannot be used, save them again: {prefs}")
        if prefs.paused:
            return UserReport(name, UserStatus.PAUSED, "sync is paused")
        waiting = self.waits.waiting(name)
        if Api.CALENDAR in waiting and (Api.TASKS in waiting or not prefs.tasklist):
            # Nothing to do before the quota day ends or the budget is raised: not even a read.
            return UserReport(name, UserStatus.WAITING, describe(waiting))
        now = self.now()
        try:
            # The run is started with the lock, in one transaction.
            with self.store.user_lock(name, run_started_at=None if dry_run else now) as lock:
                return self._locked_round(
                    info, link, prefs, now, lock, dry_run, force, progress, waiting
                )
        except UserBusy as err:
            return UserReport(name, UserStatus.BUSY, str(err))

    def _google_events(
        self,
        info: CrmUserInfo,
        refresh_token: str,
        prefs: Prefs,
        calendar: str,
        now: datetime,
        budget: CallBudget,
    ) -> GoogleCalendarSide:
        return calendar_side(
            self.google,
            info.name,
            refresh_token,
            calendar_id=calendar,
            key_namespace=self.crm.namespace,
            time_min=now - timedelta(days=prefs.days_past),
            time_max=now + timedelta(days=prefs.days_future),
            budget=budget,
            backoff=self.backoff,
            default_tz=info.time_zone,
            single_events=not self.crm.holds_series,
            connections=self.connections,
            siblings=prefs.calendars,
        )

    def _access_roles(
        self, name: str, refresh_token: str, calendars: tuple[str, ...], budget: CallBudget
    ) -> dict[str, str]:
        """Return the user's access role per chosen calendar (one calendarList call).

        Only asked when calendars beyond the first are chosen: a single-calendar round keeps
        to one list call.
        """
        if len(calendars) < 2:
            return {}
        side = calendar_side(
            self.google,
            name,
            refresh_token,
            budget=budget,
            backoff=self.backoff,
            connections=self.connections,
        )
        return {c.id: c.access_role for c in side.list_calendars()}

    def _calendar_round(
        self,
        info: CrmUserInfo,
        refresh_token: str,
        prefs: Prefs,
        calendar: str,
        main: bool,
        roles: dict[str, str],
        now: datetime,
        dry_run: bool,
        force: bool,
        budget: CallBudget,
    ) -> RoundResult:
        """Sync one chosen calendar. The first one receives events born in the CRM; the others
        (e.g. calendars shared with the user) bring their events in and take back edits to
        them, or only bring them in where the user may not write."""
        # The CRM ids linked per calendar (two columns, not the rows the engine reads); the
        # main calendar needs only the other calendars' ones, usually none.
        by_scope = self.store.crm_ids_by_scope(
            info.name, Kind.EVENT, besides=calendar if main else None
        )
        others = {i for scope, ids in by_scope.items() if scope != calendar for i in ids}
        crm: Side[Event] = self.crm.events_side(info)
        if main:
            # CRM events linked to other calendars are theirs: never copied here as well.
            crm = ScopedSide(crm, hide=others)
        else:
            crm = ScopedSide(crm, only=by_scope.get(calendar, set()), hide=others)
            if roles.get(calendar, "owner") not in ("owner", "writer"):
                prefs = prefs.with_(direction=Direction.TO_CRM)
        return engine_sync(
            RoundContext(
                info.name,
                Kind.EVENT,
                crm,
                self._google_events(info, refresh_token, prefs, calendar, now, budget),
                self.store,
                prefs,
                now,
                info.time_zone,
                scope=calendar,
                crm_blind=self.crm.blind_fields,
                crm_degrade=self.crm.degrade_text,
                crm_stores=self.crm.store_item,
                caps=self.caps,
                dry_run=dry_run,
                force=force,
                full=self._daily_full(info.name, Kind.EVENT, calendar, now, dry_run),
            )
        )

    def _tasks_round(
        self,
        info: CrmUserInfo,
        refresh_token: str,
        prefs: Prefs,
        tasklist: str,
        now: datetime,
        dry_run: bool,
        force: bool,
        budget: CallBudget,
    ) -> RoundResult:
        """Sync the CRM's to-dos with the chosen task list."""
        google_tasks = tasks_side(
            self.google,
            info.name,
            refresh_token,
            tasklist_id=tasklist,
            budget=budget,
            backoff=self.backoff,
            connections=self.connections,
        )
        return engine_sync(
            RoundContext(
                info.name,
                Kind.TASK,
                self.crm.tasks_side(info),
                google_tasks,
                self.store,
                prefs,
                now,
                info.time_zone,
                scope=tasklist,
                crm_degrade=self.crm.degrade_text,
                crm_stores=self.crm.store_item,
                dry_run=dry_run,
                force=force,
                full=self._daily_full(info.name, Kind.TASK, tasklist, now, dry_run),
            )
        )

    def _daily_full(self, user: str, kind: Kind, scope: str, now: datetime, dry: bool) -> bool:
        """Return True once a day per calendar: a full listing then notices items that time
        brought into the sync window (an incremental read only shows edited ones)."""
        name = f"service:full:{kind.value}:{scope}"
        today = now.date().isoformat()
        if self.store.cursor(user, name) == today:
            return False
        if not dry:
            # Set before the round: a failing full round must not retry fully every time.
            self.store.set_cursor(user, name, today)
            self.store.commit()
        return True

    def _failed_early(self, name: str, message: str) -> UserReport:
        now = self.now()
        if self.store.get_user(name) is not None:
            self.store.add_log(LogEntry(name, now, "failed", message=message, level="error"))
            self.store.commit()
            run_id = self.store.start_run(name, now)
            self.store.finish_run(run_id, UserStatus.FAILED.value, {}, message, finished_at=now)
        return UserReport(name, UserStatus.FAILED, message)

    def _locked_round(
        self,
        info: CrmUserInfo,
        link: GoogleLink,
        prefs: Prefs,
        now: datetime,
        lock: LockInfo,
        dry_run: bool,
        force: bool,
        progress: Progress | None,
        waiting: Mapping[Api, Waiting],
    ) -> UserReport:
        """Run the round of `info` under `lock`, with what `_round` read before taking it
        (each read once per round); the run started with the lock (none: dry) ends with it."""
        name = info.name
        refresh_token = link.refresh_token
        # The primary calendar is one scope whether it is named `primary` or by its real id
        # (the account's email): pairs and cursors must not split between two names of it.
        calendars = ("primary" if c == link.google_email else c for c in prefs.calendars)
        prefs = prefs.with_(calendars=tuple(dict.fromkeys(calendars)))
        report = UserReport(name, UserStatus.OK)
        say = progress or (lambda _msg: None)
        tally = _CallTally(self.budget)
        try:
            roles: dict[str, str] = {}
            if Api.CALENDAR not in waiting:
                access = partial(self._access_roles, name, refresh_token, prefs.calendars, tally)
                roles = _until_spent(tally, access) or {}
            for n, calendar in enumerate(prefs.calendars):
                if Api.CALENDAR in waiting or Api.CALENDAR in tally.spent:
                    break  # the rest waits with the calendar that stopped
                say(f"{name}: events ({calendar})")
                tally.where = f"{Kind.EVENT.value}:{calendar}"
                one = partial(self._calendar_round, info, refresh_token, prefs, calendar, n == 0,
                              roles, now, dry_run, force, tally)  # fmt: skip
                _add(report, tally, one)
            if prefs.tasklist and Api.TASKS not in waiting:
                say(f"{name}: to-dos ({prefs.tasklist})")
                tally.where = f"{Kind.TASK.value}:{prefs.tasklist}"
                tasks = partial(self._tasks_round, info, refresh_token, prefs, prefs.tasklist,
                                now, dry_run, force, tally)  # fmt: skip
                _add(report, tally, tasks)
            errors = [e for r in report.rounds for e in r.errors]
            stopped = [r.stopped for r in report.rounds if r.stopped and r.stopped != "quota"]
            if errors or stopped:
                report.status = UserStatus.FAILED
                report.message = "; ".join([*errors[:3], *(f"stopped: {s}" for s in stopped)])
            elif any(r.stopped == "quota" for r in report.rounds) and not tally.spent:
                # Google's own quota, not ours: the round failed and is tried again.
                report.status, report.message = UserStatus.FAILED, "stopped: quota"
            waits = dict(waiting)
            if not dry_run:
                for api, (spent, where) in tally.spent.items():
                    waits[api] = self.waits.record(name, spent, where)
            if waits and report.status is UserStatus.OK:
                report.status, report.message = UserStatus.WAITING, describe(waits)
        except AuthError as err:
            # Never skipped silently: the link is marked and the user sees it on their page.
            self.store.set_link_status(name, LinkStatus.NEEDS_RECONNECT, str(err))
            report.status, report.message = UserStatus.NEEDS_RECONNECT, str(err)
        except MassDeleteBlocked as err:
            report.status, report.message = UserStatus.BLOCKED, str(err)
        except LeaseLost as err:
            # The lock was lost (e.g. its connection dropped) and another round took over:
            # this one stopped before its next write, to a side or to the state; that round
            # carries on.
            _LOGGER.warning("round of %s stopped: %s", name, err)
            report.status, report.message = UserStatus.BUSY, f"stopped: {err}"
        except CalsyncError as err:
            # A side gave up (after its retries), or the round could not settle its plan.
            report.status, report.message = UserStatus.FAILED, str(err)
        except Exception as err:
            # A bug or a broken store: this user's round fails, loudly, and no one else's.
            _LOGGER.exception("round of %s failed", name)
            self.store.rollback()
            report.status, report.message = UserStatus.FAILED, f"internal error: {err!r}"
        finally:
            report.api_calls = tally.calls
            if report.status is not UserStatus.OK:
                level = "warning" if report.status is UserStatus.WAITING else "error"
                self.store.add_log(
                    LogEntry(name, now, report.status.value, message=report.message, level=level)
                )
                self.store.commit()
            # The run's end and the lease's release: one transaction.
            self.store.end_round(
                lock,
                name,
                report.status.value,
                report.counts(),
                report.message or None,
                finished_at=self.now(),
            )
        return report
