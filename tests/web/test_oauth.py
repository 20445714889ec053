"""Connecting Google: state bound to the session, PKCE, scopes, forged callbacks refused."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from tests.web.conftest import SignedIn, WebEnv


def _start(me: SignedIn, tasks: bool = False) -> dict[str, str]:
    r = me.post("/oauth/start", {"tasks": "on"} if tasks else {})
    assert r.status_code == 303
    query = parse_qs(urlparse(r.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def test_start_sends_a_consent_request_with_state_and_pkce(web: WebEnv) -> None:
    """The consent URL carries state, an S256 challenge, offline access and narrow scopes."""
    q = _start(web.signed_in("alice"))
    assert q["state"]
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43
    assert q["access_type"] == "offline"
    assert q["prompt"] == "consent"
    assert q["client_id"] == "cid.apps.example"
    assert q["redirect_uri"] == f"{web.url}/oauth/callback"
    assert q["scope"].split() == [
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    ]


def test_tasks_scope_only_when_todos_are_synced(web: WebEnv) -> None:
    """The Tasks scope is asked for only when the user wants to-dos synced."""
    q = _start(web.signed_in("alice"), tasks=True)
    assert "https://www.googleapis.com/auth/tasks" in q["scope"].split()


def test_callback_stores_the_link(web: WebEnv) -> None:
    """A callback with our state exchanges the code with the PKCE verifier and links."""
    me = web.signed_in("alice")
    q = _start(me)
    code = web.google.issue_code("alice@example.com")
    r = me.get(f"/oauth/callback?state={q['state']}&code={code}")
    assert r.status_code == 303
    link = web.store.get_link("alice")
    assert link is not None
    assert link.google_email == "alice@example.com"
    assert link.refresh_token == f"rt-{code}"
    assert link.status == "ok"
    assert link.scopes == (
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    )
    verifier = web.google.exchanges[-1]["verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == q["code_challenge"]
    assert "Connected alice@example.com" in me.get("/me").text


def test_forged_state_is_refused(web: WebEnv) -> None:
    """A state that is not the one this session started: 400, nothing exchanged or stored."""
    me = web.signed_in("alice")
    _start(me)
    code = web.google.issue_code("mallory@example.com")
    r = me.get(f"/oauth/callback?state=forged&code={code}")
    assert r.status_code == 400
    assert web.store.get_link("alice") is None
    assert web.google.exchanges == []


def test_missing_state_is_refused(web: WebEnv) -> None:
    """No state at all: 400, nothing stored."""
    me = web.signed_in("alice")
    _start(me)
    code = web.google.issue_code("mallory@example.com")
    assert me.get(f"/oauth/callback?code={code}").status_code == 400
    assert web.store.get_link("alice") is None


def test_callback_without_a_started_flow_is_refused(web: WebEnv) -> None:
    """A callback in a session that never started a flow (login CSRF): 400."""
    me = web.signed_in("alice")
    code = web.google.issue_code("mallory@example.com")
    assert me.get(f"/oauth/callback?state=anything&code={code}").status_code == 400
    assert web.store.get_link("alice") is None and web.store.get_link("bob") is None


def test_state_of_another_session_is_refused(web: WebEnv) -> None:
    """Bob cannot finish Alice's flow: the state is bound to Alice's session."""
    alice = web.signed_in("alice")
    q = _start(alice)
    bob = web.signed_in("bob")
    _start(bob)
    code = web.google.issue_code("alice@example.com")
    assert bob.get(f"/oauth/callback?state={q['state']}&code={code}").status_code == 400
    assert web.store.get_link("alice") is None and web.store.get_link("bob") is None


def test_state_is_single_use(web: WebEnv) -> None:
    """Replaying a used callback URL is refused."""
    me = web.signed_in("alice")
    q = _start(me)
    code = web.google.issue_code("alice@example.com")
    assert me.get(f"/oauth/callback?state={q['state']}&code={code}").status_code == 303
    web.store.delete_link("alice")
    assert me.get(f"/oauth/callback?state={q['state']}&code={code}").status_code == 400
    assert web.store.get_link("alice") is None and web.store.get_link("bob") is None


def test_a_replayed_callback_is_refused_even_with_the_old_cookie(web: WebEnv) -> None:
    """The state is used up in the store: a callback replayed with a copy of the cookie taken
    before the first one (which still holds the flow) is refused, nothing exchanged."""
    me = web.signed_in("alice")
    q = _start(me)
    before = dict(me.http.cookies)
    code = web.google.issue_code("alice@example.com")
    assert me.get(f"/oauth/callback?state={q['state']}&code={code}").status_code == 303
    web.store.delete_link("alice")
    exchanges = len(web.google.exchanges)
    replay = web.client()
    replay.cookies.update(before)
    again = web.google.issue_code("mallory@example.com")
    r = replay.get(f"/oauth/callback?state={q['state']}&code={again}")
    assert r.status_code == 400
    assert len(web.google.exchanges) == exchanges
    assert web.store.get_link("alice") is None


def test_start_is_a_post_only(web: WebEnv) -> None:
    """`GET /oauth/start` (a link or an image on any site) starts nothing: 405, no state kept,
    so a later callback finds no flow."""
    me = web.signed_in("alice")
    r = me.get("/oauth/start?tasks=1")
    assert r.status_code == 405
    code = web.google.issue_code("mallory@example.com")
    assert me.get(f"/oauth/callback?state=x&code={code}").status_code == 400
    with web.store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM oauth_states"))
        assert kept.scalar() == 0
    assert 'action="/oauth/start"' in me.get("/me").text
    assert 'href="/oauth/start' not in me.get("/me").text


def test_denied_consent_stores_nothing(web: WebEnv) -> None:
    """The user clicking Deny comes back with error=access_denied: told, nothing stored."""
    me = web.signed_in("alice")
    q = _start(me)
    r = me.get(f"/oauth/callback?state={q['state']}&error=access_denied")
    assert r.status_code == 303
    assert web.store.get_link("alice") is None and web.store.get_link("bob") is None
    assert "access_denied" in me.get("/me").text


def test_failed_exchange_is_shown(web: WebEnv) -> None:
    """A code Google refuses is reported on the page, not swallowed."""
    me = web.signed_in("alice")
    q = _start(me)
    me.get(f"/oauth/callback?state={q['state']}&code=unknown")
    assert web.store.get_link("alice") is None and web.store.get_link("bob") is None
    assert "invalid_grant" in me.get("/me").text


def test_start_and_callback_need_a_session(web: WebEnv) -> None:
    """Anonymous callers are sent to sign in (GET) or refused (POST)."""
    client = web.client()
    assert client.get("/oauth/callback?state=x&code=y").status_code == 303
    assert client.post("/oauth/start").status_code in (401, 403)


VTIGER_URI = "http://crm.example.com/index.php?module=GoogleSync&action=AuthCallBack&mode=callback"


def test_a_vtiger_redirect_uri_can_be_kept(web: WebEnv) -> None:
    """An install moving from vtiger's module keeps its registered redirect URI: calsync sends
    it to Google and answers the callback at index.php like /oauth/callback."""
    admin = web.signed_in("admin")
    data = {"client_id": "cid.apps.example", "daily_budget": "100", "redirect_uri": VTIGER_URI}
    assert admin.post("/admin/google", data, page="/admin").status_code == 303
    assert f'value="{VTIGER_URI.replace("&", "&amp;")}"' in admin.get("/admin").text
    me = web.signed_in("alice")
    q = _start(me)
    assert q["redirect_uri"] == VTIGER_URI
    code = web.google.issue_code("alice@example.com")
    r = me.get(
        "/index.php",
        params={
            "module": "GoogleSync",
            "action": "AuthCallBack",
            "mode": "callback",
            "state": q["state"],
            "code": code,
        },
    )
    assert r.status_code == 303
    link = web.store.get_link("alice")
    assert link is not None and link.google_email == "alice@example.com"


def test_index_php_answers_only_the_vtiger_callback(web: WebEnv) -> None:
    """Other index.php requests are not ours: 404."""
    me = web.signed_in("alice")
    assert me.get("/index.php?module=Calendar&action=Index").status_code == 404


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://crm.example.com/oauth/callback",
        "/oauth/callback",
        "https://calsync.example.com/elsewhere",
        "https://crm.example.com/index.php?module=Calendar",
    ],
)
def test_a_redirect_uri_calsync_cannot_answer_is_refused(web: WebEnv, uri: str) -> None:
    """The override must be an absolute URL of a path calsync serves; nothing is stored."""
    admin = web.signed_in("admin")
    data = {"client_id": "cid.apps.example", "daily_budget": "100", "redirect_uri": uri}
    r = admin.post("/admin/google", data, page="/admin")
    assert r.status_code == 400
    assert 'id="redirect_uri-error"' in r.text
    assert web.store.get_setting("web_redirect_uri") is None
