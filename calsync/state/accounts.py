"""The store's account part: users, Google links (tokens encrypted), preferences, app settings.

Mixed into `calsync.state.store.Store`; every method is one short committed transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from calsync.passwords import hash_password, needs_rehash, verify_password
from calsync.prefs import Prefs, PrefsError
from calsync.state import tables as t
from calsync.state.base import StoreBase, upsert
from calsync.state.records import (
    GoogleLink,
    LinkStatus,
    Role,
    SettingInfo,
    UnknownUser,
    UserExists,
    UserRecord,
)

KEY_CHECK = "_key_check"
"""Setting holding a known text encrypted with the key, to spot a wrong key at start-up."""
_KEY_CHECK_TEXT = "calsync"


_LINK = sa.select(t.google_links).where(t.google_links.c.user_name == sa.bindparam("u"))
_PREFS = sa.select(t.preferences.c.data).where(t.preferences.c.user_name == sa.bindparam("u"))
_LINK_AND_PREFS = (
    sa.select(t.google_links, t.preferences.c.data.label("prefs"))
    .outerjoin(t.preferences, t.preferences.c.user_name == t.google_links.c.user_name)
    .where(t.google_links.c.user_name == sa.bindparam("u"))
)
"""Built once: every round reads them (building a statement costs more than running it)."""


def user_from_row(row: Any) -> UserRecord:
    """Return the record of a `users` row."""
    return UserRecord(
        name=row.name,
        crm_id=row.crm_id,
        email=row.email,
        time_zone=row.time_zone,
        role=Role(row.role),
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        last_sync_at=row.last_sync_at,
        last_sync_status=row.last_sync_status,
    )


def _prefs(data: Any) -> Prefs:
    """Return the preferences stored as `data` (the defaults when none were saved)."""
    return Prefs.from_dict(data) if data else Prefs()


SETTINGS_REFRESH = 1.0
"""Seconds one read of the settings serves `get_setting` (see there)."""

_SETTINGS = sa.select(t.app_settings.c.key, t.app_settings.c.value, t.app_settings.c.secret)


class AccountsMixin(StoreBase):
    """Users, links, preferences and settings."""

    _settings_seen: tuple[float, dict[str, tuple[str, bool]]] | None = None
    """When the settings were read, and what (`get_setting`)."""

    # -- users ---------------------------------------------------------------------------

    def upsert_user(
        self,
        name: str,
        *,
        crm_id: str | None = None,
        email: str | None = None,
        time_zone: str | None = None,
        role: Role | str | None = None,
    ) -> UserRecord:
        """Create the user `name`, or update the fields given (others are left as they are)."""
        given: dict[str, Any] = {"crm_id": crm_id, "email": email, "time_zone": time_zone}
        if role is not None:
            given["role"] = Role(role).value
        given = {k: v for k, v in given.items() if v is not None}
        with self._tx() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
            if row is None:
                conn.execute(t.users.insert().values(name=name, created_at=self._now(), **given))
            elif given:
                conn.execute(t.users.update().where(t.users.c.name == name).values(**given))
            new = conn.execute(sa.select(t.users).where(t.users.c.name == name)).one()
        return user_from_row(new)

    def create_user(
        self,
        name: str,
        *,
        crm_id: str | None = None,
        email: str = "",
        time_zone: str = "UTC",
        role: Role | str = Role.USER,
        password: str | None = None,
    ) -> UserRecord:
        """Create the user `name`; raise UserExists when there is one already."""
        with self._tx() as conn:
            try:
                conn.execute(
                    t.users.insert().values(
                        name=name,
                        crm_id=crm_id,
                        email=email,
                        time_zone=time_zone,
                        role=Role(role).value,
                        password_hash=hash_password(password) if password is not None else None,
                        created_at=self._now(),
                    )
                )
            except sa.exc.IntegrityError:
                raise UserExists(f"user {name!r} already exists") from None
        user = self.get_user(name)
        assert user is not None
        return user

    def get_user(self, name: str) -> UserRecord | None:
        """Return the user `name`, or None."""
        with self._tx() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
        return user_from_row(row) if row else None

    def list_users(self) -> list[UserRecord]:
        """Return every user, by name."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.name)).all()
        return [user_from_row(r) for r in rows]

    def delete_user(self, name: str) -> None:
        """Forget the user `name` with their link, preferences and web sessions (sync rows
        stay)."""
        with self._tx() as conn:
            for table in (t.google_links, t.preferences, t.web_sessions, t.oauth_states):
                conn.execute(table.delete().where(table.c.user_name == name))
            conn.execute(t.users.delete().where(t.users.c.name == name))

    def set_password_hash(self, name: str, password_hash: str | None) -> None:
        """Store `password_hash` (None: no password sign-in) for the user `name`.

        Every web session of the user ends with the old password: whoever signed in with it
        (or copied a session cookie) must sign in again.
        """
        with self._tx() as conn:
            done = conn.execute(
                t.users.update().where(t.users.c.name == name).values(password_hash=password_hash)
            )
            if done.rowcount == 0:
                raise UnknownUser(name)
            conn.execute(t.web_sessions.delete().where(t.web_sessions.c.user_name == name))

    def set_password(self, name: str, password: str) -> None:
        """Hash `password` (argon2id) and store it for the user `name`."""
        self.set_password_hash(name, hash_password(password))

    def verify_password(self, name: str, password: str) -> bool:
        """Return True when `password` is the user's; a hash with old parameters is renewed."""
        with self._tx() as conn:
            stored = conn.execute(
                sa.select(t.users.c.password_hash).where(t.users.c.name == name)
            ).scalar()
        if not verify_password(stored, password):
            return False
        if stored and needs_rehash(stored):
            # The same password, hashed anew: not a change, so the sessions stay.
            with self._tx() as conn:
                conn.execute(
                    t.users.update()
                    .where(t.users.c.name == name)
                    .values(password_hash=hash_password(password))
                )
        return True

    def _require_user(self, conn: sa.Connection, name: str) -> None:
        if conn.execute(sa.select(t.users.c.name).where(t.users.c.name == name)).first() is None:
            raise UnknownUser(name)

    # -- Google links --------------------------------------------------------------------

    def set_link(
        self, user: str, google_email: str, refresh_token: str, scopes: Sequence[str] | str = ()
    ) -> GoogleLink:
        """Link `user` to a Google account (replacing any link); the token is stored encrypted."""
        scope_text = scopes if isinstance(scopes, str) else " ".join(scopes)
        now = self._now()
        with self._tx() as conn:
            self._require_user(conn, user)
            upsert(
                conn,
                t.google_links,
                {
                    "user_name": user,
                    "google_email": google_email,
                    "refresh_token": self._secrets.encrypt(refresh_token),
                    "scopes": scope_text,
                    "status": LinkStatus.OK.value,
                    "message": "",
                    "connected_at": now,
                    "updated_at": now,
                },
                ["user_name"],
            )
        link = self.get_link(user)
        assert link is not None
        return link

    def get_link(self, user: str) -> GoogleLink | None:
        """Return the user's Google link with the refresh token decrypted, or None."""
        with self._tx() as conn:
            row = conn.execute(_LINK, {"u": user}).first()
        return None if row is None else self._link(row)

    def get_link_and_prefs(self, user: str) -> tuple[GoogleLink | None, Prefs | PrefsError]:
        """Return the user's Google link and preferences, read in one statement (a round
        needs both). Preferences a round cannot use come back as the PrefsError `get_prefs`
        raises; with no link, the preferences are not read (the defaults come back)."""
        with self._tx() as conn:
            row = conn.execute(_LINK_AND_PREFS, {"u": user}).first()
        if row is None:
            return None, Prefs()
        prefs: Prefs | PrefsError
        try:
            prefs = _prefs(row.prefs)
        except PrefsError as err:
            prefs = err
        return self._link(row), prefs

    def _link(self, row: Any) -> GoogleLink:
        return GoogleLink(
            user=row.user_name,
            google_email=row.google_email,
            refresh_token=self._secrets.decrypt(row.refresh_token),
            scopes=tuple(row.scopes.split()),
            status=LinkStatus(row.status),
            message=row.message,
            connected_at=row.connected_at,
            updated_at=row.updated_at,
        )

    def linked_users(self, status: LinkStatus | None = LinkStatus.OK) -> list[str]:
        """Return the names of users with a Google link (in `status`; None: any), sorted."""
        query = sa.select(t.google_links.c.user_name).order_by(t.google_links.c.user_name)
        if status is not None:
            query = query.where(t.google_links.c.status == LinkStatus(status).value)
        with self._tx() as conn:
            return list(conn.execute(query).scalars())

    def set_link_status(self, user: str, status: LinkStatus | str, message: str = "") -> None:
        """Record the link's state (e.g. needs_reconnect after Google refused the token)."""
        values = {"status": LinkStatus(status).value, "message": message}
        self._update_link(user, values)

    def set_refresh_token(self, user: str, refresh_token: str) -> None:
        """Replace the stored refresh token (Google may hand out a new one)."""
        self._update_link(user, {"refresh_token": self._secrets.encrypt(refresh_token)})

    def _update_link(self, user: str, values: dict[str, Any]) -> None:
        with self._tx() as conn:
            done = conn.execute(
                t.google_links.update()
                .where(t.google_links.c.user_name == user)
                .values(updated_at=self._now(), **values)
            )
            if done.rowcount == 0:
                raise UnknownUser(user)

    def delete_link(self, user: str) -> None:
        """Forget the user's Google link (revoking the token at Google is the caller's job)."""
        with self._tx() as conn:
            conn.execute(t.google_links.delete().where(t.google_links.c.user_name == user))

    # -- preferences ---------------------------------------------------------------------

    def get_prefs(self, user: str) -> Prefs:
        """Return the user's preferences (the defaults when none were saved).

        Raise PrefsError when the stored ones are out of today's limits (saved by an older
        version): the caller fails that user's round instead of syncing what they did not choose.
        """
        with self._tx() as conn:
            data = conn.execute(_PREFS, {"u": user}).scalar()
        return _prefs(data)

    def set_prefs(self, user: str, prefs: Prefs) -> None:
        """Save the user's preferences; raise PrefsError (nothing saved) when one is invalid."""
        # Checked again here, whoever built them: nothing a round cannot use is ever stored.
        prefs.check()
        with self._tx() as conn:
            self._require_user(conn, user)
            upsert(
                conn,
                t.preferences,
                {"user_name": user, "data": prefs.to_dict(), "updated_at": self._now()},
                ["user_name"],
            )

    # -- app settings --------------------------------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """Return the setting `key` (decrypted when secret), or `default`.

        Served from one read of every setting, made at most every `SETTINGS_REFRESH` seconds
        (a round asks for several, several times): what another process saves applies within
        that, what this one saves at once.
        """
        now = time.monotonic()
        seen = self._settings_seen
        if seen is None or now - seen[0] >= SETTINGS_REFRESH:
            with self._tx() as conn:
                rows = conn.execute(_SETTINGS).all()
            seen = self._settings_seen = (now, {r.key: (str(r.value), r.secret) for r in rows})
        found = seen[1].get(key)
        if found is None:
            return default
        value, secret = found
        return self._secrets.decrypt(value) if secret else value

    def set_setting(self, key: str, value: str | None, *, secret: bool = False) -> None:
        """Store the setting `key` (encrypted when `secret`); None removes it."""
        try:
            with self._tx() as conn:
                if value is None:
                    conn.execute(t.app_settings.delete().where(t.app_settings.c.key == key))
                    return
                stored = self._secrets.encrypt(value) if secret else value
                upsert(
                    conn,
                    t.app_settings,
                    {"key": key, "value": stored, "secret": secret, "updated_at": self._now()},
                    ["key"],
                )
        finally:
            # After the commit: a read in between would keep the value replaced.
            self._settings_seen = None

    def settings_info(self) -> list[SettingInfo]:
        """Return every setting for the admin page, secret values left out."""
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.app_settings).order_by(t.app_settings.c.key)).all()
        return [
            SettingInfo(r.key, None if r.secret else r.value, bool(r.secret), r.updated_at)
            for r in rows
            if not r.key.startswith("_")
        ]

    def rotate_secrets(self) -> int:
        """Re-encrypt every stored secret under the newest key; return how many were rewritten.

        Run it after putting a new key first in CALSYNC_SECRET_KEY (`new,old`); the old key can
        then be dropped.
        """
        rewritten = 0
        with self._tx() as conn:
            for row in conn.execute(sa.select(t.google_links)).all():
                conn.execute(
                    t.google_links.update()
                    .where(t.google_links.c.user_name == row.user_name)
                    .values(refresh_token=self._secrets.rotate(row.refresh_token))
                )
                rewritten += 1
            secret_rows = conn.execute(
                sa.select(t.app_settings).where(t.app_settings.c.secret == sa.true())
            ).all()
            for row in secret_rows:
                conn.execute(
                    t.app_settings.update()
                    .where(t.app_settings.c.key == row.key)
                    .values(value=self._secrets.rotate(row.value))
                )
                rewritten += 1
        return rewritten

    def check_key(self) -> None:
        """Raise WrongKey when the database's secrets were encrypted with another key.

        On a database with no secrets yet, record a check value for next time.
        """
        with self._tx() as conn:
            row = conn.execute(
                sa.select(t.app_settings.c.value).where(t.app_settings.c.key == KEY_CHECK)
            ).first()
            if row is None:
                upsert(
                    conn,
                    t.app_settings,
                    {
                        "key": KEY_CHECK,
                        "value": self._secrets.encrypt(_KEY_CHECK_TEXT),
                        "secret": True,
                        "updated_at": self._now(),
                    },
                    ["key"],
                )
                return
        self._secrets.decrypt(row.value)
