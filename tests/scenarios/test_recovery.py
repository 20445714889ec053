"""Faults, expired sync tokens, crashes and wiped state: nothing lost, nothing duplicated."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calsync.engine.pairs import Kind, Pair
from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from calsync.state.records import LinkStatus
from tests.scenarios.world import World


def soon(days: int = 1) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")


def g_insert(world: World, summary: str, days: int = 2) -> dict[str, object]:
    w = soon(days)
    return world.g.insert(
        {
            "summary": summary,
            "start": {"dateTime": w.start.isoformat()},
            "end": {"dateTime": w.end.isoformat()},
        }
    )


def test_expired_sync_token_recovers_without_duplicates(world: World) -> None:
    """A 410 on the sync token leads to a full re-read matched by id: nothing new is made."""
    for i in range(3):
        world.crm.add_event("alice", Event(f"crm {i}", soon(i + 1)))
        g_insert(world, f"google {i}", i + 2)
    world.sync()
    world.sync()
    world.control("POST", "synctokens/expire", json={})
    g_insert(world, "after expiry")
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert any(r["status"] == 410 for r in world.requests())
    assert sorted(world.google_events()) == sorted(
        ["after expiry", *(f"crm {i}" for i in range(3)), *(f"google {i}" for i in range(3))]
    )
    assert len(world.crm.events("alice")) == 7
    assert [w for w in world.google_writes() if w["method"] == "POST"] == []


class Crash(BaseException):
    """The process died between an action and its state commit (no handler of calsync's may
    see a death, so it is no Exception: the service isolates every Exception per user)."""


def test_crash_after_google_insert_before_commit_converges(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The insert landed on Google but the state never saw it: the next round re-links it."""
    world.crm.add_event("alice", Event("survivor", soon()))
    real_put = world.store.put_pair

    def crash(pair: Pair) -> None:
        # Recording intent before the insert is allowed; dying once Google answered is the test.
        if pair.google_id:
            raise Crash("killed")
        real_put(pair)

    monkeypatch.setattr(world.store, "put_pair", crash)
    with pytest.raises(Crash):
        world.sync()
    assert set(world.google_events()) == {"survivor"}  # the write did land
    monkeypatch.setattr(world.store, "put_pair", real_put)
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    world.sync()
    assert len(world.g.events()) == 1
    assert len(world.crm.events("alice")) == 1
    assert len(world.pairs()) == 1


def test_reply_lost_after_insert_is_adopted_not_duplicated(world: World) -> None:
    """The insert was applied but its reply lost (503): the retry hits 409 and adopts it."""
    world.crm.add_event("alice", Event("once", soon()))
    world.fault(
        status=503,
        reason="backendError",
        count=1,
        path_prefix="/calendar/v3/calendars/primary/events",
        method="POST",
        mode="apply_then_fail",
    )
    rep = world.sync()
    world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert len(world.g.events()) == 1
    assert len(world.pairs()) == 1


@pytest.mark.parametrize(
    ("status", "reason"),
    [(503, "backendError"), (429, "rateLimitExceeded"), (403, "rateLimitExceeded")],
)
def test_transient_faults_are_retried(world: World, status: int, reason: str) -> None:
    """503s and rate-limit errors are retried with backoff and the round succeeds."""
    world.crm.add_event("alice", Event("retried", soon()))
    world.fault(status=status, reason=reason, count=2, path_prefix="/calendar/v3")
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert set(world.google_events()) == {"retried"}


def test_round_that_still_fails_reports_failure_and_loses_nothing(world: World) -> None:
    """Persistent 503s on inserts fail the round (non-zero exit); the next round delivers."""
    world.crm.add_event("alice", Event("late", soon()))
    world.fault(
        status=503,
        reason="backendError",
        count=100,
        path_prefix="/calendar/v3/calendars/primary/events",
        method="POST",
    )
    rep = world.sync()
    assert rep.status is UserStatus.FAILED
    assert not rep.status.success
    world.control("DELETE", "faults")
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert set(world.google_events()) == {"late"}


def test_wiped_mappings_relink_and_create_nothing(world: World) -> None:
    """A reconnect that forgets every pair re-links by the key stored on Google's copies."""
    for i in range(3):
        world.crm.add_event("alice", Event(f"crm {i}", soon(i + 1)))
    g_insert(world, "from google")
    world.sync()
    world.sync()
    before = len(world.pairs())
    world.store.wipe_pairs("alice")
    world.store.wipe_cursors("alice")
    world.store.commit()
    world.clear_log()
    world.sync()
    world.sync()
    assert [w for w in world.google_writes() if w["method"] == "POST"] == []
    assert len(world.g.events()) == 4
    assert len(world.crm.events("alice")) == 4
    assert len(world.pairs(Kind.EVENT)) == before


def test_revoked_token_marks_link_needs_reconnecting(world: World) -> None:
    """invalid_grant is reported and marks the link; it is never skipped silently."""
    world.crm.add_event("alice", Event("x", soon()))
    world.control("POST", "reset")  # every grant is gone, as after a revocation
    world.control("POST", "accounts", json={"email": "alice@example.com"})
    rep = world.sync()
    assert rep.status is UserStatus.NEEDS_RECONNECT
    link = world.store.get_link("alice")
    assert link is not None and link.status is LinkStatus.NEEDS_RECONNECT
    again = world.sync()
    assert again.status is UserStatus.NEEDS_RECONNECT and not again.status.success


def test_linked_user_gone_from_the_crm_is_reported_not_crashing(world: World) -> None:
    """A linked user missing from the CRM fails their round with a message; nothing moves."""
    world.crm.add_event("alice", Event("kept", soon()))
    world.sync()
    world.store.upsert_user("ghost")
    world.store.set_link("ghost", "ghost@example.com", world.g.refresh_token)
    reports = world.service.sync_all()
    by_user = {r.user: r for r in reports}
    assert by_user["ghost"].status is UserStatus.FAILED
    assert "no longer in the CRM" in by_user["ghost"].message
    assert by_user["alice"].status is UserStatus.OK
    assert set(world.google_events()) == {"kept"}
