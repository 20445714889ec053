"""Stateful property test of the engine (modelled on vdirsyncer's SyncMachine).

Two memory sides, an in-memory store and the real engine. Users edit both sides, prefs change,
faults and crashes hit rounds; `settle` (clear faults, two clean syncs, then a third round with
every write armed to fail) checks convergence, quiescence, no duplicates, no resurrection, the
conflict winner and busy masking.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from calsync.engine import filters
from calsync.engine.actions import key_origin
from calsync.engine.memstore import Crash, MemoryStore
from calsync.engine.pairs import Kind
from calsync.engine.plan import MassDeleteBlocked, PlanContext, project
from calsync.engine.run import sync_user
from calsync.errors import (
    AdapterError,
    AuthError,
    ForbiddenError,
    InvalidItem,
    QuotaError,
    TransientError,
)
from calsync.model import Event, Visibility, When
from calsync.prefs import Direction, HoursWindow, Prefs, PrivateMode, Winner
from calsync.sides.memory import MemorySide

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
USER = "u"
CANARY = "CANARY"

titles = st.sampled_from(["alpha", "beta", "gamma", "delta"])
hours = st.sampled_from([1, 9, 13, 22])


@st.composite
def events(draw: Any, private: bool | None = None) -> Event:
    """A small space of events so that "same content" happens often."""
    title = draw(titles)
    start = NOW.replace(hour=draw(hours)) + timedelta(days=draw(st.sampled_from([-2, 0, 3])))
    if draw(st.booleans()) and draw(st.booleans()):
        when = When.dates(start.date(), start.date() + timedelta(days=1))
    else:
        when = When(start, start + timedelta(hours=1))
    is_private = draw(st.booleans()) if private is None else private
    if is_private:
        return Event(
            title=f"{title} {CANARY}-T",
            when=when,
            description=f"{CANARY}-D",
            location=f"{CANARY}-L",
            visibility=Visibility.PRIVATE,
        )
    return Event(title=title, when=when, description=draw(st.sampled_from(["", "notes"])))


public_events = events(private=False)
errors = st.sampled_from([TransientError, QuotaError, ForbiddenError, InvalidItem])


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.skew = timedelta(0)
        self.crm: MemorySide[Event] = MemorySide("crm", clock=lambda: self.now, store_keys=True)
        self.google: MemorySide[Event] = MemorySide(
            "google", clock=lambda: self.now + self.skew, key_ids=True
        )
        self.store = MemoryStore()
        self.prefs = Prefs()
        self.edited: set[str] = set()
        """Ids edited by a user since the last settle."""
        self.deleted: dict[str, tuple[str, str]] = {}
        """key -> (side deleted by the user, id of the other copy) while the other is unedited."""
        self.expect: dict[str, tuple[str, Event]] = {}
        """CRM id -> (winner side, its content) after an edit on both sides."""

    # -- helpers ---------------------------------------------------------------------------

    def ctx(self) -> PlanContext:
        return PlanContext(USER, Kind.EVENT, self.prefs, self.now, "UTC")

    def pairs(self) -> list[Any]:
        return self.store.pairs(USER, Kind.EVENT)

    def linked(self) -> list[Any]:
        return [
            p
            for p in self.pairs()
            if p.crm_id
            and p.google_id
            and self.crm.live().get(p.crm_id)
            and self.google.live().get(p.google_id)
        ]

    def run(self, force: bool = False) -> Any:
        d = self.prefs.direction
        self.crm.read_only = d is Direction.TO_GOOGLE
        self.google.read_only = d is Direction.TO_CRM
        try:
            return sync_user(
                USER,
                self.crm,
                self.google,
                self.store,
                self.prefs,
                Kind.EVENT,
                self.now,
                "UTC",
                force=force,
                max_attempts=1000,
            )
        finally:
            self.crm.read_only = self.google.read_only = False

    def _touched(self, *ids: str) -> None:
        self.edited.update(ids)
        for key, (_, other) in list(self.deleted.items()):
            if other in ids:
                del self.deleted[key]
        for cid, _ in list(self.expect.items()):
            p = next((p for p in self.pairs() if p.crm_id == cid), None)
            if cid in ids or (p is not None and p.google_id in ids):
                del self.expect[cid]

    # -- user edits --------------------------------------------------------------------------

    @initialize(items=st.lists(events(), max_size=4))
    def seed(self, items: list[Event]) -> None:
        for i, e in enumerate(items):
            (self.crm if i % 2 else self.google).put(e)

    @rule(e=events())
    def crm_create(self, e: Event) -> None:
        self.crm.put(e)

    @rule(e=events(private=False))
    def google_create(self, e: Event) -> None:
        self.google.put(e)

    @rule(data=st.data(), e=events())
    def crm_edit(self, data: Any, e: Event) -> None:
        ids = sorted(self.crm.live())
        if ids:
            id_ = data.draw(st.sampled_from(ids))
            self.crm.edit(id_, e)
            self._touched(id_)

    @rule(data=st.data(), e=events(private=False))
    def google_edit(self, data: Any, e: Event) -> None:
        ids = sorted(self.google.live())
        if ids:
            id_ = data.draw(st.sampled_from(ids))
            self.google.edit(id_, e)
            self._touched(id_)

    @rule(data=st.data(), side=st.sampled_from(["crm", "google"]))
    def user_delete(self, data: Any, side: str) -> None:
        s = self.crm if side == "crm" else self.google
        ids = sorted(s.live())
        if not ids:
            return
        id_ = data.draw(st.sampled_from(ids))
        s.remove(id_)
        self._touched(id_)
        for p in self.pairs():
            if (p.crm_id if side == "crm" else p.google_id) != id_:
                continue
            other_id = p.google_id if side == "crm" else p.crm_id
            other = (self.google if side == "crm" else self.crm).live().get(other_id or "")
            other_etag = p.google_etag if side == "crm" else p.crm_etag
            # Only a deletion facing an in-sync copy must travel (else edit beats delete).
            if (
                other is not None
                and other.etag == other_etag
                and other_id not in self.edited
                and self.prefs.direction is Direction.BOTH
            ):
                self.deleted[p.key] = (side, other.id)

    @rule(data=st.data())
    def google_touch(self, data: Any) -> None:
        ids = sorted(self.google.live())
        if ids:
            self.google.touch(data.draw(st.sampled_from(ids)))

    @rule(data=st.data(), a=public_events, b=public_events, same=st.booleans())
    def edit_both(self, data: Any, a: Event, b: Event, same: bool) -> None:
        pairs = self.linked()
        if not pairs:
            return
        p = data.draw(st.sampled_from(pairs))
        b = a if same else b
        self._touched(p.crm_id, p.google_id)
        old_c, old_g = self.crm.live()[p.crm_id].item, self.google.live()[p.google_id].item
        # An "edit" to the content already held is no change (metadata churn), not a conflict.
        real = not filters.same(a, old_c) and not filters.same(b, old_g)
        self.crm.edit(p.crm_id, a)
        self.google.edit(p.google_id, b)
        c, g = self.crm.live().get(p.crm_id), self.google.live().get(p.google_id)
        assert c is not None and g is not None
        if self.prefs.direction is Direction.BOTH and real and not filters.same(a, b):
            w = self.prefs.winner
            google_wins = w is Winner.GOOGLE or (
                w is Winner.LATEST and g.item.updated > c.item.updated  # type: ignore[operator]
            )
            self.expect[p.crm_id] = ("google", b) if google_wins else ("crm", a)

    @rule(data=st.data(), e=public_events)
    def google_edit_between_plan_and_apply(self, data: Any, e: Event) -> None:
        ids = sorted(self.google.live())
        if not ids:
            return
        id_ = data.draw(st.sampled_from(ids))
        self._touched(id_)

        def edit() -> None:
            if self.google.live().get(id_) is not None:
                self.google.edit(id_, e)

        self.google.before_write.append(edit)
        self.crm.before_write.append(lambda: None)
        self._sync()
        self.google.before_write.clear()
        self.crm.before_write.clear()

    # -- prefs, clocks, faults, state --------------------------------------------------------

    @rule(
        direction=st.sampled_from(list(Direction)),
        winner=st.sampled_from(list(Winner)),
        private=st.sampled_from(list(PrivateMode)),
        window=st.sampled_from([HoursWindow(), HoursWindow(time(8), time(20))]),
        edit_beats_delete=st.booleans(),
    )
    def set_prefs(
        self,
        direction: Direction,
        winner: Winner,
        private: PrivateMode,
        window: HoursWindow,
        edit_beats_delete: bool,
    ) -> None:
        self.prefs = self.prefs.with_(
            direction=direction,
            winner=winner,
            private=private,
            hours=window,
            edit_beats_delete=edit_beats_delete,
        )
        # What users meant under the old policy is no longer predictable.
        self.expect.clear()
        if direction is not Direction.BOTH:
            self.deleted.clear()

    @rule(days=st.sampled_from([1, 20]))
    def advance_clock(self, days: int) -> None:
        # Items drift out of the 30-day past window: never a deletion (invariant 13).
        self.now += timedelta(days=days)
        self.expect.clear()

    @rule(minutes=st.sampled_from([-10, 0, 10]))
    def skew_google_clock(self, minutes: int) -> None:
        self.skew = timedelta(minutes=minutes)

    @rule(
        side=st.sampled_from(["crm", "google"]),
        n=st.integers(1, 3),
        error=errors,
        op=st.sampled_from([None, "create", "update", "delete", "get", "changes"]),
        applied=st.booleans(),
    )
    def fault(self, side: str, n: int, error: type[AdapterError], op: str | None, applied: bool):
        (self.crm if side == "crm" else self.google).fail_next(n, error, op, applied)

    @rule(side=st.sampled_from(["crm", "google"]))
    def list_empty(self, side: str) -> None:
        s = self.crm if side == "crm" else self.google
        s.list_empty_next()
        s.expire_cursors()  # an empty *full* listing is the dangerous one

    @rule(side=st.sampled_from(["crm", "google"]))
    def expire_token(self, side: str) -> None:
        (self.crm if side == "crm" else self.google).expire_cursors()

    @rule(k=st.integers(1, 6))
    def crash(self, k: int) -> None:
        self.store.crash_after(k)
        try:
            self._sync()
        finally:
            self.store._crash_in = None

    @rule()
    def wipe_state(self) -> None:
        self.store.wipe()
        # Without state a deletion cannot be told from a never-synced item: the re-link
        # keeps both copies of a pair one side deleted (and never creates anything new).
        self.expect.clear()
        self.deleted.clear()

    @rule()
    def sync(self) -> None:
        self._sync()

    def _sync(self, force: bool = False) -> None:
        before = (self.crm.writes, self.google.writes, self.store.snapshot())
        try:
            self.run(force)
        except MassDeleteBlocked:
            # The guard writes nothing on either side and keeps the state.
            assert (self.crm.writes, self.google.writes, self.store.snapshot()) == before
        except (Crash, TransientError, ForbiddenError, InvalidItem, AuthError):
            pass

    # -- the checks ----------------------------------------------------------------------------

    @rule()
    def settle(self) -> None:
        for s in (self.crm, self.google):
            s.clear_faults()
            s.before_write.clear()
        self.store._crash_in = None
        for _ in range(2):
            self.run(force=True)
        # Quiescence: a third round writes nothing and changes no row.
        rows = self.store.snapshot()
        self.crm.read_only = self.google.read_only = True
        try:
            result = sync_user(
                USER,
                self.crm,
                self.google,
                self.store,
                self.prefs,
                Kind.EVENT,
                self.now,
                "UTC",
                max_attempts=1000,
            )
        finally:
            self.crm.read_only = self.google.read_only = False
        assert result.crm.writes == result.google.writes == 0
        assert self.store.snapshot() == rows, "a quiet round changed state rows"
        self.check_converged()
        self.edited.clear()
        self.deleted.clear()
        self.expect.clear()

    def check_converged(self) -> None:
        ctx = self.ctx()
        pairs = self.pairs()
        crm_live, google_live = self.crm.live(), self.google.live()
        # No row points at nothing, and no copy is linked twice.
        assert len({p.crm_id for p in pairs}) == len(pairs)
        assert len({p.google_id for p in pairs}) == len(pairs)
        for p in pairs:
            assert p.error is None, p
            assert p.crm_id in crm_live and p.google_id in google_live, p
        # No duplicates: at most one live Google copy per CRM item.
        origins = [key_origin(r.key) for r in google_live.values() if r.key]
        crm_origins = [o[1] for o in origins if o and o[0].value == "crm"]
        assert len(crm_origins) == len(set(crm_origins)), crm_origins
        linked_crm = {p.crm_id: p for p in pairs}
        linked_google = {p.google_id: p for p in pairs}
        d = self.prefs.direction
        # Convergence: every in-scope item that may travel is linked, and pairs agree.
        for cid, c in crm_live.items():
            if d.writes_google and c.key is None and project(ctx, _CRM, c.item, None):
                assert cid in linked_crm, f"CRM item {cid} never reached Google"
        for gid, g in google_live.items():
            if d.writes_crm and g.key is None and project(ctx, _GOOGLE, g.item, None):
                assert gid in linked_google, f"Google item {gid} never reached the CRM"
        for p in pairs:
            c, g = crm_live[p.crm_id].item, google_live[p.google_id].item
            to_g, to_c = project(ctx, _CRM, c, g), project(ctx, _GOOGLE, g, c)
            if to_g is not None and to_c is not None:
                assert filters.same(to_g, g) or filters.same(to_c, c), (p.key, c, g)
            masked = self.prefs.private is PrivateMode.BUSY and c.visibility is (Visibility.PRIVATE)
            if masked and to_g is not None and d.writes_google:
                assert filters.same(to_g, g), "busy block not masked"
                assert CANARY not in repr(g)
        # No resurrection: a deletion whose other copy was not edited stays a deletion.
        for key, (side, other) in self.deleted.items():
            if side == "crm":
                assert other not in google_live, f"deleted in CRM, {other} still on Google"
                assert all(r.key != key for r in crm_live.values())
            else:
                assert other not in crm_live, f"deleted on Google, {other} still in the CRM"
        # The conflict winner's edit is what both sides hold.
        for cid, (winner, content) in self.expect.items():
            if cid in crm_live and project(ctx, _CRM, content, None) is not None:
                assert filters.same(crm_live[cid].item, content), (winner, cid)

    def teardown(self) -> None:
        self.settle()


from calsync.engine.actions import SideName  # noqa: E402

_CRM, _GOOGLE = SideName.CRM, SideName.GOOGLE

TestSyncMachine = SyncMachine.TestCase
TestSyncMachine.settings = settings(stateful_step_count=40)
