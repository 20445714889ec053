"""What the web app needs from the state store beyond `WebStore`: sessions, sign-in failure
counters (`FailureCounter`, which Redis may serve instead), single-use OAuth states, the health
write probe, abandoning dead runs.

Kept in the state store (not in a process) so every web process sees the same sessions and
counters. `AppStore` is both protocols: the real `calsync.state.Store` fits it as is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from calsync.state.records import UserRecord
from calsync.web.services import WebStore


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

    def check_writable(self, timeout: float = 2.0) -> None:
        """Raise unless the database takes a write within `timeout` seconds."""
        ...

    def abandon_dead_runs(self) -> int:
        """Mark runs left running by a process that is gone as abandoned; return how many."""
        ...


class AppStore(WebStore, AuthStore, Protocol):
    """The whole state store as the web app sees it."""


if TYPE_CHECKING:
    from calsync.state.store import Store

    def _store_fits(store: Store) -> AppStore:
        # mypy checks here that the real Store satisfies the protocol.
        return store
