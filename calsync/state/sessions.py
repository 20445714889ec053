"""The store's sign-in part: web sessions, failed sign-ins per (name, address), OAuth states.

Kept in the state database so every web process sees the same sessions and counters, and so
a session or an OAuth `state` can be ended on the server, not only forgotten by a browser.
Tokens are stored as their sha256: a copy of the database opens no session.

Mixed into `calsync.state.store.Store`; every method is one short committed transaction.
Public API: `SessionsMixin`, `token_hash`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from calsync.state import tables as t
from calsync.state.accounts import user_from_row
from calsync.state.base import StoreBase, insert_new, upsert
from calsync.state.records import UserRecord

SEEN_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (not on every request)."""


def token_hash(token: str) -> str:
    """Return the sha256 (hex) under which a session token or OAuth state is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionsMixin(StoreBase):
    """Web sessions, sign-in failure counters and single-use OAuth states."""

    # -- sessions ------------------------------------------------------------------------

    def create_session(self, user: str, lifetime: timedelta) -> str:
        """Open a session for `user` lasting at most `lifetime`; return its token."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._tx() as conn:
            # Expired sessions are dropped here, so the table never outgrows the live ones.
            conn.execute(t.web_sessions.delete().where(t.web_sessions.c.expires_at <= now))
            conn.execute(
                t.web_sessions.insert().values(
                    token_hash=token_hash(token),
                    user_name=user,
                    created_at=now,
                    seen_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    def session_user(self, token: str, idle: timedelta) -> UserRecord | None:
        """Return the user of a live session (used within `idle`, not expired), or None."""
        now = self._now()
        key = token_hash(token)
        with self._tx() as conn:
            row = conn.execute(
                sa.select(t.users, t.web_sessions.c.seen_at)
                .join(t.web_sessions, t.web_sessions.c.user_name == t.users.c.name)
                .where(
                    t.web_sessions.c.token_hash == key,
                    t.web_sessions.c.expires_at > now,
                    t.web_sessions.c.seen_at > now - idle,
                )
            ).first()
            if row is None:
                return None
            if row.seen_at <= now - SEEN_EVERY:
                conn.execute(
                    t.web_sessions.update()
                    .where(t.web_sessions.c.token_hash == key)
                    .values(seen_at=now)
                )
        return user_from_row(row)

    def end_session(self, token: str) -> None:
        """End one session (signing out)."""
        with self._tx() as conn:
            conn.execute(
                t.web_sessions.delete().where(t.web_sessions.c.token_hash == token_hash(token))
            )

    def end_sessions(self, user: str) -> int:
        """End every session of `user`; return how many were open."""
        with self._tx() as conn:
            ended = conn.execute(
                t.web_sessions.delete().where(t.web_sessions.c.user_name == user)
            ).rowcount
        return int(ended)

    # -- failed sign-ins -----------------------------------------------------------------

    def add_login_failure(self, name: str, address: str, forget: timedelta) -> int:
        """Count one failed sign-in for (`name`, `address`); return the failures counted.

        Failures whose last one is older than `forget` are forgotten first.
        """
        now = self._now()
        with self._tx() as conn:
            conn.execute(
                t.login_failures.delete().where(
                    t.login_failures.c.name == name,
                    t.login_failures.c.address == address,
                    t.login_failures.c.last_at <= now - forget,
                )
            )
            counted = upsert(
                conn,
                t.login_failures,
                {"name": name, "address": address, "failures": 1, "last_at": now},
                ["name", "address"],
                increment="failures",
            ).scalar_one()
        return int(counted)

    def login_failures(
        self, name: str, address: str, forget: timedelta
    ) -> tuple[int, datetime] | None:
        """Return (failures, time of the last one) for (`name`, `address`), or None."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(t.login_failures.c.failures, t.login_failures.c.last_at).where(
                    t.login_failures.c.name == name,
                    t.login_failures.c.address == address,
                    t.login_failures.c.last_at > self._now() - forget,
                )
            ).first()
        return (int(row.failures), row.last_at) if row else None

    def add_login_failure_if(
        self, name: str, address: str, expected: int, forget: timedelta
    ) -> bool:
        """Count one failure for (`name`, `address`) only if `expected` are counted now
        (0: none, or forgotten); return False, counting nothing, when another got there first.

        A compare-and-set in one statement, so attempts racing in several processes cannot
        all pass a check made before any of them was counted.
        """
        now = self._now()
        with self._tx() as conn:
            if expected == 0:
                conn.execute(
                    t.login_failures.delete().where(
                        t.login_failures.c.name == name,
                        t.login_failures.c.address == address,
                        t.login_failures.c.last_at <= now - forget,
                    )
                )
        with self._tx() as conn:
            if expected == 0:
                # Inserted only where no row is: of two first attempts, one inserts.
                stmt = insert_new(
                    conn,
                    t.login_failures,
                    {"name": name, "address": address, "failures": 1, "last_at": now},
                    ["name", "address"],
                )
                return conn.execute(stmt.returning(t.login_failures.c.name)).first() is not None
            done = conn.execute(
                t.login_failures.update()
                .where(
                    t.login_failures.c.name == name,
                    t.login_failures.c.address == address,
                    t.login_failures.c.failures == expected,
                    t.login_failures.c.last_at > now - forget,
                )
                .values(failures=expected + 1, last_at=now)
            )
        return int(done.rowcount) == 1

    def clear_login_failures(self, name: str, address: str) -> None:
        """Forget the failures of (`name`, `address`) (after a good sign-in)."""
        with self._tx() as conn:
            conn.execute(
                t.login_failures.delete().where(
                    t.login_failures.c.name == name, t.login_failures.c.address == address
                )
            )

    # -- OAuth states --------------------------------------------------------------------

    def add_oauth_state(self, state: str, user: str, lifetime: timedelta) -> None:
        """Remember an OAuth `state` issued to `user`, usable once within `lifetime`."""
        now = self._now()
        with self._tx() as conn:
            conn.execute(t.oauth_states.delete().where(t.oauth_states.c.expires_at <= now))
            conn.execute(
                t.oauth_states.insert().values(
                    state_hash=token_hash(state), user_name=user, expires_at=now + lifetime
                )
            )

    def consume_oauth_state(self, state: str, user: str) -> bool:
        """Use up `user`'s live OAuth `state`; return False if it was never issued or used."""
        with self._tx() as conn:
            used = conn.execute(
                t.oauth_states.delete().where(
                    t.oauth_states.c.state_hash == token_hash(state),
                    t.oauth_states.c.user_name == user,
                    t.oauth_states.c.expires_at > self._now(),
                )
            ).rowcount
        # One DELETE decides: of two callbacks racing with one state, only one deletes the row.
        return used == 1
