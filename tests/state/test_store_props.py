"""Property tests: any Pair survives the store unchanged; staged writes match a dict model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync.engine.pairs import Kind, Pair, PairStatus
from calsync.state import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="

text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
maybe = st.none() | text
instants = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
pairs = st.builds(
    Pair,
    user=st.sampled_from(["alice", "bob"]),
    kind=st.sampled_from(list(Kind)),
    key=st.sampled_from(["k1", "k2", "k3", "ünï/κλειδί"]),
    crm_id=maybe,
    google_id=maybe,
    scope=text,
    crm_etag=maybe,
    google_etag=maybe,
    crm_hash=maybe,
    google_hash=maybe,
    synced_at=st.none() | instants,
    status=st.sampled_from(list(PairStatus)),
    message=maybe,
    observed=maybe,
    attempts=st.integers(0, 1000),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), pairs),
        st.tuples(st.just("delete"), pairs),
        st.tuples(st.just("commit"), st.none()),
        st.tuples(st.just("rollback"), st.none()),
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("props") / "state.db"
    s = Store.open(f"sqlite:///{path}", KEY)
    s.migrate()
    yield s
    s.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_store_behaves_like_a_dict(
    sqlite_store: Store, steps: list[tuple[str, Pair | None]]
) -> None:
    store = sqlite_store
    for user in ("alice", "bob"):
        store.wipe_pairs(user)
    committed: dict[tuple[str, Kind, str], Pair] = {}
    staged = dict(committed)
    for op, pair in steps:
        if op == "put" and pair is not None:
            store.put_pair(pair)
            staged[(pair.user, pair.kind, pair.key)] = pair
        elif op == "delete" and pair is not None:
            store.delete_pair(pair.user, pair.kind, pair.key)
            staged.pop((pair.user, pair.kind, pair.key), None)
        elif op == "commit":
            store.commit()
            committed = dict(staged)
        else:
            store.rollback()
            staged = dict(committed)
        for user in ("alice", "bob"):
            for kind in Kind:
                want = sorted(
                    (p for (u, k, _), p in staged.items() if u == user and k is kind),
                    key=lambda p: p.key,
                )
                assert store.pairs(user, kind) == want
    store.rollback()
