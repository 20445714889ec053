"""Creates on sides that cannot store our key (vtiger events and to-dos, Google Tasks) whose
outcome was lost, to a crash or to a lost reply, are adopted next round, never repeated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from calsync.engine.pairs import Kind, Pair
from calsync.model import Event, Task, When, utcnow
from calsync.service import UserStatus
from tests.scenarios.world import World

LIST = "@default"


class Crash(BaseException):
    """The process died (no handler of calsync's may see a death, so it is no Exception: the
    service isolates every Exception per user)."""


def soon(days: int = 1) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


def due(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


def g_task(world: World, title: str, days: int) -> None:
    r = world.g.http.post(
        f"{world.google_url}/tasks/v1/lists/{LIST}/tasks",
        json={"title": title, "due": f"{due(days).isoformat()}T00:00:00.000Z"},
        headers=world.g._h(),
    )
    assert r.status_code == 200, r.text


def g_event(world: World, title: str, days: int) -> None:
    w = soon(days)
    world.g.insert(
        {
            "summary": title,
            "start": {"dateTime": w.start.isoformat()},
            "end": {"dateTime": w.end.isoformat()},
        }
    )


def seed(world: World, kind: Kind, n: int = 2) -> None:
    """Put `n` items of `kind` on each side, none linked yet."""
    for i in range(n):
        if kind is Kind.TASK:
            world.crm.add_task(world.user, Task(f"crm todo {i}", due=due(i + 1)))
            g_task(world, f"google todo {i}", i + 2)
        else:
            world.crm.add_event(world.user, Event(f"crm event {i}", soon(i + 1)))
            g_event(world, f"google event {i}", i + 3)


def counts(world: World, kind: Kind) -> tuple[int, int, int]:
    """Return (CRM items, Google items, fully linked pairs) of `kind`."""
    if kind is Kind.TASK:
        crm, google = len(world.crm.tasks(world.user)), len(world.g.tasks(LIST))
    else:
        crm, google = len(world.crm.events(world.user)), len(world.g.events())
    linked = [p for p in world.pairs(kind) if p.crm_id and p.google_id and not p.dirty]
    return crm, google, len(linked)


@pytest.mark.parametrize("kind", [Kind.EVENT, Kind.TASK])
@pytest.mark.parametrize("nth", [1, 2, 3, 4])
def test_crash_after_each_create_is_adopted(
    world: World, kind: Kind, nth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The round dies after the n-th create landed (either side), before the state saw it."""
    if kind is Kind.TASK:
        world.prefs(tasklist=LIST)
    seed(world, kind)
    real_put = world.store.put_pair
    done = 0

    def put_pair(pair: Pair) -> None:
        nonlocal done
        # A row with both ids and no error is the one a create stores once its side answered.
        if pair.crm_id and pair.google_id and not pair.dirty:
            done += 1
            if done == nth:
                raise Crash("killed")
        real_put(pair)

    monkeypatch.setattr(world.store, "put_pair", put_pair)
    with pytest.raises(Crash):
        world.sync()
    monkeypatch.setattr(world.store, "put_pair", real_put)
    world.store.rollback()
    for _ in range(2):
        rep = world.sync()
        assert rep.status is UserStatus.OK, rep.message
    assert counts(world, kind) == (4, 4, 4)


def test_tasks_insert_applied_reply_lost_is_adopted(world: World) -> None:
    """Google Tasks applied the insert but the reply was lost (503): adopted next round."""
    world.prefs(tasklist=LIST)
    world.crm.add_task(world.user, Task("call back", due=due(2)))
    world.fault(
        status=503,
        reason="backendError",
        count=1,
        path_prefix=f"/tasks/v1/lists/{LIST}/tasks",
        method="POST",
        mode="apply_then_fail",
    )
    first = world.sync()
    assert first.status is UserStatus.FAILED  # the outcome was unknown this round
    for _ in range(2):
        rep = world.sync()
        assert rep.status is UserStatus.OK, rep.message
    assert counts(world, Kind.TASK) == (1, 1, 1)
