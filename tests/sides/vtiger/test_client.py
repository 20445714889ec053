"""VtigerClient against the emulator: sessions, retries, paging, errors and the change feed."""

from __future__ import annotations

import random

import httpx
import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator, event_element
from calsync.errors import AuthError, ForbiddenError, InvalidItem, NotFound, TransientError
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.errors import SyncUnavailable
from tests.sides.vtiger.conftest import Sleeps


def _logins(vt: VtigerEmulator) -> int:
    return int(vt.stats()["calls"].get("login", 0))


def test_login_reads_the_profile(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    """vtiger 8.4's login reply has the profile at its top level: zone and admin flag are read
    from it without another request."""
    assert client.time_zone == "Europe/Rome"
    assert client.user_id == alice.id and not client.is_admin
    assert client.profile["vtigerVersion"] == "8.4.0"
    assert "retrieve" not in vt.stats()["calls"]
    assert "Events" in client.listtypes()


def test_wrong_key_or_unknown_user_is_auth_error(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    with pytest.raises(AuthError):
        VtigerClient(vt.url, "alice", "wrong").listtypes()
    with pytest.raises(AuthError):
        VtigerClient(vt.url, "nobody", "x").listtypes()


def test_session_is_renewed_after_idle_and_lifetime_expiry(
    vt: VtigerEmulator, client: VtigerClient
) -> None:
    """SESSION_LEFT_IDLE / SESSION_EXPIRED / INVALID_SESSIONID all lead to one quiet re-login."""
    client.listtypes()
    assert _logins(vt) == 1
    vt.advance(1801)
    client.listtypes()
    assert _logins(vt) == 2
    for _ in range(48):
        vt.advance(1790)
        client.listtypes()
    vt.advance(1000)
    client.listtypes()
    assert _logins(vt) == 3
    client.logout()
    client._session = "stale"  # a session the server forgot (e.g. restarted)
    client.listtypes()
    assert _logins(vt) == 4


def test_mandatory_fields_are_read_at_run_time(vt: VtigerEmulator, client: VtigerClient) -> None:
    assert "time_end" not in client.mandatory_fields("Calendar")
    vt.set_mandatory("Calendar", "time_end")
    client.describe("Calendar", refresh=True)
    assert "time_end" in client.mandatory_fields("Calendar")
    assert "Meeting" in client.picklist("Events", "activitytype")


def test_query_all_pages_past_the_100_row_clamp(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    for i in range(230):
        client.create("Events", event_element(alice.id, subject=f"E{i}"))
    rows = client.query_all("SELECT id, subject FROM Events")
    assert len({r["id"] for r in rows}) == 230
    assert vt.stats()["calls"]["query"] == 3


class _Ceiling(random.Random):
    """Draws the top of every jitter window, so the waits are the windows themselves."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_http_faults_are_retried_with_backoff(
    vt: VtigerEmulator, alice: EmulatedUser, sleeps: Sleeps
) -> None:
    client = VtigerClient(vt.url, alice.user_name, alice.access_key, sleep=sleeps, rng=_Ceiling())
    client.listtypes()
    vt.fail_next(3, status=503)
    client.listtypes()
    assert sleeps == [0.5, 1.0, 2.0]  # the windows double
    vt.fail_next(10, status=500)
    with pytest.raises(TransientError):
        client.listtypes()


def test_create_whose_reply_was_lost_is_not_sent_again(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    """A create is not idempotent: resending it after a lost reply would make a second record."""
    client.listtypes()
    vt.fail_next(1, status=503, operation="create", mode="apply_then_fail")
    with pytest.raises(TransientError):
        client.create("Events", event_element(alice.id, subject="once"))
    rows = client.query_all("SELECT id FROM Events WHERE subject = 'once'")
    assert len(rows) == 1


def test_errors_are_typed(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    with pytest.raises(InvalidItem, match="MANDATORY_FIELDS_MISSING"):
        client.create("Events", {"subject": "x"})
    rec = client.create("Events", event_element(alice.id, visibility="Private"))
    other = vt.client(bob)
    with pytest.raises(ForbiddenError):
        other.retrieve(rec["id"])  # exists, but private
    with pytest.raises(ForbiddenError):
        other.revise({"id": rec["id"], "subject": "mine now"})
    client.delete(rec["id"])
    client.delete(rec["id"])  # already gone: fine
    with pytest.raises(NotFound):
        client.retrieve(rec["id"])


def test_sync_loops_on_more_and_reports_deletions(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser
) -> None:
    vt.set_php8(False)  # vtiger on PHP 7, where `sync` works
    recs = [client.create("Events", event_element(alice.id, subject=f"S{i}")) for i in range(205)]
    vt.advance(3)
    client.delete(recs[0]["id"])
    res = client.sync("Events", 0)
    assert len(res.updated) == 204 and res.deleted == [recs[0]["id"]]
    assert client.sync_works is True
    vt.advance(3)
    client.revise({"id": recs[1]["id"], "subject": "changed"})
    later = client.sync("Events", res.last_modified)
    assert [r["subject"] for r in later.updated] == ["changed"]


def test_application_sync_routes_by_owner(
    vt: VtigerEmulator, admin: EmulatedUser, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    vt.set_php8(False)  # vtiger on PHP 7, where `sync` works
    boss = vt.client(admin)
    for user in (alice, bob, bob):
        boss.create("Events", event_element(user.id, subject=user.user_name))
    res = boss.sync("Events", 0, "application")
    assert len(res.updated) == 3
    assert [r["subject"] for r in res.for_owner(bob.id).updated] == ["bob", "bob"]
    assert [r["subject"] for r in res.for_owner(alice.id).updated] == ["alice"]


def test_sync_on_php8_raises_sync_unavailable_without_retrying(
    vt: VtigerEmulator, client: VtigerClient, sleeps: Sleeps
) -> None:
    with pytest.raises(SyncUnavailable):
        client.sync("Events", 0)
    assert client.sync_works is False and sleeps == []


def test_login_survives_a_challenge_replaced_by_another_client(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """vtiger keeps one challenge per user: a parallel getchallenge voids ours once."""
    raced: list[bool] = []

    def race(request: httpx.Request) -> None:
        if b"operation=login" in request.content and not raced:
            raced.append(True)
            httpx.get(vt.endpoint, params={"operation": "getchallenge", "username": "alice"})

    http = httpx.Client(event_hooks={"request": [race]})
    client = VtigerClient(vt.url, "alice", alice.access_key, http=http)
    assert client.listtypes() and raced
    assert vt.stats()["calls"]["login"] == 2


def test_users_are_listed_with_their_zones(
    vt: VtigerEmulator, admin: EmulatedUser, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    zones = {u["user_name"]: u["time_zone"] for u in vt.client(admin).users()}
    assert zones == {"admin": "UTC", "alice": "Europe/Rome", "bob": "America/New_York"}


def test_non_admin_users_list_falls_back_to_itself(
    vt: VtigerEmulator, client: VtigerClient, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    """vtiger 8.4 answers a non-admin's `SELECT * FROM Users;` with ACCESS_DENIED: the client
    then returns the user's own record instead of failing."""
    (me,) = client.users()
    assert (me["id"], me["user_name"], me["time_zone"]) == (alice.id, "alice", "Europe/Rome")
