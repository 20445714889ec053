"""End to end in Chromium: sign in, connect Google on the emulator's consent page, set
preferences, sync now, and see a CRM event reach Google; other users are kept out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from calsync.model import Event, When, utcnow
from tests.e2e.conftest import ADMIN_PASSWORD, USERS, Stack, shot, sign_in

pytestmark = pytest.mark.e2e


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
    assert page.locator("#hours-error").is_visible()
    assert "25:00 is not a time of day" in page.inner_text("#hours-error")
    assert page.input_value("input[name=hours]") == "25:00-09:00"
    assert page.input_value("input[name=days_past]") == "10"
    assert stack.app.store.get_prefs("alice").days_past == 30

    # Good preferences are saved.
    page.fill("input[name=hours]", "00:00-00:00")
    page.select_option("select[name=private]", "busy")
    page.select_option("select[name=winner]", "crm")
    page.click("#save-prefs")
    assert "Preferences saved" in page.content()
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
    assert "Sync paused" in page.content()
    assert page.locator("#sync-now").is_disabled()
    page.click("#pause-toggle")
    assert "Sync resumed" in page.content()


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
        assert "CRM connection works" in admin.content()
        shot(admin, "admin")
    finally:
        admin_ctx.close()
