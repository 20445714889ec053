"""What sign-in needs of the state store: users, passwords, the session key setting
(`WebStore`); sessions, failed sign-ins (`FailureCounter`, which Redis may serve instead),
single-use OAuth states and abandoning dead runs at start-up (`AuthStore`).

Sign-in (`routes/auth.py`, `security.py`, `deps.py`) and the OAuth state check use these
directly; everything else the web app does goes through `calsync.service`. Kept in the state
store, not in a process, so every web process sees the same sessions and counters. The real
`Store` fits `AppStore`, which is both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from calsync.state.records import Role, UserRecord

SESSION_KEY_SETTING = "_web_session_key"


class WebStore(Protocol):
    """The users and settings part of `calsync.state.Store` that sign-in uses."""

    def get_user(self, name: str) -> UserRecord | None:
        """Return the user `name`, or None."""
        ...

    def list_users(self) -> list[UserRecord]:
        """Return every user, by name."""
        ...

    def upsert_user(
        self,
        name: str,
        *,
        crm_id: str | None = None,
        email: str | None = None,
        time_zone: str | None = None,
        role: Role | str | None = None,
    ) -> UserRecord:
        """Create the user `name`, or update the fields given."""
        ...

    def set_password(self, name: str, password: str) -> None:
        """Hash and store the user's password."""
        ...

    def verify_password(self, name: str, password: str) -> bool:
        """Return True when `password` is the user's."""
        ...

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """Return an app setting (decrypted when secret), or `default`."""
        ...

    def set_setting(self, key: str, value: str | None, *, secret: bool = False) -> None:
        """Store an app setting, encrypted when `secret`; None removes it."""
        ...


class FailureCounter(Protocol):
    """Failed sign-ins per (name, address), shared by every web process: the state store, or
    Redis when configured (`calsync.web.redis_counter`)."""

    def add_login_failure(self, name: str, address: str, forget: timedelta) -> int:
        """Count one failed sign-in for (`name`, `address`); return the failures counted.

        Failures whose last one is older than `forget` are forgotten.
        """
        ...

    def login_failures(
        self, name: str, address: str, forget: timedelta
    ) -> tuple[int, datetime] | None:
        """Return (failures, time of the last one) for (`name`, `address`), or None."""
        ...

    def add_login_failure_if(
        self, name: str, address: str, expected: int, forget: timedelta
    ) -> bool:
        """Count one failure for (`name`, `address`) only if `expected` are counted now
        (0: none, or forgotten); return False, counting nothing, when another got there first.
        """
        ...

    def clear_login_failures(self, name: str, address: str) -> None:
        """Forget the failures of (`name`, `address`)."""
        ...


class AuthStore(FailureCounter, Protocol):
    """Sessions, failed sign-ins, OAuth states and the checks the app runs on the database."""

    def create_session(self, user: str, lifetime: timedelta) -> str:
        """Open a session for `user` lasting at most `lifetime`; return its token."""
        ...

    def session_user(self, token: str, idle: timedelta) -> UserRecord | None:
        """Return the user of a live session (used within `idle`, not expired), or None."""
        ...

    def end_session(self, token: str) -> None:
        """End one session."""
        ...

    def end_sessions(self, user: str) -> int:
        """End every session of `user`; return how many were open."""
        ...

    def add_oauth_state(self, state: str, user: str, lifetime: timedelta) -> None:
        """Remember an OAuth `state` issued to `user`, usable once within `lifetime`."""
        ...

    def consume_oauth_state(self, state: str, user: str) -> bool:
        """Use up `user`'s live OAuth `state`; return False if it was never issued or used."""
        ...

    def abandon_dead_runs(self) -> int:
        """Mark runs left running by a process that is gone as abandoned; return how many."""
        ...


class AppStore(WebStore, AuthStore, Protocol):
    """The whole state store as the web app sees it."""


if TYPE_CHECKING:
    from calsync.state.store import Store

    def _store_fits(store: Store) -> AppStore:
        # mypy checks here that the real Store satisfies the protocols.
        return store
