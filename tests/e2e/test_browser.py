"""End to end in Chromium: sign in, connect Google on the emulator's consent page, set
preferences, sync now, and see a CRM event reach Google; other users are kept out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from calsync.engine.pairs import Kind
from calsync.engine.store import Conflict
from calsync.model import Event, Task, When, utcnow
from tests.e2e.conftest import (
    ADMIN_PASSWORD,
    CLIENT_ID,
    CLIENT_SECRET,
    USERS,
    Stack,
    shot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def see(page: Any, text: str) -> None:
    """Wait until `text` shows on the page: a form POST answers with a redirect, and reading
    the page before the next one has loaded sees nothing."""
    page.get_by_text(text).first.wait_for(timeout=15_000)


def test_user_connects_google_sets_prefs_and_syncs(stack: Stack, context: Any) -> None:
    """Alice signs in, connects her Google account, sets preferences, syncs: her CRM event
    appears in Google and in her sync log."""
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())

    page.goto(f"{stack.url}/me")
    assert page.url.startswith(f"{stack.url}/login")
    shot(page, "login")
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    assert "not connected" in page.inner_text("#google-account").lower()

    # Connect: Google's (emulated) consent page, then back with the account linked.
    page.click("#connect")
    page.wait_for_url(f"{stack.google_url}/o/oauth2/auth*")
    assert "calendar.events" in page.content()
    assert "auth/tasks" not in page.content()
    shot(page, "consent")
    page.click('[id="allow-alice@example.com"]')
    page.wait_for_url(f"{stack.url}/me")
    assert page.inner_text("#google-email") == "alice@example.com"
    assert "Connected alice@example.com" in page.content()
    link = stack.app.store.get_link("alice")
    assert link is not None and link.google_email == "alice@example.com"

    # The target calendar is named, and offered from the account's calendar list.
    assert "alice@example.com" in page.inner_text("#target-calendar")
    assert page.locator("#target-select option").count() >= 1

    # A bad hours window is refused next to the field and keeps what was typed.
    page.fill("input[name=hours]", "25:00-09:00")
    page.fill("input[name=days_past]", "10")
    page.click("#save-prefs")
    page.locator("#hours-error").wait_for()
    assert "25:00 is not a time of day" in page.inner_text("#hours-error")
    assert page.input_value("input[name=hours]") == "25:00-09:00"
    assert page.input_value("input[name=days_past]") == "10"
    assert stack.app.store.get_prefs("alice").days_past == 30

    # Good preferences are saved.
    page.fill("input[name=hours]", "00:00-00:00")
    page.select_option("select[name=private]", "busy")
    page.select_option("select[name=winner]", "crm")
    page.click("#save-prefs")
    see(page, "Preferences saved")
    prefs = stack.app.store.get_prefs("alice")
    assert (prefs.days_past, prefs.private, prefs.winner) == (10, "busy", "crm")
    assert prefs.calendars == ("alice@example.com",)

    # An event created in the CRM reaches Google after "Sync now".
    start = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    stack.crm.add_event(
        "alice",
        Event(
            "Budget review with <b>ACME</b>",
            When.timed(start, start + timedelta(hours=1), "Europe/Rome"),
            description="<p>Agenda</p><script>alert(1)</script>",
        ),
    )
    with page.expect_navigation():
        page.click("#sync-now")
    # The status box polls while the round runs, then the page reloads with the result.
    expect(page.locator("#sync-status")).to_contain_text("succeeded", ignore_case=True)
    expect(page.locator("#sync-status")).to_contain_text("Google: 1 created")
    titles = [e.get("summary") for e in stack.google_events("alice@example.com")]
    assert "Budget review with <b>ACME</b>" in titles
    log = page.inner_text("#log")
    assert "Budget review with <b>ACME</b>" in log
    assert page.locator("script:has-text('alert(1)')").count() == 0
    shot(page, "me")

    # Pause and resume.
    page.click("#pause-toggle")
    see(page, "Sync paused")
    assert page.locator("#sync-now").is_disabled()
    page.click("#pause-toggle")
    see(page, "Sync resumed")


def test_other_users_are_kept_out(stack: Stack, browser: Any, context: Any) -> None:
    """Bob sees only his own page; admin pages answer 403; the admin sees everyone."""
    alice = context.new_page()
    sign_in(alice, stack.url, "alice", USERS["alice"])
    alice.wait_for_url(f"{stack.url}/me")
    alice.click("#connect")
    alice.click('[id="allow-alice@example.com"]')
    alice.wait_for_url(f"{stack.url}/me")

    bob_ctx = browser.new_context()
    try:
        bob = bob_ctx.new_page()
        sign_in(bob, stack.url, "bob", USERS["bob"])
        bob.wait_for_url(f"{stack.url}/me")
        assert "alice@example.com" not in bob.content()
        assert "not connected" in bob.inner_text("#google-account").lower()
        response = bob.goto(f"{stack.url}/admin")
        assert response is not None and response.status == 403
        assert "Not allowed" in bob.content()
        response = bob.goto(f"{stack.url}/me?user=alice")
        assert response is not None and response.status == 200
        assert "alice@example.com" not in bob.content()
    finally:
        bob_ctx.close()

    admin_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin = admin_ctx.new_page()
        sign_in(admin, stack.url, "admin", ADMIN_PASSWORD)
        admin.wait_for_url(f"{stack.url}/admin")
        assert admin.input_value("#redirect-uri") == f"{stack.url}/oauth/callback"
        users = admin.inner_text("#users")
        assert "alice@example.com" in users and "bob" in users
        admin.click("text=Test connection")
        see(admin, "CRM connection works")
        shot(admin, "admin")
    finally:
        admin_ctx.close()


def _connect(page: Any, stack: Stack, email: str, tasks: bool = False) -> None:
    if tasks:
        page.check("input[name=tasks]")
    page.click("#connect")
    page.wait_for_url(f"{stack.google_url}/o/oauth2/auth*")
    page.click(f'[id="allow-{email}"]')
    page.wait_for_url(f"{stack.url}/me")


def test_todos_need_the_tasks_scope_and_reach_google_tasks(stack: Stack, context: Any) -> None:
    """Ticking "also sync to-dos" asks for the Tasks scope; the chosen list receives CRM to-dos."""
    page = context.new_page()
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    page.check("input[name=tasks]")
    page.click("#connect")
    page.wait_for_url(f"{stack.google_url}/o/oauth2/auth*")
    assert "https://www.googleapis.com/auth/tasks" in page.content()
    page.click('[id="allow-alice@example.com"]')
    page.wait_for_url(f"{stack.url}/me")

    options = page.locator("select[name=tasklist] option").all_inner_texts()
    assert len(options) >= 2, options  # "don't sync to-dos" and the account's lists
    page.select_option("select[name=tasklist]", index=1)
    page.click("#save-prefs")
    see(page, "Preferences saved")
    tasklist = stack.app.store.get_prefs("alice").tasklist
    assert tasklist

    stack.crm.add_task("alice", Task("Send the ACME offer", due=utcnow().date()))
    with page.expect_navigation():
        page.click("#sync-now")
    expect(page.locator("#sync-status")).to_contain_text("succeeded", ignore_case=True)
    token = stack.accounts["alice@example.com"]["access_token"]
    r = httpx.get(
        f"{stack.google_url}/tasks/v1/lists/{tasklist}/tasks",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert "Send the ACME offer" in [t.get("title") for t in r.json().get("items", [])]


def test_revoked_access_asks_to_reconnect_then_disconnect(stack: Stack, context: Any) -> None:
    """When Google refuses the token (revoked), Sync now says "needs reconnecting" instead of
    failing silently; reconnecting fixes it; Disconnect revokes and forgets the link."""
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    _connect(page, stack, "alice@example.com")
    link = stack.app.store.get_link("alice")
    assert link is not None

    # The user removes calsync's access in their Google account.
    httpx.post(f"{stack.google_url}/revoke", data={"token": link.refresh_token})
    with page.expect_navigation():
        page.click("#sync-now")
    expect(page.locator("#google-account")).to_contain_text("needs reconnecting", ignore_case=True)
    expect(page.locator("#sync-status")).to_contain_text("needs reconnect", ignore_case=True)
    assert str(stack.app.store.get_link("alice").status) == "needs_reconnect"  # type: ignore[union-attr]
    assert page.locator("#sync-now").is_disabled()
    shot(page, "me-needs-reconnect")

    _connect(page, stack, "alice@example.com")
    expect(page.locator("#google-account")).to_contain_text("connected", ignore_case=True)
    with page.expect_navigation():
        page.click("#sync-now")
    expect(page.locator("#sync-status")).to_contain_text("succeeded", ignore_case=True)

    token = stack.app.store.get_link("alice").refresh_token  # type: ignore[union-attr]
    page.click("#disconnect")
    expect(page.locator("#google-account")).to_contain_text("not connected", ignore_case=True)
    assert stack.app.store.get_link("alice") is None
    r = httpx.post(
        f"{stack.google_url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_conflicts_are_shown_side_by_side(stack: Stack, context: Any) -> None:
    """A stored conflict shows both versions, the kept one marked, HTML sanitised."""
    stack.app.service.known_user("alice")
    stack.app.store.add_conflict(
        Conflict(
            user="alice",
            kind=Kind.EVENT,
            key="k-1",
            winner="crm",
            crm_version={
                "title": "Budget review",
                "location": "Room 1",
                "description": "<p>Bring the <b>numbers</b></p><img src=x onerror=alert(1)>",
            },
            google_version={
                "title": "Budget review (moved)",
                "location": "Room 2",
                "description": "<p>Moved by the client</p>",
            },
            at=utcnow(),
            reason="both edited",
        )
    )
    stack.app.store.commit()
    page = context.new_page()
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    conflicts = page.locator("#conflicts")
    expect(conflicts).to_contain_text("Room 1")
    expect(conflicts).to_contain_text("Room 2")
    assert conflicts.locator(".version.winner").inner_text().startswith("CRM")
    assert conflicts.locator("b", has_text="numbers").count() == 1
    assert conflicts.locator("img").count() == 0
    conflicts.scroll_into_view_if_needed()
    shot(page, "me-conflicts")
