"""Sign-in, sign-out, sessions and CSRF."""

from __future__ import annotations

from pathlib import Path

import httpx

from calsync.state import Store
from tests.web.conftest import WebEnv, csrf_of


def test_admin_signs_in_and_lands_on_admin(web: WebEnv) -> None:
    """The admin's password is checked against its argon2 hash; home is /admin."""
    client = web.client()
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login", data={"username": "admin", "password": "admin-pass-1", "csrf_token": token}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin"
    admin = web.store.get_user("admin")
    assert admin is not None and admin.has_password and admin.role == "admin"


def test_crm_user_signs_in_with_crm_credentials(web: WebEnv) -> None:
    """A CRM user unknown to calsync is checked by the CRM and then remembered (no hash)."""
    me = web.signed_in("alice")
    assert me.get("/me").status_code == 200
    alice = web.store.get_user("alice")
    assert alice is not None and alice.role == "user" and not alice.has_password


def test_wrong_password_is_refused_and_keeps_the_name(web: WebEnv) -> None:
    """A refused sign-in answers 401, shows why, and keeps the typed user name."""
    client = web.client()
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "alice", "password": "nope", "csrf_token": token})
    assert r.status_code == 401
    assert "Wrong user name or password" in r.text
    assert 'value="alice"' in r.text
    assert client.get("/me").status_code == 303


def test_admin_password_cannot_be_bypassed_through_the_crm(web: WebEnv) -> None:
    """An account with a calsync password never falls back to the CRM check."""
    web.crm.users["admin"] = "crm-pass"
    client = web.client()
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login", data={"username": "admin", "password": "crm-pass", "csrf_token": token}
    )
    assert r.status_code == 401


def test_login_without_csrf_is_refused(web: WebEnv) -> None:
    """The sign-in form is a POST like any other: no token, 403."""
    client = web.client()
    client.get("/login")
    r = client.post("/login", data={"username": "alice", "password": "alice-pass"})
    assert r.status_code == 403


def test_pages_need_a_session(web: WebEnv) -> None:
    """Without a session, pages send the browser to the sign-in page with `next`."""
    client = web.client()
    for path in ("/me", "/admin"):
        r = client.get(path)
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next={path}"


def test_next_is_followed_only_when_local(web: WebEnv) -> None:
    """`next` after sign-in is a local path; anything else goes home (no open redirect)."""
    client = web.client()
    token = csrf_of(client.get("/login?next=//evil.example/x").text)
    r = client.post(
        "/login",
        data={
            "username": "alice",
            "password": "alice-pass",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert r.headers["location"] == "/me"


def test_session_cookie_flags(web: WebEnv) -> None:
    """The session cookie is HttpOnly and SameSite=Lax (Secure only behind https)."""
    r = web.client().get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_session_changes_on_sign_in(web: WebEnv) -> None:
    """Signing in replaces the CSRF token: a token planted before sign-in is void."""
    client = web.client()
    before = csrf_of(client.get("/login").text)
    client.post(
        "/login", data={"username": "alice", "password": "alice-pass", "csrf_token": before}
    )
    after = csrf_of(client.get("/me").text)
    assert after != before
    r = client.post("/me/pause", data={"csrf_token": before})
    assert r.status_code == 403


def test_logout_ends_the_session(web: WebEnv) -> None:
    """After signing out, the same cookie jar is no longer signed in."""
    me = web.signed_in("alice")
    r = me.post("/logout")
    assert r.status_code == 303
    assert me.get("/me").status_code == 303


def test_logout_needs_csrf(web: WebEnv) -> None:
    """Even signing out is refused without the token (no cross-site sign-out)."""
    me = web.signed_in("alice")
    assert me.http.post("/logout").status_code == 403
    assert me.get("/me").status_code == 200


def test_first_run_creates_admin_once(store: Store) -> None:
    """`ensure_admin` makes the admin with a one-time password only when none exists."""
    from calsync.web import ensure_admin

    store.delete_user("admin")
    password = ensure_admin(store)
    assert password
    assert store.verify_password("admin", password)
    assert ensure_admin(store) is None


def test_create_app_announces_the_first_admin_password(store: Store, tmp_path: Path) -> None:
    """A first run prints the admin's one-time password through `announce`."""
    from calsync.web import create_app
    from tests.web.conftest import application
    from tests.web.fakes import FakeCrm

    store.delete_user("admin")
    said: list[str] = []
    create_app(
        application(store, tmp_path),
        crm_auth=FakeCrm({}),
        announce=said.append,
    )
    assert len(said) == 1 and "admin" in said[0]
    create_app(
        application(store, tmp_path),
        crm_auth=FakeCrm({}),
        announce=said.append,
    )
    assert len(said) == 1


def test_secure_cookie_behind_https(store: Store, tmp_path: Path) -> None:
    """Served at an https URL, the session cookie is marked Secure."""
    from calsync.emulators.server import ServerThread
    from calsync.web import create_app
    from tests.web.conftest import application
    from tests.web.fakes import FakeCrm

    app = create_app(
        application(store, tmp_path),
        crm_auth=FakeCrm({}),
        public_url="https://calsync.example.com",
    )
    with ServerThread(app) as server:
        r = httpx.get(f"{server.url}/login")
    assert "secure" in r.headers["set-cookie"].lower()


def test_csrf_token_in_a_header_is_accepted(web: WebEnv) -> None:
    """Scripts (htmx) may send the token as X-CSRF-Token instead of a form field."""
    me = web.signed_in("alice")
    token = me.token()
    r = me.http.post("/me/pause", headers={"X-CSRF-Token": token})
    assert r.status_code == 303
    assert web.store.get_prefs("alice").paused is True
