"""OAuth web flow and refresh-token auth against the Google emulator's OAuth endpoints."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from calsync.errors import AuthError
from calsync.sides.google.auth import RefreshTokenAuth
from calsync.sides.google.endpoints import revoke_url_for
from calsync.sides.google.factory import GoogleSettings, calendar_side
from calsync.sides.google.oauth import (
    SCOPE_TASKS,
    authorization_url,
    exchange_code,
    revoke,
    scopes_for,
)
from tests.sides.google.emulated import CLIENT_ID, CLIENT_SECRET, Google

REDIRECT = "http://127.0.0.1:9/oauth/callback"


def consent(google: Google, url: str, email: str) -> dict[str, str]:
    """Open the emulator's consent page, press Allow for `email`, return the callback query."""
    page = google.client.get(url)
    assert page.status_code == 200
    for form in re.findall(r"<form.*?</form>", page.text, re.S):
        fields = {
            html.unescape(n): html.unescape(v)
            for n, v in re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", form)
        }
        if fields.get("email") == email:
            button = re.search(r"name='decision' value='(\w+)'", form)
            if button:
                fields["decision"] = button.group(1)
            resp = google.client.post(google.url + "/o/oauth2/approve", data=fields)
            assert resp.status_code == 302, resp.text
            query = parse_qs(urlsplit(resp.headers["location"]).query)
            return {k: v[0] for k, v in query.items()}
    raise AssertionError("no consent form for " + email)


def test_web_flow_with_pkce_then_refresh_then_revoke(google: Google) -> None:
    request = authorization_url(
        google.url + "/o/oauth2/auth", CLIENT_ID, REDIRECT, scopes_for(tasks=False)
    )
    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"] and SCOPE_TASKS not in query["scope"][0]

    back = consent(google, request.url, "alice@example.com")
    assert back["state"] == request.state
    token_url = google.url + "/token"
    with pytest.raises(AuthError):  # a wrong verifier is refused
        exchange_code(token_url, CLIENT_ID, CLIENT_SECRET, back["code"], REDIRECT, "x" * 60)
    grant = exchange_code(
        token_url, CLIENT_ID, CLIENT_SECRET, back["code"], REDIRECT, request.code_verifier
    )
    assert grant.refresh_token and grant.access_token and grant.expires_in > 0
    assert set(grant.scopes) == set(scopes_for(tasks=False))

    settings = GoogleSettings(CLIENT_ID, CLIENT_SECRET, api_url=google.url, token_url=token_url)
    side = calendar_side(settings, "alice", grant.refresh_token, key_namespace="acme")
    assert side.changes(None).full  # refreshed through google-auth against the emulator
    assert revoke(revoke_url_for(token_url), grant.refresh_token, CLIENT_ID)
    assert not revoke(revoke_url_for(token_url), grant.refresh_token, CLIENT_ID)
    with pytest.raises(AuthError, match="reconnect"):
        side.changes(None)  # the access token 401s, the refresh gets invalid_grant


def test_revoked_refresh_token_is_auth_error(google: Google) -> None:
    side = google.calendar()
    assert revoke(google.url + "/revoke", google.account["refresh_token"], CLIENT_ID)
    with pytest.raises(AuthError, match="needs reconnecting"):
        side.get("csabcdef")


def test_expired_access_token_is_refreshed_on_401(google: Google) -> None:
    auth = RefreshTokenAuth(
        google.account["refresh_token"],
        CLIENT_ID,
        CLIENT_SECRET,
        google.url + "/token",
        access_token=google.account["access_token"],
    )
    side = google.calendar()
    side.http.auth = auth
    assert side.changes(None).full
    google.control("POST", "clock", {"advance_seconds": 7200})  # Google's clock: token expired
    assert side.changes(None).full
    statuses = [r["status"] for r in google.requests(api_method="calendar.events.list")]
    assert statuses == [200, 401, 200]
    assert auth.get_access_token() != google.account["access_token"]
