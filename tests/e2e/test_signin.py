"""Sessions and the Google connection in Chromium: a copied cookie dies with sign-out and with
a password change, a used callback cannot be replayed, the admin page's title is a title."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, USERS, Stack, sign_in

pytestmark = pytest.mark.e2e


def test_signing_out_ends_a_copied_session(stack: Stack, browser: Any, context: Any) -> None:
    """Alice's cookie, copied into another browser, works until she signs out; then it does
    not, though the other browser still holds it."""
    page = context.new_page()
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    other = browser.new_context()
    try:
        other.add_cookies(context.cookies())
        thief = other.new_page()
        thief.goto(f"{stack.url}/me")
        assert thief.url == f"{stack.url}/me"
        assert "My calendar sync" in thief.content()

        page.click("text=Sign out")
        page.wait_for_url(f"{stack.url}/login")

        thief.goto(f"{stack.url}/me")
        assert thief.url.startswith(f"{stack.url}/login")
        assert any(c["name"] == "calsync_session" for c in other.cookies())
    finally:
        other.close()


def test_a_new_password_signs_the_admin_out_elsewhere(
    stack: Stack, browser: Any, context: Any
) -> None:
    """The admin changes the password in one browser: that one stays in, the other is out."""
    here = context.new_page()
    sign_in(here, stack.url, "admin", ADMIN_PASSWORD)
    here.wait_for_url(f"{stack.url}/admin")
    assert here.title() == "Admin · calsync"
    other = browser.new_context()
    try:
        there = other.new_page()
        sign_in(there, stack.url, "admin", ADMIN_PASSWORD)
        there.wait_for_url(f"{stack.url}/admin")

        here.fill("input[name=current]", ADMIN_PASSWORD)
        here.fill("input[name=new]", "a-brand-new-password")
        here.fill("input[name=confirm]", "a-brand-new-password")
        here.click("text=Change password")
        here.get_by_text("Password changed").first.wait_for()
        assert here.url == f"{stack.url}/admin"

        there.goto(f"{stack.url}/admin")
        assert there.url.startswith(f"{stack.url}/login")
    finally:
        other.close()


def test_a_used_google_callback_cannot_be_replayed(stack: Stack, context: Any) -> None:
    """Connecting is a form POST; the callback Google sends the browser to works once."""
    page = context.new_page()
    sign_in(page, stack.url, "alice", USERS["alice"])
    page.wait_for_url(f"{stack.url}/me")
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if r.url.startswith(f"{stack.url}/oauth/") else None,
    )
    page.click("#connect")
    page.wait_for_url(f"{stack.google_url}/o/oauth2/auth*")
    page.click('[id="allow-alice@example.com"]')
    page.wait_for_url(f"{stack.url}/me")
    assert page.inner_text("#google-email") == "alice@example.com"
    assert callbacks[0] == f"{stack.url}/oauth/start"
    callback = next(u for u in callbacks if "/oauth/callback?" in u)

    stack.app.store.delete_link("alice")
    response = page.goto(callback)
    assert response is not None and response.status == 400
    assert stack.app.store.get_link("alice") is None

    response = page.goto(f"{stack.url}/oauth/start")
    assert response is not None and response.status == 405
