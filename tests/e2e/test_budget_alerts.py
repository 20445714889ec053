"""End to end in Chromium: the admin sets a small budget and an SMTP server on the admin page;
a round against the Google emulator crosses the alert thresholds and stops at the budget; the
admin page shows the alert banner and the usage chart, the email went out, and alice's page
says her sync waits until midnight Pacific time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from calsync.model import Event, When, utcnow
from calsync.service import UserStatus
from tests.e2e.conftest import ADMIN_PASSWORD, USERS, Stack, shot, sign_in
from tests.smtp import SmtpServer

pytestmark = pytest.mark.e2e


def test_admin_sees_the_usage_chart_and_an_alert_banner(
    stack: Stack, browser: Any, context: Any
) -> None:
    page = context.new_page()
    sign_in(page, stack.url, "admin", ADMIN_PASSWORD)
    page.wait_for_url(f"{stack.url}/admin")
    assert page.locator("#budget-alerts").count() == 0

    with SmtpServer() as smtp:
        # The SMTP server and the thresholds, through the form.
        page.fill("input[name=thresholds]", "50, 90, 100")
        page.fill("input[name=host]", "127.0.0.1")
        page.select_option("select[name=security]", "none")
        page.fill("input[name=port]", str(smtp.port))
        page.fill("input[name=sender]", "calsync@example.com")
        page.fill("input[name=recipients]", "ops@example.com")
        with page.expect_navigation():
            page.click("form[action='/admin/alerts'] button[type=submit]")
        page.get_by_text("Alert settings saved.").wait_for()

        # Alice may make 4 Calendar API calls a day.
        for name, value in (
            ("calendar", "1000"),
            ("calendar_user", "4"),
            ("tasks", "1000"),
            ("tasks_user", "100"),
        ):
            page.fill(f"form[action='/admin/budgets'] input[name={name}]", value)
        with page.expect_navigation():
            page.click("form[action='/admin/budgets'] button[type=submit]")
        page.get_by_text("API budgets saved.").wait_for()

        # Alice is linked and has six CRM events: a listing and three inserts fit.
        account = stack.accounts["alice@example.com"]
        stack.app.service.known_user("alice")
        stack.app.store.set_link("alice", "alice@example.com", account["refresh_token"])
        start = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        for n in range(6):
            at = start + timedelta(days=n)
            stack.crm.add_event("alice", Event(f"Call {n}", When(at, at + timedelta(hours=1))))
        report = stack.app.service.sync_user("alice")
        assert report.status is UserStatus.WAITING, report.message
        assert len(stack.google_events("alice@example.com")) == 3

        subjects = [m["Subject"] for m in smtp.messages]
        assert [s.split(" on ")[0] for s in subjects] == [
            f"calsync: Calendar API user alice budget at {p} %" for p in (50, 90, 100)
        ]

    page.goto(f"{stack.url}/admin")
    banner = page.locator("#budget-alerts")
    banner.wait_for()
    text = banner.inner_text()
    assert "Calendar API, budget of alice: 100% reached (4 of 4 calls)." in text
    assert "Calendar API, budget of alice: 50% reached (2 of 4 calls)." in text
    chart = page.locator("#usage-chart")
    chart.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.getElementById('usage-chart');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert chart.bounding_box() is not None
    shot(page, "admin-usage-alerts")

    # Alice reads why her sync waits, and until when.
    alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(alice, stack.url, "alice", USERS["alice"])
    alice.wait_for_url(f"{stack.url}/me")
    notice = alice.locator("#budget-wait-calendar").inner_text()
    assert "your daily budget of 4 Calendar API calls is spent" in notice
    assert "midnight Pacific time" in notice
    shot(alice, "me-budget-wait")
    alice.context.close()
