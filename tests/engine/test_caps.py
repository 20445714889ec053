"""Occurrence caps: one recurring series listed occurrence by occurrence cannot flood the CRM."""

from __future__ import annotations

from calsync.engine.caps import Caps
from calsync.engine.run import RoundResult
from calsync.model import Event
from tests.engine.helpers import World, make_event


def series(w: World, name: str, n: int, hour: int = 9) -> None:
    """Put `n` daily occurrences of one Google series, listed one by one (singleEvents)."""
    for day in range(n):
        w.google.put(make_event(name, hour=hour, day=day), series=name)


def crm_days(w: World, title: str) -> list[int]:
    starts = sorted(
        i.when.start for i in w.items(w.crm) if isinstance(i, Event) and i.title == title
    )
    return [(s - starts[0]).days for s in starts]


def test_a_series_gets_its_first_occurrences_only_in_every_round() -> None:
    w = World()
    series(w, "flood", 30)
    caps = Caps(per_series=10, per_round=1000)
    r = w.sync(caps=caps)
    assert r.crm.created == 10 and r.crm.skipped == 20 and r.ok
    assert crm_days(w, "flood") == list(range(10))
    line = [e for e in w.store.log if e.action == "skip" and e.key == "flood"]
    assert len(line) == 1 and "30 occurrences" in line[0].message
    assert "first 10" in line[0].message and line[0].level == "warning"
    # Neither the next increment nor a full listing adds any.
    assert w.sync(caps=caps).crm.created == 0
    w.google.expire_cursors()
    assert w.sync(caps=caps).crm.created == 0
    assert len(w.crm.live()) == 10 and len(w.pairs()) == 10


def test_the_round_cap_spreads_occurrences_over_rounds_without_duplicates() -> None:
    w = World()
    series(w, "a", 8, hour=9)
    series(w, "b", 8, hour=15)
    w.google.put(make_event("single", hour=20))
    caps = Caps(per_series=100, per_round=5)
    rounds: list[RoundResult] = []
    while not rounds or rounds[-1].stopped:
        rounds.append(w.sync(caps=caps))
        assert len(rounds) < 10
    assert [r.crm.created for r in rounds] == [6, 5, 5, 1]  # "single" is no occurrence
    assert [r.stopped for r in rounds] == ["occurrence cap"] * 3 + [None]
    assert any(e.action == "capped" and "11 more" in e.message for e in w.store.log)
    assert len(w.crm.live()) == len(w.pairs()) == 17
    assert w.sync(caps=caps).crm.writes == 0


def test_items_that_are_no_occurrence_are_not_capped() -> None:
    w = World()
    for n in range(12):
        w.google.put(make_event(f"event {n}", day=n))
    r = w.sync(caps=Caps(per_series=1, per_round=1))
    assert r.crm.created == 12 and r.ok


def test_the_settings_defaults_are_the_engines() -> None:
    from calsync.config import Settings

    settings = Settings()
    assert Caps() == Caps(settings.max_occurrences_per_series, settings.max_occurrences_per_round)
