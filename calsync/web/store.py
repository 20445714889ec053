"""What sign-in needs of the state store: users, passwords, the session key setting.

Sign-in (`routes/auth.py`, `security.py`, `deps.py`) reads users and passwords directly;
everything else the web app does goes through `calsync.service`. The real `Store` fits.
"""

from __future__ import annotations

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


if TYPE_CHECKING:
    from calsync.state.store import Store

    def _store_fits(store: Store) -> WebStore:
        # mypy checks here that the real Store satisfies the protocol.
        return store
