"""Randomised: a mirror fed only by `changes()` always equals what vtiger holds, on both feeds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calsync.emulators.vtiger.testing import VtigerEmulator
from calsync.model import Event
from calsync.sides.base import ChangeSet
from calsync.sides.vtiger.side import VtigerEventsSide
from tests.sides.vtiger.factories import make_event

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "read", "tick"]),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=25,
)


def _apply(mirror: dict[str, str], cs: ChangeSet[Event]) -> None:
    if cs.full:
        mirror.clear()
    for remote in cs.items:
        mirror[remote.id] = remote.item.title
    for ws_id in cs.deleted:
        mirror.pop(ws_id, None)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=OPS, php8=st.booleans(), switch=st.integers(0, 25))
def test_mirror_converges(
    server: VtigerEmulator, ops: list[tuple[str, int]], php8: bool, switch: int
) -> None:
    """Edits land in the same seconds as reads (ties); PHP 8 may start part-way through."""
    vt = server
    vt.control("reset")
    vt.set_php8(False)  # starts on PHP 7 (`sync` works)
    user = vt.add_user("alice", time_zone="Europe/Rome")
    side = VtigerEventsSide(vt.client(user), user.id, user.time_zone)
    truth: dict[str, str] = {}
    mirror: dict[str, str] = {}
    cursor = None
    for step, (op, n) in enumerate(ops):
        if step == switch and php8:
            vt.set_php8(True)
            side = VtigerEventsSide(vt.client(user), user.id, user.time_zone)
        ids = sorted(truth)
        if op == "create" or (op in ("update", "delete") and not ids):
            made = side.create(make_event(title=f"t{step}"), "k")
            truth[made.id] = made.item.title
        elif op == "update":
            target = ids[n % len(ids)]
            truth[target] = side.update(target, make_event(title=f"u{step}"), None).item.title
        elif op == "delete":
            target = ids[n % len(ids)]
            side.delete(target, None)
            del truth[target]
        elif op == "tick":
            vt.advance(1 + n % 2)
        else:
            cs = side.changes(cursor)
            _apply(mirror, cs)
            cursor = cs.cursor
            assert mirror == truth
    cs = side.changes(cursor)
    _apply(mirror, cs)
    assert mirror == truth
