"""Accounts of the emulator: each gets a primary calendar (id = email), a default task list and
a grant with every scope, so tests can call the APIs at once."""

from __future__ import annotations

from calsync.emulators.google import oauth
from calsync.emulators.google.calendar import new_calendar
from calsync.emulators.google.store import Account, Json, Store
from calsync.emulators.google.tasks import new_tasklist


def ensure_account(store: Store, email: str, time_zone: str = "UTC") -> Account:
    """Return the account `email`, creating it with its calendar and task list if needed."""
    account = store.accounts.get(email)
    if account is not None:
        return account
    account = Account(email=email, time_zone=time_zone)
    store.accounts[email] = account
    new_calendar(store, email, email, time_zone, cal_id=email, primary=True)
    account.default_tasklist = new_tasklist(store, email, "My Tasks").res["id"]
    store.touch("account", email)
    return account


def issue_tokens(store: Store, email: str, scopes: list[str] | None = None) -> Json:
    """Return a fresh `{email, refresh_token, access_token}` for `email` (a new grant)."""
    grant = oauth.new_grant(store, email, None, scopes or list(oauth.ALL_SCOPES), refresh=True)
    tok = oauth.new_access_token(store, grant)
    return {"email": email, "refresh_token": grant.refresh_token, "access_token": tok.token}
