"""The CRM backends the service can sync with: the embedded calendar and vtiger.

Public API: `CrmBackend` (what the service and web app need of a CRM), `CrmUserInfo`,
`LocalBackend`, `VtigerBackend`, `backend_from_settings`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from calsync.config import Settings
from calsync.errors import AdapterError
from calsync.model import Event, Item, Task
from calsync.quota import Backoff
from calsync.sides.base import Side
from calsync.sides.local.crm import LocalCrm
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.feed import ApplicationFeed
from calsync.sides.vtiger.links import SeriesTables
from calsync.sides.vtiger.mapping import VTIGER_IGNORED_FIELDS, stored_item
from calsync.sides.vtiger.side import VtigerEventsSide, VtigerTasksSide, stored_text

_LOGGER = logging.getLogger(__name__)

_SIGN_IN_BACKOFF = Backoff(base=0.5, cap=30.0, max_tries=2)
"""A sign-in waits for one retry of a failed call, not for five."""


@dataclass(frozen=True, slots=True)
class CrmUserInfo:
    """A CRM user as the service needs it."""

    name: str
    crm_id: str
    time_zone: str
    email: str = ""
    is_admin: bool = False
    language: str = "en_us"
    """The language the CRM speaks to the user, vtiger-style (`en_us`, `it_it`)."""


class CrmBackend(Protocol):
    """One CRM instance: its users, their calendars as Sides, and sign-in checks."""

    kind: str
    """`local` or `vtiger`."""
    namespace: str
    """Names this CRM instance in link keys stored on Google, so two CRMs never collide."""
    blind_fields: frozenset[str]
    """Event fields this CRM cannot hold; a CRM edit leaves them as they are on Google."""
    holds_series: bool
    """True when the CRM stores a recurring event as one record with its rule; False when it
    stores one record per occurrence (vtiger), so Google series arrive occurrence by
    occurrence."""
    degrade_text: Callable[[str], str] | None
    """What the CRM makes of the text it stores, when it cannot hold every character (vtiger:
    emoji become `??`); None when it keeps text as given."""
    store_item: Callable[[Item], Item] | None
    """What the CRM makes of an item it stores, when it holds some fields lossily (vtiger: one
    reminder, in its own minutes); None when it keeps items as given."""

    def users(self) -> list[CrmUserInfo]:
        """Return the CRM's users."""
        ...

    def user(self, name: str) -> CrmUserInfo | None:
        """Return the CRM user `name`, or None."""
        ...

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        """Return the user's CRM events as a Side."""
        ...

    def tasks_side(self, user: CrmUserInfo) -> Side[Task]:
        """Return the user's CRM to-dos as a Side."""
        ...

    def authenticate(self, name: str, secret: str) -> bool:
        """Return True when `secret` is the user's CRM password (local) or access key (vtiger)."""
        ...

    def check(self) -> str:
        """Return a one-line description of the connection; raise AdapterError when it fails."""
        ...

    def begin_round(self) -> None:
        """Start a round over several users (a CRM may read its change feed once for all)."""
        ...


class LocalBackend:
    """The embedded CRM calendar (SQLite)."""

    kind = "local"
    blind_fields: frozenset[str] = frozenset()
    holds_series = True
    degrade_text: Callable[[str], str] | None = None
    store_item: Callable[[Item], Item] | None = None

    def __init__(self, crm: LocalCrm, namespace: str = "local") -> None:
        self.crm = crm
        self.namespace = namespace

    def users(self) -> list[CrmUserInfo]:
        return [
            CrmUserInfo(u.name, u.id, u.time_zone, u.email, u.is_admin, u.language)
            for u in self.crm.list_users()
        ]

    def user(self, name: str) -> CrmUserInfo | None:
        u = self.crm.get_user(name)
        if u is None:
            return None
        return CrmUserInfo(u.name, u.id, u.time_zone, u.email, u.is_admin, u.language)

    # `user` was read from this CRM (`user()`): a round looks its user up once.
    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        return self.crm.events_side(user.name, known=True)

    def tasks_side(self, user: CrmUserInfo) -> Side[Task]:
        return self.crm.tasks_side(user.name, known=True)

    def authenticate(self, name: str, secret: str) -> bool:
        # No shortcut for unknown names: the check hashes against a dummy hash, so the time
        # taken does not tell which CRM users exist.
        return self.crm.verify_password(name, secret)

    def check(self) -> str:
        return f"embedded CRM with {len(self.crm.list_users())} users"

    def begin_round(self) -> None:
        """Nothing to prepare: each user's changes are read from the local database."""


class VtigerBackend:
    """A vtiger instance reached through webservice.php with one admin access key."""

    kind = "vtiger"
    blind_fields = VTIGER_IGNORED_FIELDS
    holds_series = False  # vtiger keeps one Events record per occurrence, no rule

    def __init__(
        self, url: str, admin_user: str, access_key: str, db_url: str | None = None
    ) -> None:
        self.url = url
        # vtiger's series tables, read only, when an admin gives calsync its database.
        self.tables = SeriesTables(db_url) if db_url else None
        # The stock installer's database is 3-byte utf8. Comparing with what it would keep is
        # harmless on a utf8mb4 one, where such damage never appears.
        self.degrade_text: Callable[[str], str] | None = stored_text
        # One reminder per event, in minutes read back from seconds: Google's others stay.
        self.store_item: Callable[[Item], Item] | None = stored_item
        self.client = VtigerClient(url, admin_user, access_key)
        # With the admin key, one application-wide `sync` read serves every user per round.
        self.feed = ApplicationFeed(self.client)
        self._users: list[CrmUserInfo] | None = None
        """Users read once per round (every user's round looks itself up)."""
        self.namespace = "vtiger:" + url.rstrip("/").removesuffix("/webservice.php")

    def users(self) -> list[CrmUserInfo]:
        if self._users is None:
            self._users = self._read_users()
        return list(self._users)

    def _read_users(self) -> list[CrmUserInfo]:
        rows = self.client.users()
        return [
            CrmUserInfo(
                name=str(r["user_name"]),
                crm_id=str(r["id"]),
                time_zone=str(r.get("time_zone") or "UTC"),
                email=str(r.get("email1") or ""),
                is_admin=str(r.get("is_admin", "off")) == "on",
                language=str(r.get("language") or "en_us"),
            )
            for r in rows
        ]

    def user(self, name: str) -> CrmUserInfo | None:
        found = next((u for u in self.users() if u.name == name), None)
        if found is None and self._users is not None:
            self._users = None  # a user added in vtiger since the list was read
            found = next((u for u in self.users() if u.name == name), None)
        return found

    def events_side(self, user: CrmUserInfo) -> Side[Event]:
        return VtigerEventsSide(
            self.client, user.crm_id, user.time_zone, feed=self.feed, tables=self.tables
        )

    def tasks_side(self, user: CrmUserInfo) -> Side[Task]:
        return VtigerTasksSide(self.client, user.crm_id, user.time_zone, feed=self.feed)

    def authenticate(self, name: str, secret: str) -> bool:
        # A CRM user signs in with their own access key: a successful webservice login proves it.
        try:
            VtigerClient(self.url, name, secret, backoff=_SIGN_IN_BACKOFF).login()
        except AdapterError as err:
            _LOGGER.info("vtiger sign-in of %s refused: %s", name, err)
            return False
        return True

    def begin_round(self) -> None:
        self.feed.new_round()
        self._users = None

    def check(self) -> str:
        self.client.login()
        return f"vtiger {self.client.profile.get('vtigerVersion', '?')} at {self.url}"


def backend_from_settings(settings: Settings) -> CrmBackend:
    """Return the CRM backend the settings name (`CALSYNC_CRM`)."""
    if settings.crm == "vtiger":
        if not (settings.vtiger_url and settings.vtiger_user and settings.vtiger_access_key):
            raise AdapterError(
                "CALSYNC_CRM=vtiger needs CALSYNC_VTIGER_URL, CALSYNC_VTIGER_USER and "
                "CALSYNC_VTIGER_ACCESS_KEY"
            )
        return VtigerBackend(
            settings.vtiger_url,
            settings.vtiger_user,
            settings.vtiger_access_key.get_secret_value(),
            settings.vtiger_db_url.get_secret_value() if settings.vtiger_db_url else None,
        )
    return LocalBackend(LocalCrm(settings.local_crm_url))
