"""A CRM series may start a recurring event on Google only while none of its occurrences is
linked (`calsync.engine.series.mark_fresh`)."""

from __future__ import annotations

from datetime import UTC, datetime

from calsync.engine.actions import Action, Create, SideName
from calsync.engine.pairs import Kind, Pair
from calsync.engine.series import mark_fresh
from calsync.model import Event, Recurrence, SeriesLink, When

START = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)


def occurrence(crm_id: str, side: SideName = SideName.GOOGLE) -> Create:
    when = When(START, START.replace(hour=9))
    template = Event("stand-up", when)
    link = SeriesLink(
        "18x1", Recurrence(("RRULE:FREQ=DAILY;COUNT=3",)), template, START, ("18x1", "18x2", "18x3")
    )
    row = Pair("alice", Kind.EVENT, f"c.{crm_id}", crm_id, None)
    return Create(f"c.{crm_id}", side=side, item=template.with_(series=link), row=row)


def fresh(actions: list[Action]) -> list[bool]:
    out = []
    for a in actions:
        assert isinstance(a, Create) and isinstance(a.item, Event) and a.item.series is not None
        out.append(a.item.series.fresh)
    return out


def test_a_series_with_no_linked_occurrence_is_fresh() -> None:
    pending = Pair("alice", Kind.EVENT, "c.18x1", "18x1", None)  # an intent row: not linked
    other = Pair("alice", Kind.EVENT, "c.18x9", "18x9", "g9")
    assert fresh(mark_fresh([occurrence("18x1"), occurrence("18x2")], [pending, other])) == [
        True,
        True,
    ]


def test_the_series_gets_its_own_link_key() -> None:
    (a,) = mark_fresh([occurrence("18x2")], [])
    assert isinstance(a, Create) and isinstance(a.item, Event) and a.item.series is not None
    assert a.item.series.key == "c.18x1"


def test_a_series_with_a_linked_occurrence_is_not() -> None:
    linked = Pair("alice", Kind.EVENT, "c.18x3", "18x3", "single3")
    assert fresh(mark_fresh([occurrence("18x1"), occurrence("18x2")], [linked])) == [False, False]


def test_creates_in_the_crm_are_left_alone() -> None:
    to_crm = occurrence("18x1", SideName.CRM)
    (same,) = mark_fresh([to_crm], [])
    assert same is to_crm
