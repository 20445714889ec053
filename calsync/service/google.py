"""What the application layer needs of a Google account besides sync rounds.

Public API: `GoogleAccounts`, the protocol: consent URL, code exchange, the account's email,
its calendar and task lists, revocation. `calsync.sides.google.account.GoogleAccountClient`
implements it over HTTP; tests hand in their own. Failures are the error tree's: `AuthError`
only when Google refused the user's grant (the link must be reconnected), any other
`AdapterError` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from calsync.sides.google.account import ListEntry
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.google.oauth import AuthorizationRequest, TokenGrant

__all__ = ["AuthorizationRequest", "GoogleAccounts", "ListEntry", "TokenGrant"]


class GoogleAccounts(Protocol):
    """The OAuth endpoints and account reads, for the OAuth client and endpoints `client`."""

    def consent_request(
        self, client: GoogleSettings, *, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthorizationRequest:
        """Return the consent URL (offline, consent prompt, PKCE S256) and the PKCE verifier."""
        ...

    def exchange_code(
        self, client: GoogleSettings, *, code: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        """Exchange an authorization code for tokens."""
        ...

    def account_email(self, client: GoogleSettings, access_token: str) -> str:
        """Return the email of the account (the id of its primary calendar)."""
        ...

    def calendars(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        """Return the account's calendars, primary first."""
        ...

    def tasklists(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        """Return the account's task lists."""
        ...

    def revoke(self, client: GoogleSettings, token: str) -> None:
        """Revoke a refresh token (the whole grant); an already invalid one counts as revoked."""
        ...
