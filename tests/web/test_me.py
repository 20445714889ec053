"""The user's page: own data only, preferences validation, sync now, pause, reset, log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calsync.engine.pairs import Kind, Pair
from calsync.engine.store import Conflict, LogEntry
from calsync.prefs import Prefs
from calsync.state import tables as t
from tests.web.conftest import SignedIn, WebEnv, snapshot

GOOD_PREFS = {
    "direction": "to-google",
    "winner": "crm",
    "edit_beats_delete": "on",
    "days_past": "7",
    "days_future": "90",
    "hours": "08:00-19:00",
    "private": "busy",
    "target_calendar": "team@example.com",
    "calendars": "a@example.com",
    "tasklist": "",
}


def _link(web: WebEnv, user: str, email: str, status: str = "ok") -> None:
    web.store.upsert_user(user)
    web.store.set_link(
        user, email, f"rt-{user}", ["https://www.googleapis.com/auth/calendar.events"]
    )
    if status != "ok":
        web.store.set_link_status(user, status)


def _status(web: WebEnv, user: str) -> str | None:
    link = web.store.get_link(user)
    return None if link is None else str(link.status)


def test_prefs_are_saved(web: WebEnv) -> None:
    """Every preference on the form reaches the store."""
    _link(web, "alice", "a@example.com")
    me = web.signed_in("alice")
    r = me.post("/me/prefs", GOOD_PREFS)
    assert r.status_code == 303
    p = web.store.get_prefs("alice")
    assert p.direction == "to-google"
    assert p.winner == "crm"
    assert p.edit_beats_delete is True
    assert (p.days_past, p.days_future) == (7, 90)
    assert str(p.hours) == "08:00-19:00"
    assert p.private == "busy"
    assert p.calendars == ("team@example.com", "a@example.com")
    assert p.tasklist is None


def test_unticked_checkbox_turns_edit_beats_delete_off(web: WebEnv) -> None:
    """An absent checkbox means off."""
    me = web.signed_in("alice")
    data = {k: v for k, v in GOOD_PREFS.items() if k != "edit_beats_delete"}
    me.post("/me/prefs", data)
    assert web.store.get_prefs("alice").edit_beats_delete is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hours", "25:00-09:00", "25:00 is not a time of day"),
        ("hours", "morning", "expected HH:MM-HH:MM"),
        ("days_past", "-1", "expected 0 to 3650 days"),
        ("days_future", "0", "expected 1 to 3650 days"),
        ("days_past", "ten", "expected a whole number of days"),
        ("days_past", "99999999999999999999", "expected a whole number of days"),
        ("days_future", "3651", "expected 1 to 3650 days"),
        ("direction", "sideways", "expected one of both|to-google|to-crm"),
        ("private", "secret", "bad private mode"),
    ],
)
def test_bad_prefs_are_refused_next_to_the_field(
    web: WebEnv, field: str, value: str, message: str
) -> None:
    """Bad input: 400, the message by the field, what was typed kept, nothing stored."""
    me = web.signed_in("alice")
    web.store.set_prefs("alice", Prefs(days_past=12))
    r = me.post("/me/prefs", {**GOOD_PREFS, field: value})
    assert r.status_code == 400
    assert f'id="{field}-error"' in r.text
    assert message in r.text.replace("&#39;", "'")
    if field in ("hours", "days_past", "days_future"):
        assert f'value="{value}"' in r.text
    # The other typed values are kept too.
    assert 'value="90"' in r.text or field == "days_future"
    assert web.store.get_prefs("alice") == Prefs(days_past=12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_calendar": "c" * 70_000}, "at most 200 characters"),
        ({"tasklist": "t" * 1_000_000}, "at most 200 characters"),
        ({"calendars": [f"c{i}@example.com" for i in range(500)]}, "at most 20 can be synced"),
        ({"target_calendar": "team calendar"}, "printable ASCII without spaces"),
    ],
    ids=["target-70k", "tasklist-1mb", "calendars-500", "target-space"],
)
def test_oversized_prefs_are_refused_and_nothing_is_stored(
    web: WebEnv, changes: dict[str, object], message: str
) -> None:
    """A 70,000-character calendar id, a 1 MB task list id or 500 calendars: 400 with the
    limit named, and the stored preferences stay as they were."""
    me = web.signed_in("alice")
    web.store.set_prefs("alice", Prefs(days_past=12))
    r = me.post("/me/prefs", {**GOOD_PREFS, **changes})
    assert r.status_code == 400
    assert message in r.text
    assert web.store.get_prefs("alice") == Prefs(days_past=12)


def test_unusable_saved_prefs_are_shown_and_can_be_saved_over(web: WebEnv) -> None:
    """Prefs saved before the limits existed: the page opens (no 500), says so, and a good
    form replaces them."""
    _link(web, "alice", "a@example.com")
    with web.store.engine.begin() as conn:
        conn.execute(
            t.preferences.insert().values(
                user_name="alice", data={"calendars": ["c" * 70_000]}, updated_at=datetime.now(UTC)
            )
        )
    me = web.signed_in("alice")
    page = me.get("/me")
    assert page.status_code == 200
    assert "cannot be used" in page.text and "save them again" in page.text
    assert me.post("/me/prefs", GOOD_PREFS).status_code == 303
    assert web.store.get_prefs("alice").calendars == ("team@example.com", "a@example.com")


def test_a_user_name_in_the_form_changes_nothing_of_that_user(web: WebEnv) -> None:
    """Alice posting `user=bob` (or `username=bob`) changes only her own preferences."""
    bob_prefs = Prefs(days_past=3)
    _link(web, "bob", "bob@example.com")
    web.store.set_prefs("bob", bob_prefs)
    _pair_and_cursor(web, "bob")
    alice = web.signed_in("alice")
    r = alice.post("/me/prefs", {**GOOD_PREFS, "user": "bob", "username": "bob"})
    assert r.status_code == 303
    assert web.store.get_prefs("bob") == bob_prefs
    assert web.store.get_prefs("alice").days_past == 7
    for path in ("/me/pause", "/me/disconnect", "/me/reset", "/me/sync"):
        alice.post(path, {"user": "bob", "username": "bob"})
    assert _status(web, "bob") == "ok"
    assert web.store.get_prefs("bob") == bob_prefs
    assert web.store.pairs("bob", Kind.EVENT) and web.store.cursor("bob", "google:primary")
    assert "bob" not in web.service.calls
    assert web.google.revoked == []


def test_another_users_data_is_invisible(web: WebEnv) -> None:
    """Alice's page shows her link and log, never Bob's."""
    _link(web, "bob", "bob-secret@example.com")
    now = datetime.now(UTC)
    web.store.add_log(LogEntry("bob", now, "create", "google", title="Bob's private meeting"))
    web.store.commit()
    alice = web.signed_in("alice")
    for path in ("/me", "/me/status", "/me?user=bob", "/me/status?user=bob"):
        text = alice.get(path).text
        assert "bob-secret@example.com" not in text
        assert "Bob&#39;s private meeting" not in text and "Bob's private meeting" not in text


def test_skipped_items_are_listed_on_the_page(web: WebEnv) -> None:
    """Items a round could not read are listed apart on the user's page, with the reason."""
    _link(web, "alice", "a@example.com")
    now = datetime.now(UTC)
    reason = "skipped: unusable date '9999-12-31'"
    web.store.add_log(LogEntry("alice", now, "skip", "crm", key="18x7", message=reason))
    web.store.commit()
    text = web.signed_in("alice").get("/me").text
    assert 'id="skipped"' in text
    section = text.split('id="skipped"', 1)[1].split("</section>", 1)[0]
    assert "CRM item 18x7" in section and "unusable date &#39;9999-12-31&#39;" in section


@pytest.mark.parametrize(
    "path", ["/me/prefs", "/me/sync", "/me/pause", "/me/resume", "/me/reset", "/me/disconnect"]
)
def test_user_posts_without_csrf_are_refused(web: WebEnv, path: str) -> None:
    """Every user action refuses a POST without the session's token, changing nothing."""
    _link(web, "alice", "a@example.com")
    _pair_and_cursor(web, "alice")
    me = web.signed_in("alice")
    before = snapshot(web.store)
    r = me.http.post(path, data=GOOD_PREFS)
    assert r.status_code == 403
    r = me.http.post(path, data={**GOOD_PREFS, "csrf_token": "guess"})
    assert r.status_code == 403
    assert snapshot(web.store) == before
    assert web.store.pairs("alice", Kind.EVENT)
    assert web.service.calls == [] and web.google.revoked == []


def test_user_actions_need_a_session(web: WebEnv) -> None:
    """Anonymous POSTs are refused before anything runs."""
    client = web.client()
    for path in ("/me/prefs", "/me/sync", "/me/disconnect"):
        assert client.post(path, data=GOOD_PREFS).status_code in (401, 403)
    assert web.service.calls == []


def test_sync_now_runs_in_the_background_and_reports(web: WebEnv) -> None:
    """Sync now starts a round; the status fragment shows it running, then its result."""
    _link(web, "alice", "a@example.com")
    me = web.signed_in("alice")
    web.service.gate.clear()
    assert me.post("/me/sync").status_code == 303
    status = me.get("/me/status").text
    assert "Sync running" in status and 'data-poll="/me/status"' in status
    assert _eventually(me, "events (primary)")
    assert "A sync is already running" in _flash_after(me, "/me/sync")
    web.service.gate.set()
    _wait_done(me)
    page = me.get("/me").text
    assert "succeeded" in page
    assert "Demo call" in page
    assert web.service.calls == ["alice"]


def test_failed_sync_is_shown_not_swallowed(web: WebEnv) -> None:
    """A round that raises shows "failed" with the reason."""
    _link(web, "alice", "a@example.com")
    web.service.fail = RuntimeError("Google said invalid_grant")
    me = web.signed_in("alice")
    me.post("/me/sync")
    _wait_done(me)
    page = me.get("/me").text
    assert "failed" in page and "Google said invalid_grant" in page


def test_needs_reconnect_is_shown_and_blocks_sync(web: WebEnv) -> None:
    """A link Google refused (invalid_grant) says so and offers reconnecting."""
    _link(web, "alice", "a@example.com", "needs_reconnect")
    me = web.signed_in("alice")
    page = me.get("/me").text
    assert "needs reconnecting" in page
    assert "Reconnect Google account" in page
    me.post("/me/sync")
    assert web.service.calls == []


def test_invalid_grant_while_listing_calendars_flags_the_link(web: WebEnv) -> None:
    """If Google refuses the refresh token while the page loads, the link is flagged."""
    _link(web, "alice", "a@example.com")
    web.google.refuse_refresh = True
    me = web.signed_in("alice")
    assert "please reconnect" in me.get("/me").text
    assert _status(web, "alice") == "needs_reconnect"


def test_sync_needs_a_link(web: WebEnv) -> None:
    """Without a Google account, Sync now only says to connect first."""
    me = web.signed_in("alice")
    me.post("/me/sync")
    assert web.service.calls == []
    assert "Connect your Google account first" in me.get("/me").text


def test_pause_and_resume(web: WebEnv) -> None:
    """Pause is the user's preference only (the link stays ok); sync waits meanwhile."""
    _link(web, "alice", "a@example.com")
    me = web.signed_in("alice")
    me.post("/me/pause")
    assert web.store.get_prefs("alice").paused is True
    assert _status(web, "alice") == "ok"
    me.post("/me/sync")
    assert web.service.calls == []
    page = me.get("/me").text
    assert "Resume sync" in page and "Sync is paused: resume it first." in page
    me.post("/me/resume")
    assert web.store.get_prefs("alice").paused is False
    assert _status(web, "alice") == "ok"


def test_reset_forgets_pairs_and_cursors(web: WebEnv) -> None:
    """Reset asks the store to wipe the user's pairs and cursors, and keeps the link."""
    _link(web, "alice", "a@example.com")
    _pair_and_cursor(web, "alice")
    me = web.signed_in("alice")
    me.post("/me/reset")
    assert web.store.pairs("alice", Kind.EVENT) == []
    assert web.store.cursor("alice", "google:primary") is None
    assert _status(web, "alice") == "ok"


def test_reset_is_refused_while_a_round_holds_the_lock(web: WebEnv) -> None:
    """A running round keeps its state: reset says so and wipes nothing."""
    _link(web, "alice", "a@example.com")
    _pair_and_cursor(web, "alice")
    me = web.signed_in("alice")
    with web.store.user_lock("alice"):
        assert "A sync of your calendar is running" in _flash_after(me, "/me/reset")
    assert [p.key for p in web.store.pairs("alice", Kind.EVENT)] == ["k1"]
    assert web.store.cursor("alice", "google:primary") == "token-1"


def test_disconnect_revokes_and_forgets(web: WebEnv) -> None:
    """Disconnect revokes the refresh token at Google and deletes the link."""
    _link(web, "alice", "a@example.com")
    me = web.signed_in("alice")
    me.post("/me/disconnect")
    assert web.google.revoked == ["rt-alice"]
    assert web.store.get_link("alice") is None


def test_target_calendar_is_shown(web: WebEnv) -> None:
    """The calendar that receives CRM events is named on the page."""
    _link(web, "alice", "a@example.com")
    web.store.set_prefs("alice", Prefs(calendars=("team@example.com",)))
    text = web.signed_in("alice").get("/me").text
    assert 'New CRM events go to <strong id="target-calendar">Team</strong>' in text
    # Read-only calendars are not offered as a target.
    select = text.split('id="target-select"')[1].split("</select>")[0]
    assert "Holidays" not in select


def test_conflicts_show_both_versions_sanitised(web: WebEnv) -> None:
    """Both versions appear side by side; HTML descriptions lose scripts and handlers."""
    now = datetime.now(UTC)
    web.store.add_conflict(
        Conflict(
            user="alice",
            kind=Kind.EVENT,
            key="k1",
            winner="google",
            crm_version={
                "title": "Budget review",
                "location": "Room 1",
                "description": (
                    '<b>agenda</b><script>alert(1)</script><img src=x onerror="alert(2)">'
                ),
            },
            google_version={"title": "Budget review (moved)", "location": "Room 2"},
            at=now,
        )
    )
    web.store.commit()
    text = web.signed_in("alice").get("/me").text
    assert "Room 1" in text and "Room 2" in text
    assert "<b>agenda</b>" in text
    assert "<script>alert(1)" not in text
    assert "onerror" not in text
    assert "<img" not in text


def _flash_after(me: SignedIn, path: str) -> str:
    me.post(path)
    return me.get("/me").text


def _eventually(me: SignedIn, text: str) -> bool:
    import time

    for _ in range(500):
        if text in me.get("/me/status").text:
            return True
        time.sleep(0.02)
    return False


def _wait_done(me: SignedIn) -> None:
    import time

    for _ in range(500):
        if "data-poll" not in me.get("/me/status").text:
            return
        time.sleep(0.02)
    raise AssertionError("sync did not finish")


def _pair_and_cursor(web: WebEnv, user: str) -> None:
    web.store.put_pair(Pair(user, Kind.EVENT, "k1", "crm-1", "g-1"))
    web.store.set_cursor(user, "google:primary", "token-1")
    web.store.commit()


def test_missing_google_client_does_not_flag_the_link(web: WebEnv) -> None:
    """Without a client secret the page says so; the user's link is not blamed."""
    _link(web, "alice", "a@example.com")
    web.store.set_setting("google_client_secret", None)
    text = web.signed_in("alice").get("/me").text
    assert "has not set up the Google client" in text
    assert _status(web, "alice") == "ok"
