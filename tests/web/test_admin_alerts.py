"""The admin page's budget alerts (banner, thresholds, SMTP form, test email), its usage
chart, and the user's page saying why their sync waits."""

from __future__ import annotations

from datetime import UTC, datetime

from calsync.model import utcnow
from calsync.quota import Api, BudgetAlert, day_of, quota_day
from calsync.service import AlertService
from calsync.state.records import BudgetWait
from tests.smtp import SmtpServer
from tests.web.conftest import WebEnv, snapshot

SMTP_FORM = {
    "thresholds": "50, 90, 100",
    "host": "127.0.0.1",
    "security": "none",
    "user": "",
    "password": "",
    "sender": "calsync@example.com",
    "recipients": "ops@example.com",
}


def test_alert_banner_shows_todays_alerts(web: WebEnv) -> None:
    """An alert of today's quota day is on the admin page with its API, budget, share and
    figures; none is shown on a day without alerts."""
    admin = web.signed_in("admin")
    assert 'id="budget-alerts"' not in admin.get("/admin").text
    alerts = AlertService(web.store)
    alerts.notify(BudgetAlert("project", None, quota_day(), 900, 1000, 0.9, Api.CALENDAR))
    alerts.notify(BudgetAlert("user", "bob", quota_day(), 50, 50, 1.0, Api.TASKS))
    page = admin.get("/admin").text
    banner = page[
        page.index('id="budget-alerts"') : page.index("</div>", page.index("budget-alerts"))
    ]
    assert "Calendar API, project budget: 90% reached (900 of 1,000 calls)." in banner
    assert "Tasks API, budget of bob: 100% reached (50 of 50 calls)." in banner
    # Another user sees no admin page at all.
    assert web.signed_in("alice").get("/admin").status_code == 403


def test_alert_settings_are_validated_and_saved(web: WebEnv) -> None:
    """A refused form says what is wrong per field, keeps what was typed except the password,
    and stores nothing; a good one is stored with the password encrypted."""
    admin = web.signed_in("admin")
    bad = SMTP_FORM | {"thresholds": "50, 120", "port": "99999", "password": "pw-typed"}
    r = admin.post("/admin/alerts", bad, page="/admin")
    assert r.status_code == 400
    assert "Whole percentages from 1 to 100" in r.text
    assert "A port is a whole number from 1 to 65535." in r.text
    assert 'value="50, 120"' in r.text and "pw-typed" not in r.text
    assert web.store.get_setting("smtp_host") is None

    good = SMTP_FORM | {"port": "2525", "user": "calsync", "password": "pw-1"}
    r = admin.post("/admin/alerts", good, page="/admin")
    assert r.status_code == 303
    assert web.store.get_setting("smtp_host") == "127.0.0.1"
    assert web.store.get_setting("smtp_password") == "pw-1"  # decrypted by the store
    assert all(s.value is None for s in web.store.settings_info() if s.key == "smtp_password")
    page = admin.get("/admin").text
    assert 'value="2525"' in page and "pw-1" not in page


def test_alert_settings_need_the_admin_and_the_csrf_token(web: WebEnv) -> None:
    """A CRM user is refused, and so is a form without the CSRF token."""
    alice, admin = web.signed_in("alice"), web.signed_in("admin")
    before = snapshot(web.store)
    assert alice.post("/admin/alerts", SMTP_FORM).status_code == 403
    r = admin.http.post("/admin/alerts", data=SMTP_FORM)
    assert r.status_code in (400, 403)
    assert snapshot(web.store) == before
    assert web.store.get_setting("smtp_host") is None


def test_send_test_email(web: WebEnv) -> None:
    """The button sends a test email through the stored server and says so; with the server
    gone it says why."""
    admin = web.signed_in("admin")
    with SmtpServer() as smtp:
        form = SMTP_FORM | {"port": str(smtp.port)}
        assert admin.post("/admin/alerts", form, page="/admin").status_code == 303
        r = admin.post("/admin/alerts/test", page="/admin")
        assert r.status_code == 303
        assert [m["Subject"] for m in smtp.messages] == ["calsync: test email"]
        assert "Test email sent to ops@example.com." in admin.get("/admin").text
    admin.post("/admin/alerts/test", page="/admin")
    assert "The test email was not sent: cannot send through 127.0.0.1" in admin.get("/admin").text


def test_usage_chart_is_a_script_free_svg(web: WebEnv) -> None:
    """The page shows the chart as an image; the SVG (pygal's) has a line per API over the
    last 30 quota days, no script, and a policy that forbids scripts; admins only."""
    web.store.add_calls("alice", 120, quota_day(), "calendar")
    admin = web.signed_in("admin")
    assert '<img id="usage-chart" src="/admin/usage.svg"' in admin.get("/admin").text
    r = admin.get("/admin/usage.svg")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    svg = r.text
    assert svg.startswith("<svg") and "pygal" in svg
    assert "<script" not in svg.lower() and "javascript:" not in svg.lower()
    assert "Calendar API" in svg and "Tasks API" in svg
    assert quota_day().isoformat() in svg
    assert web.signed_in("alice").get("/admin/usage.svg").status_code == 403


def test_user_page_says_why_the_sync_waits_and_until_when(web: WebEnv) -> None:
    """A user whose budget stopped the sync reads which budget, and that it goes on at
    midnight Pacific time or once the admin raises it; the notice leaves with the day."""
    today = day_of(utcnow())
    web.store.set_budget_wait(
        BudgetWait("alice", "calendar", "user", today, 20000, utcnow(), "event:primary")
    )
    page = web.signed_in("alice").get("/me").text
    notice = page[page.index('id="budget-wait-calendar"') :]
    notice = notice[: notice.index("</p>")]
    assert "your daily budget of 20,000 Calendar API calls is spent" in notice
    assert "midnight Pacific time" in notice and "raises the budget" in notice
    # The wait of an earlier quota day is over: no notice.
    old = datetime(2020, 1, 1, tzinfo=UTC)
    web.store.set_budget_wait(
        BudgetWait("alice", "calendar", "user", day_of(old), 20000, old, "event:primary")
    )
    assert 'id="budget-wait-calendar"' not in web.signed_in("alice").get("/me").text
