"""OAuth2: consent page, code exchange with PKCE, refresh-token issuance rules, refresh,
revoke, tokeninfo; also through google-auth-oauthlib's Flow."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from google.auth.transport.requests import Request
from google_auth_oauthlib.flow import Flow

from .conftest import CLIENT_ID, CLIENT_SECRET, Emu

REDIRECT = "http://127.0.0.1:9/callback"
CAL_SCOPE = "https://www.googleapis.com/auth/calendar"
TASKS_SCOPE = "https://www.googleapis.com/auth/tasks"


def _forms(page: str) -> list[dict[str, str]]:
    """Return each form of the consent page as its submitted fields."""
    out = []
    for body in re.findall(r"<form[^>]*>(.*?)</form>", page, flags=re.S):
        fields = {
            html.unescape(n): html.unescape(v)
            for n, v in re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", body)
        }
        button = re.search(r"<button[^>]*name='decision' value='(\w+)'", body)
        if button:
            fields["decision"] = button.group(1)
        out.append(fields)
    return out


def _consent(
    emu: Emu, auth_url: str, email: str | None = "alice@example.com", deny: bool = False
) -> dict[str, str]:
    """Open the consent page, press Allow for `email` (or Deny); return the redirect's query."""
    page = emu.http.get(auth_url)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    forms = _forms(page.text)
    if deny:
        chosen = next(f for f in forms if f.get("decision") == "deny")
    else:
        chosen = next(f for f in forms if f.get("email") == email)
    resp = emu.http.post("/o/oauth2/approve", data=chosen)
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _auth_url(emu: Emu, **params: str) -> str:
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": f"{CAL_SCOPE} {TASKS_SCOPE}",
        "state": "st-1",
        "access_type": "offline",
        **params,
    }
    return emu.url + "/o/oauth2/auth?" + urlencode(query)


def _pkce(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _token(emu: Emu, **fields: str) -> httpx.Response:
    return emu.http.post(
        "/token", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
    )


def test_consent_page_lists_accounts_with_allow(emu: Emu, alice: dict[str, Any]) -> None:
    emu.account("bob@example.com")
    page = emu.http.get(_auth_url(emu)).text
    emails = [f.get("email") for f in _forms(page) if f.get("decision") == "allow"]
    assert "alice@example.com" in emails and "bob@example.com" in emails
    assert any(f.get("decision") == "deny" for f in _forms(page))
    bad = emu.http.get(emu.url + "/o/oauth2/auth?client_id=x")
    assert bad.status_code == 400


def test_deny_redirects_with_access_denied(emu: Emu, alice: dict[str, Any]) -> None:
    assert _consent(emu, _auth_url(emu), deny=True) == {"error": "access_denied", "state": "st-1"}


def test_code_pkce_s256_refresh_and_revoke(emu: Emu, alice: dict[str, Any]) -> None:
    verifier = "v" * 64
    got = _consent(
        emu, _auth_url(emu, code_challenge=_pkce(verifier), code_challenge_method="S256")
    )
    assert got["state"] == "st-1" and got["scope"] == f"{CAL_SCOPE} {TASKS_SCOPE}"
    wrong = _token(
        emu,
        grant_type="authorization_code",
        code=got["code"],
        redirect_uri=REDIRECT,
        code_verifier="x" * 64,
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    ok = _token(
        emu,
        grant_type="authorization_code",
        code=got["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert ok.status_code == 200, ok.text
    tok = ok.json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    assert tok["refresh_token"] and tok["access_token"].startswith("ya29.")
    reused = _token(
        emu,
        grant_type="authorization_code",
        code=got["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert reused.json()["error"] == "invalid_grant"
    api = httpx.Client(
        base_url=emu.url,
        transport=emu.transport,
        headers={"Authorization": "Bearer " + tok["access_token"]},
    )
    assert api.get("/calendar/v3/users/me/calendarList").status_code == 200
    info = emu.http.get("/tokeninfo", params={"access_token": tok["access_token"]}).json()
    assert info["email"] == "alice@example.com" and info["aud"] == CLIENT_ID
    assert info["scope"] == f"{CAL_SCOPE} {TASKS_SCOPE}"
    refreshed = _token(emu, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    assert refreshed.json()["access_token"] != tok["access_token"]
    assert emu.http.post("/revoke", data={"token": tok["refresh_token"]}).status_code == 200
    assert api.get("/calendar/v3/users/me/calendarList").status_code == 401
    dead = _token(emu, grant_type="refresh_token", refresh_token=tok["refresh_token"])
    assert dead.status_code == 400
    assert dead.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert emu.http.post("/revoke", params={"token": tok["refresh_token"]}).status_code == 400
    assert (
        emu.http.get("/tokeninfo", params={"access_token": tok["access_token"]}).status_code == 400
    )


def test_pkce_plain_and_missing_verifier(emu: Emu, alice: dict[str, Any]) -> None:
    got = _consent(
        emu,
        _auth_url(emu, code_challenge="plain-verifier-" + "x" * 40, code_challenge_method="plain"),
    )
    missing = _token(emu, grant_type="authorization_code", code=got["code"], redirect_uri=REDIRECT)
    assert missing.json()["error"] == "invalid_grant"
    ok = _token(
        emu,
        grant_type="authorization_code",
        code=got["code"],
        redirect_uri=REDIRECT,
        code_verifier="plain-verifier-" + "x" * 40,
    )
    assert ok.status_code == 200


def test_refresh_token_only_on_first_offline_consent(emu: Emu, alice: dict[str, Any]) -> None:
    def exchange(**params: str) -> dict[str, Any]:
        got = _consent(emu, _auth_url(emu, **params))
        resp = _token(emu, grant_type="authorization_code", code=got["code"], redirect_uri=REDIRECT)
        assert resp.status_code == 200
        return resp.json()  # type: ignore[no-any-return]

    assert "refresh_token" not in exchange(access_type="online")
    first = exchange()
    assert "refresh_token" in first
    assert "refresh_token" not in exchange()
    forced = exchange(prompt="consent")
    assert forced["refresh_token"] != first["refresh_token"]
    # The earlier refresh token keeps working (Google keeps up to ~100 per client and user).
    still = _token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert still.status_code == 200


def test_token_endpoint_errors(emu: Emu, alice: dict[str, Any]) -> None:
    assert _token(emu).json()["error"] == "invalid_request"
    assert _token(emu, grant_type="password").json()["error"] == "unsupported_grant_type"
    bad = _token(emu, grant_type="authorization_code", code="4/nope", redirect_uri=REDIRECT)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    unknown = _token(emu, grant_type="refresh_token", refresh_token="1//nope")
    assert unknown.json()["error"] == "invalid_grant"


def test_google_auth_oauthlib_flow(
    emu: Emu, alice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    config = {
        "installed": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auth_uri": emu.url + "/o/oauth2/auth",
            "token_uri": emu.url + "/token",
            "redirect_uris": [REDIRECT],
        }
    }
    flow = Flow.from_client_config(config, scopes=[CAL_SCOPE, TASKS_SCOPE], redirect_uri=REDIRECT)
    auth_url, state = flow.authorization_url(prompt="consent")
    assert "code_challenge_method=S256" in auth_url
    got = _consent(emu, auth_url)
    assert got["state"] == state
    flow.fetch_token(code=got["code"])
    creds = flow.credentials
    assert creds.refresh_token and creds.token
    from googleapiclient.discovery import build

    cal = build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        client_options={"api_endpoint": emu.url + "/calendar/v3/"},
    )
    assert cal.calendarList().list().execute()["items"][0]["id"] == "alice@example.com"
    old = creds.token
    creds.refresh(Request())
    assert creds.token != old
    assert emu.http.post("/revoke", data={"token": creds.token}).status_code == 200
    from google.auth.exceptions import RefreshError

    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(Request())
