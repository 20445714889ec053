"""Benchmark: plan a round for 100,000 linked events with 1% changed, against a naive planner.

The engine decides by etag first and hashes only what changed; the naive baseline re-hashes
every item on both sides and matches pairs by scanning (what a planner without version
checks or id indexes does). Prints a table and the ratio.

    python bench/bench_plan.py [N]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.engine.actions import SideName, with_side
from calsync.engine.pairs import Kind, Pair
from calsync.engine.plan import PlanContext, plan
from calsync.model import Event, When, content_hash
from calsync.prefs import Prefs
from calsync.sides.base import ChangeSet, Remote

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def build(n: int) -> tuple[list[Pair], list[Remote[Any]], list[Remote[Any]]]:
    pairs, crm, google = [], [], []
    for i in range(n):
        start = NOW + timedelta(hours=i % 5000)
        e = Event(title=f"event {i}", when=When(start, start + timedelta(hours=1)))
        c = Remote(f"c{i}", f'"c{i}"', e)
        g = Remote(f"g{i}", f'"g{i}"', e, key=f"c.c{i}")
        row = Pair("u", Kind.EVENT, f"c.c{i}", None, None)
        row = with_side(with_side(row, SideName.CRM, c), SideName.GOOGLE, g)
        pairs.append(row)
        crm.append(c)
        google.append(g)
    return pairs, crm, google


def changed(crm: list[Remote[Any]], share: float) -> list[Remote[Any]]:
    step = int(1 / share)
    return [
        Remote(r.id, r.etag + "x", r.item.with_(title=r.item.title + " (edited)"))
        for r in crm[::step]
    ]


def engine(pairs: list[Pair], crm_changes: list[Remote[Any]], ctx: PlanContext) -> int:
    # Incremental round: only the changed CRM items are listed; Google lists nothing.
    p = plan(ChangeSet(items=crm_changes, cursor="x"), ChangeSet(cursor="y"), pairs, ctx)
    return len(p.actions)


def naive_hash(crm: list[Remote[Any]], google: list[Remote[Any]]) -> None:
    # Full listings every round, and every item hashed to find what changed.
    for r in crm + google:
        content_hash(r.item)


def naive_match(pairs: list[Pair], crm: list[Remote[Any]], google: list[Remote[Any]]) -> int:
    # Pairs found by scanning the listings (no id index): quadratic in the number of items.
    n = 0
    for row in pairs:
        c = next(r for r in crm if r.id == row.crm_id)
        g = next(r for r in google if r.id == row.google_id)
        n += (c.etag, g.etag) != (row.crm_etag, row.google_etag)
    return n


def timed(fn: Any, *args: Any) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    pairs, crm, google = build(n)
    edits = changed(crm, 0.01)
    crm_now = {r.id: r for r in crm} | {r.id: r for r in edits}
    ctx = PlanContext("u", Kind.EVENT, Prefs(), NOW)
    t_engine = timed(engine, pairs, edits, ctx)
    sample = min(n, 2_000)
    t_hash_all = timed(naive_hash, list(crm_now.values()), google)
    s_crm, s_google = list(crm_now.values())[:sample], google[:sample]
    t_match_sample = timed(naive_match, pairs[:sample], s_crm, s_google)
    # The matching is quadratic: scale the sample's time by (n / sample)^2.
    t_naive = t_hash_all + t_match_sample * (n / sample) ** 2
    print(f"{'planner':<42}{'items':>10}{'changed':>10}{'seconds':>12}")
    print(f"{'engine (etag first, hash changed only)':<42}{n:>10}{len(edits):>10}{t_engine:>12.3f}")
    print(f"{'naive (hash all, scan match; projected)':<42}{n:>10}{len(edits):>10}{t_naive:>12.3f}")
    print(f"{'naive hashing alone (no matching)':<42}{n:>10}{len(edits):>10}{t_hash_all:>12.3f}")
    print(
        f"ratio naive/engine: {t_naive / t_engine:,.0f}x; "
        f"hash-all/engine: {t_hash_all / t_engine:,.1f}x"
    )


if __name__ == "__main__":
    main()
