"""Factories and a two-sided test world for the engine tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from calsync.engine.memstore import MemoryStore
from calsync.engine.pairs import Kind
from calsync.engine.run import Limits, RoundContext, RoundResult, sync_user
from calsync.model import Event, Item, Task, Visibility, When
from calsync.prefs import Prefs
from calsync.sides.memory import BatchMemorySide, MemorySide

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
USER = "alice"


def make_event(title: str = "Meeting", hour: int = 10, day: int = 0, **over: Any) -> Event:
    """Return a one-hour timed event `day` days from NOW at `hour`:00 UTC."""
    start = datetime(2026, 6, 15, hour, 0, tzinfo=UTC) + timedelta(days=day)
    when = over.pop("when", When(start, start + timedelta(hours=1), "UTC"))
    return Event(title=title, when=when, **over)


def make_all_day(title: str = "Holiday", day: int = 0, **over: Any) -> Event:
    first = date(2026, 6, 15) + timedelta(days=day)
    return Event(title=title, when=When.dates(first, first + timedelta(days=1)), **over)


def make_private(title: str = "Doctor CANARY-T", **over: Any) -> Event:
    return make_event(
        title,
        description="CANARY-D secret",
        location="CANARY-L clinic",
        visibility=Visibility.PRIVATE,
        **over,
    )


def make_task(title: str = "Call back", **over: Any) -> Task:
    return Task(title=title, **over)


@dataclass
class World:
    """A CRM and a Google memory side, a store, prefs and a clock, synced by the real engine."""

    kind: Kind = Kind.EVENT
    prefs: Prefs = field(default_factory=Prefs)
    now: datetime = NOW
    user_tz: str = "UTC"
    crm: MemorySide[Any] = field(init=False)
    google: MemorySide[Any] = field(init=False)
    store: MemoryStore = field(default_factory=MemoryStore)

    def __post_init__(self) -> None:
        self.crm = MemorySide("crm", clock=lambda: self.now, store_keys=True)
        self.google = BatchMemorySide("google", clock=lambda: self.now, key_ids=True)

    def sync(self, **kw: Any) -> RoundResult:
        kw.setdefault("user_tz", self.user_tz)
        if "max_attempts" in kw:
            kw["limits"] = Limits(max_attempts=kw.pop("max_attempts"))
        return sync_user(
            RoundContext(
                USER,
                self.kind,
                self.crm,
                self.google,
                self.store,
                kw.pop("prefs", self.prefs),
                kw.pop("now", self.now),
                **kw,
            )
        )

    def items(self, side: MemorySide[Any]) -> list[Item]:
        return [r.item for r in side.live().values()]

    def titles(self, side: MemorySide[Any]) -> list[str]:
        return sorted(i.title for i in self.items(side))

    def pairs(self) -> list[Any]:
        return self.store.pairs(USER, self.kind)

    def google_of(self, crm_id: str) -> Item | None:
        for p in self.pairs():
            if p.crm_id == crm_id and p.google_id:
                r = self.google.get(p.google_id)
                return r.item if r else None
        return None

    def crm_of(self, google_id: str) -> Item | None:
        for p in self.pairs():
            if p.google_id == google_id and p.crm_id:
                r = self.crm.get(p.crm_id)
                return r.item if r else None
        return None
