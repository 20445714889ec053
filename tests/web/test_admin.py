"""The admin page: refusals, the write-only client secret, validation, CRM test."""

from __future__ import annotations

import pytest

from tests.web.conftest import WebEnv, snapshot


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin"),
        ("POST", "/admin/google"),
        ("POST", "/admin/crm-test"),
        ("POST", "/admin/users/bob/sign-out"),
    ],
)
def test_admin_pages_refuse_other_users(web: WebEnv, method: str, path: str) -> None:
    """A CRM user gets 403 on every admin path, and nothing changes."""
    me = web.signed_in("alice")
    before = snapshot(web.store)
    if method == "GET":
        r = me.get(path)
    else:
        r = me.post(path, {"client_id": "evil", "client_secret": "x", "daily_budget": "5"})
    assert r.status_code == 403
    assert snapshot(web.store) == before


def test_admin_403_page_is_html_for_browsers(web: WebEnv) -> None:
    """Browsers get a readable refusal page."""
    me = web.signed_in("alice")
    r = me.get("/admin", headers={"accept": "text/html"})
    assert r.status_code == 403
    assert "Not allowed" in r.text


def test_admin_page_shows_redirect_uri_and_never_the_secret(web: WebEnv) -> None:
    """The redirect URI is shown ready to copy; the stored secret is not rendered."""
    admin = web.signed_in("admin")
    r = admin.get("/admin")
    assert r.status_code == 200
    assert f'value="{web.url}/oauth/callback"' in r.text
    assert "s3cret" not in r.text
    assert "A secret is stored" in r.text


def test_admin_saves_google_settings(web: WebEnv) -> None:
    """Saving stores the client ID, the secret as a secret, and the budget."""
    admin = web.signed_in("admin")
    r = admin.post(
        "/admin/google",
        {"client_id": "new.apps.example", "client_secret": "n3w", "daily_budget": "5000"},
        page="/admin",
    )
    assert r.status_code == 303
    settings = snapshot(web.store)["settings"]
    assert settings == {
        "google_client_id": ("new.apps.example", False),
        "google_client_secret": ("n3w", True),
        "google_daily_budget": ("5000", False),
    }
    assert "n3w" not in admin.get("/admin").text


def test_empty_secret_keeps_the_stored_one(web: WebEnv) -> None:
    """The secret field is write-only: leaving it empty keeps the stored secret."""
    admin = web.signed_in("admin")
    admin.post(
        "/admin/google",
        {"client_id": "cid", "client_secret": "", "daily_budget": "10"},
        page="/admin",
    )
    assert web.store.get_setting("google_client_secret") == "s3cret"


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        ("client_id", {"client_id": "  ", "daily_budget": "10"}, "client ID is required"),
        ("client_id", {"client_id": "a b", "daily_budget": "10"}, "no spaces"),
        ("daily_budget", {"client_id": "cid", "daily_budget": "-3"}, "1 or more"),
        ("daily_budget", {"client_id": "cid", "daily_budget": "lots"}, "whole number"),
    ],
)
def test_bad_admin_input_is_refused_next_to_the_field(
    web: WebEnv, field: str, data: dict[str, str], message: str
) -> None:
    """Bad input: 400, a message by the field, the typed values kept, nothing stored."""
    admin = web.signed_in("admin")
    before = snapshot(web.store)
    r = admin.post("/admin/google", {**data, "client_secret": "typed-secret"}, page="/admin")
    assert r.status_code == 400
    assert f'id="{field}-error"' in r.text
    assert message in r.text
    assert f'value="{data["daily_budget"]}"' in r.text
    assert "typed-secret" not in r.text
    assert snapshot(web.store) == before


def test_admin_post_without_csrf_is_refused(web: WebEnv) -> None:
    """CSRF missing on an admin form: 403, nothing stored."""
    admin = web.signed_in("admin")
    before = snapshot(web.store)
    r = admin.http.post("/admin/google", data={"client_id": "x", "daily_budget": "1"})
    assert r.status_code == 403
    r = admin.http.post(
        "/admin/google", data={"client_id": "x", "daily_budget": "1", "csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert snapshot(web.store) == before


def test_crm_connection_test(web: WebEnv) -> None:
    """The test button reports what the CRM says about its connection."""
    admin = web.signed_in("admin")
    r = admin.post("/admin/crm-test", page="/admin")
    assert r.status_code == 303
    assert "CRM connection works: embedded CRM with 2 users" in admin.get("/admin").text


def test_users_list_shows_link_and_last_sync(web: WebEnv) -> None:
    """Each user appears with their Google account, link status and last sync."""
    from datetime import UTC, datetime

    web.signed_in("alice")
    web.store.set_link("alice", "alice@example.com", "rt")
    web.store.set_link_status("alice", "needs_reconnect")
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    run = web.store.start_run("alice", at)
    web.store.finish_run(run, "failed", error="invalid_grant", finished_at=at)
    text = web.signed_in("admin").get("/admin").text
    assert "alice@example.com" in text
    assert "needs reconnecting" in text
    assert "Nov 20, 2026, 9:30\u202fAM" in text or "Nov 20, 2026, 9:30 AM" in text


def test_admin_changes_the_one_time_password(web: WebEnv) -> None:
    """The admin replaces their password; the old one stops working."""
    admin = web.signed_in("admin")
    data = {"current": "admin-pass-1", "new": "a-much-longer-pass", "confirm": "a-much-longer-pass"}
    assert admin.post("/admin/password", data, page="/admin").status_code == 303
    assert web.store.verify_password("admin", "a-much-longer-pass")
    assert not web.store.verify_password("admin", "admin-pass-1")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"current": "wrong", "new": "long-enough-1", "confirm": "long-enough-1"}, "current"),
        ({"current": "admin-pass-1", "new": "short", "confirm": "short"}, "new"),
        ({"current": "admin-pass-1", "new": "long-enough-1", "confirm": "other-one-2"}, "confirm"),
    ],
)
def test_bad_password_change_is_refused(web: WebEnv, data: dict[str, str], field: str) -> None:
    """A wrong current password, a short one or a mismatch: 400 by the field, nothing stored."""
    admin = web.signed_in("admin")
    r = admin.post("/admin/password", data, page="/admin")
    assert r.status_code == 400
    assert f'id="{field}-error"' in r.text
    assert web.store.verify_password("admin", "admin-pass-1")


def test_password_change_is_admin_only(web: WebEnv) -> None:
    """A CRM user cannot post to the admin's password form."""
    me = web.signed_in("alice")
    data = {"current": "x", "new": "long-enough-1", "confirm": "long-enough-1"}
    assert me.post("/admin/password", data).status_code == 403


def test_admin_page_shows_usage_per_api_and_user(web: WebEnv) -> None:
    """Today's calls per API against the project budgets, the distance to Google's billing
    threshold, and a row per user against the per-user budgets."""
    from calsync.quota import quota_day

    day = quota_day()
    web.store.add_calls("alice", 1500, day, "calendar")
    web.store.add_calls("alice", 30, day, "tasks")
    web.store.add_calls("bob", 20, day, "tasks")
    web.store.set_setting("google_tasks_daily_budget", "200")
    page = web.signed_in("admin").get("/admin").text
    usage = page[page.index('id="usage"') :]
    assert '<tr data-api="calendar">' in usage and '<tr data-api="tasks">' in usage
    calendar = usage[usage.index('data-api="calendar"') : usage.index('data-api="tasks"')]
    assert "1,500" in calendar and "500,000" in calendar and "0%" in calendar
    tasks = usage[usage.index('data-api="tasks"') : usage.index("</table>")]
    assert "50" in tasks and "200" in tasks and "25%" in tasks
    assert "998,500 calls to go today" in usage
    users = usage[usage.index('id="usage-users"') :]
    assert "alice" in users and "1,500 of 20,000" in users and "30 of 5,000" in users
    assert "bob" in users and "20 of 5,000" in users


def test_admin_saves_budgets_all_or_nothing(web: WebEnv) -> None:
    """The four budgets are stored together; a refused form stores none and says why."""
    admin = web.signed_in("admin")
    bad = {"calendar": "100", "calendar_user": "500", "tasks": "7", "tasks_user": "1"}
    r = admin.post("/admin/budgets", bad, page="/admin")
    assert r.status_code == 400
    assert "at most the project" in r.text and 'value="500"' in r.text
    assert web.store.get_setting("google_daily_budget") is None
    good = {"calendar": "100", "calendar_user": "50", "tasks": "7", "tasks_user": "1"}
    assert admin.post("/admin/budgets", good, page="/admin").status_code == 303
    saved = {
        key: web.store.get_setting(key)
        for key in (
            "google_daily_budget",
            "google_user_daily_budget",
            "google_tasks_daily_budget",
            "google_tasks_user_daily_budget",
        )
    }
    assert saved == {
        "google_daily_budget": "100",
        "google_user_daily_budget": "50",
        "google_tasks_daily_budget": "7",
        "google_tasks_user_daily_budget": "1",
    }


def test_budgets_refuse_other_users(web: WebEnv) -> None:
    """A CRM user cannot change the budgets."""
    me = web.signed_in("alice")
    before = snapshot(web.store)
    r = me.post("/admin/budgets", {"calendar": "1", "calendar_user": "1", "tasks": "1"})
    assert r.status_code == 403
    assert snapshot(web.store) == before


def test_admin_page_title_is_only_a_title(web: WebEnv) -> None:
    """The page's <title> is plain text: no password form and no CSRF token in it, and the
    password form appears once, in the page body."""
    page = web.signed_in("admin").get("/admin").text
    head = page[: page.index("</head>")]
    title = head[head.index("<title>") + len("<title>") : head.index("</title>")]
    assert title == "Admin · calsync"
    assert "csrf_token" not in head
    assert page.count('action="/admin/password"') == 1
    assert page.index('action="/admin/password"') > page.index("<main>")
