"""Caps on how many occurrences of recurring series one round may create.

A side that lists a series one occurrence at a time (Google with `singleEvents`, for a CRM
that keeps one record per occurrence, as vtiger does) turns one item into as many creates as
the rule has occurrences in the sync window: `FREQ=SECONDLY;COUNT=100000` would flood the
CRM. So each series gets at most `per_series` occurrences, its first ones by start (the same
ones in every round, so a capped series never grows round after round), and a round creates
at most `per_round` occurrences in all; the rest of those wait for the next rounds, which
re-read the same changes because the round keeps its cursors.

Public API: `Caps(per_series, per_round)`, `Capped`, `cap(actions, listings, caps)`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from calsync.engine.actions import Action, Create, SideName, Skip, side_id
from calsync.model import Event, Item
from calsync.sides.base import ChangeSet, Remote

DEFAULT_PER_SERIES = 1000
"""A daily series over the default window (30 days back, 365 ahead) is about 400."""
DEFAULT_PER_ROUND = 2000


@dataclass(frozen=True)
class Caps:
    """The limits; the configured values come from `calsync.config.Settings` (same defaults)."""

    per_series: int = DEFAULT_PER_SERIES
    """Occurrences of one series that are ever created on the other side."""
    per_round: int = DEFAULT_PER_ROUND
    """Occurrences (of any series) created in one round; the rest wait for the next round."""


@dataclass
class Capped:
    """What the caps held back in one round."""

    series: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """Series id -> (title, occurrences kept, occurrences listed) for each capped series."""
    deferred: int = 0
    """Occurrence creates left for the next rounds by the per-round cap."""


def _start(item: Item) -> datetime:
    if isinstance(item, Event):
        start: datetime | date = item.when.start
        if isinstance(start, datetime):
            return start
        return datetime(start.year, start.month, start.day, tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def _ranks(listings: Iterable[tuple[SideName, ChangeSet[Any]]]) -> dict[tuple[SideName, str], Any]:
    """Return (side, id) -> (series, rank by start within it, listed count, title)."""
    by_series: dict[tuple[SideName, str], list[Remote[Any]]] = {}
    for side, cs in listings:
        for r in cs.items:
            if r.series is not None:
                by_series.setdefault((side, r.series), []).append(r)
    out: dict[tuple[SideName, str], Any] = {}
    for (side, series), members in by_series.items():
        members.sort(key=lambda r: (_start(r.item), r.id))
        for n, r in enumerate(members):
            out[(side, r.id)] = (series, n, len(members), members[0].item.title)
    return out


def cap(
    actions: Sequence[Action],
    listings: Iterable[tuple[SideName, ChangeSet[Any]]],
    caps: Caps,
) -> tuple[list[Action], Capped]:
    """Return `actions` with the occurrence creates past the caps left out, and what was.

    A create past the per-series cap becomes a Skip (it is never created while the series
    stays that long); one past the per-round cap is dropped and counted in `deferred`.
    """
    ranks = _ranks(listings)
    capped = Capped()
    made = 0
    out: list[Action] = []
    for a in actions:
        if not isinstance(a, Create) or a.row is None or a.side is None:
            out.append(a)
            continue
        src = a.side.other
        found = ranks.get((src, side_id(a.row, src) or ""))
        if found is None:
            out.append(a)  # not an occurrence of a listed series
            continue
        series, rank, listed, title = found
        if rank >= caps.per_series:
            capped.series[series] = (title, caps.per_series, listed)
            out.append(Skip(a.key, side=a.side, observed=a.observed, reason="series cap"))
        elif made >= caps.per_round:
            capped.deferred += 1
        else:
            made += 1
            out.append(a)
    return out, capped
