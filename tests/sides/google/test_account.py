"""GoogleAccountClient against the emulator: the whole link flow, the lists, revocation, and
which refusals mean "reconnect"."""

from __future__ import annotations

import pytest

from calsync.errors import AdapterError, AuthError
from calsync.sides.google.account import GoogleAccountClient
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.google.oauth import scopes_for
from tests.sides.google.emulated import CLIENT_ID, CLIENT_SECRET, Google
from tests.sides.google.test_google_auth_emulator import REDIRECT, consent


def _client(google: Google, client_id: str = CLIENT_ID) -> GoogleSettings:
    return GoogleSettings(
        client_id,
        CLIENT_SECRET,
        api_url=google.url,
        auth_url=google.url + "/o/oauth2/auth",
        token_url=google.url + "/token",
    )


def _linked(google: Google, accounts: GoogleAccountClient) -> str:
    """Run the consent flow for alice and return the refresh token granted."""
    client = _client(google)
    req = accounts.consent_request(
        client, redirect_uri=REDIRECT, scopes=scopes_for(tasks=True), state="s"
    )
    back = consent(google, req.url, "alice@example.com")
    grant = accounts.exchange_code(
        client, code=back["code"], redirect_uri=REDIRECT, code_verifier=req.code_verifier
    )
    assert grant.refresh_token
    assert accounts.account_email(client, grant.access_token) == "alice@example.com"
    return grant.refresh_token


def test_lists_then_revoke_then_reconnect_needed(google: Google) -> None:
    """The lists of a linked account; once revoked, reading them is an AuthError."""
    accounts = GoogleAccountClient()
    token = _linked(google, accounts)
    calendars = accounts.calendars(_client(google), token)
    assert calendars[0].primary and calendars[0].id == "alice@example.com"
    assert calendars[0].writable
    assert [t.id for t in accounts.tasklists(_client(google), token)]
    accounts.revoke(_client(google), token)
    with pytest.raises(AuthError):
        accounts.calendars(_client(google), token)


def test_a_refused_client_is_not_a_refused_grant(google: Google) -> None:
    """A client id the grant is not for is the admin's problem: AdapterError, not AuthError."""
    accounts = GoogleAccountClient()
    token = _linked(google, accounts)
    with pytest.raises(AdapterError) as caught:
        accounts.calendars(_client(google, "someone-else.apps.example"), token)
    assert not isinstance(caught.value, AuthError)
