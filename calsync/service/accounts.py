"""Account actions of one user: the Google link, pause and resume, reset, preferences, and
what the user's page shows.

Public API: `AccountService(store, crm, google, settings)` with
- reads: `user`, `users`, `link_of`, `prefs`, `last_run`, `logs`, `conflicts`, `google_lists`,
  `sync_refusal`, `crm_language`;
- actions: `sign_in_with_crm`, `consent`, `link`, `link_token`, `save_prefs`, `pause`,
  `resume`, `reset`, `disconnect`, `change_password`;
`GoogleLists`, `LinkResult`, `Disconnected`, `UserRow`, `NotConfigured`. `UserBusy` (from the
store) is what `reset` and `disconnect` raise while a round of the user holds its lock.

"Paused" is one thing: the user's `Prefs.paused`. The link's status only says whether Google
still accepts the grant.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from cachetools import TTLCache

from calsync.engine.store import Conflict, LogEntry
from calsync.errors import AdapterError, AuthError, CalsyncError
from calsync.model import utcnow
from calsync.passwords import password_problem
from calsync.prefs import Prefs, PrefsError
from calsync.service.google import AuthorizationRequest, GoogleAccounts, ListEntry
from calsync.service.push import PushService
from calsync.service.rounds import register_crm_user
from calsync.service.settings import AppSettings, SettingsRefused
from calsync.sides.crm import CrmBackend
from calsync.sides.google.oauth import SCOPE_TASKS, scopes_for
from calsync.state.records import GoogleLink, LinkStatus, Role, SyncRun, UserRecord
from calsync.state.store import Store
from calsync.text import N_

_LOGGER = logging.getLogger(__name__)


class NotConfigured(CalsyncError):
    """The administrator has not set up the Google OAuth client yet."""


@dataclass(frozen=True, slots=True)
class GoogleLists:
    """The linked account's calendars and task lists, or why they could not be read."""

    calendars: list[ListEntry] = field(default_factory=list)
    tasklists: list[ListEntry] = field(default_factory=list)
    error: str = ""
    tasks_granted: bool = False
    """The grant covers Google Tasks (asked for only when to-dos are synced)."""

    def calendar_name(self, cal_id: str) -> str:
        """Return the name of calendar `cal_id` (`primary` is the account's own)."""
        for cal in self.calendars:
            if cal.id == cal_id or (cal_id == "primary" and cal.primary):
                return cal.summary
        return N_("Primary calendar") if cal_id == "primary" else cal_id


@dataclass(frozen=True, slots=True)
class LinkResult:
    """A Google account just linked."""

    email: str
    replaced: str | None = None
    """The account linked before, when it was another one."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A Google account just unlinked."""

    email: str
    revoked: bool
    """Google confirmed the revocation; False: the user should remove calsync's access at
    myaccount.google.com/permissions themselves."""


@dataclass(frozen=True, slots=True)
class UserRow:
    """One user as the admin's list shows them."""

    user: UserRecord
    link: GoogleLink | None
    run: SyncRun | None


class AccountService:
    """What a user (or the admin) does to accounts, between the web and everything else."""

    def __init__(
        self,
        store: Store,
        crm: CrmBackend,
        google: GoogleAccounts,
        settings: AppSettings,
        *,
        lock_wait: float = 5.0,
        push: PushService | None = None,
    ) -> None:
        self.store = store
        self.push = push
        """Google's watch channels: stopped on pause and disconnect, opened on resume."""
        self.crm = crm
        self.google = google
        self.settings = settings
        self.lock_wait = lock_wait
        """Seconds `reset` and `disconnect` wait for a running round before UserBusy."""
        # The settings page reads an account's lists a minute at most once; a refused grant
        # or a new link changes the key, so nothing needs invalidating.
        self._lists: TTLCache[Hashable, GoogleLists] = TTLCache(maxsize=1000, ttl=60.0)
        self._lists_lock = threading.Lock()  # TTLCache is not thread-safe

    # -- reads -----------------------------------------------------------------------------

    def user(self, name: str) -> UserRecord | None:
        """Return the calsync user `name`, or None."""
        return self.store.get_user(name)

    def users(self) -> list[UserRow]:
        """Return the users the admin looks after (admins only once they link Google)."""
        rows = []
        for u in self.store.list_users():
            link = self.store.get_link(u.name)
            if u.role != Role.ADMIN or link is not None:
                rows.append(UserRow(u, link, self.store.last_run(u.name)))
        return rows

    def link_of(self, name: str) -> GoogleLink | None:
        """Return the user's Google link, or None."""
        return self.store.get_link(name)

    def prefs(self, name: str) -> Prefs:
        """Return the user's preferences; the defaults when the saved ones are unusable
        (saved before today's limits: `prefs_problem` says so, and saving replaces them)."""
        try:
            return self.store.get_prefs(name)
        except PrefsError:
            return Prefs()

    def prefs_problem(self, name: str) -> str | None:
        """Return why the user's saved preferences cannot be used, or None when they can."""
        try:
            self.store.get_prefs(name)
        except PrefsError as err:
            return N_(
                "Your saved preferences cannot be used (%(reason)s): please save them again.",
                reason=err.message,
            )
        return None

    def last_run(self, name: str) -> SyncRun | None:
        """Return the user's latest round, or None."""
        return self.store.last_run(name)

    def logs(self, name: str, limit: int = 100) -> list[LogEntry]:
        """Return the user's latest log lines, newest first."""
        return self.store.logs(name, limit)

    def conflicts(self, name: str, limit: int = 50) -> list[Conflict]:
        """Return the user's latest conflicts, newest first."""
        return self.store.conflicts(name, limit)

    def sync_refusal(self, name: str) -> str | None:
        """Return why a round of `name` cannot start now, or None when it can."""
        link = self.store.get_link(name)
        if link is None:
            return N_("Connect your Google account first.")
        if link.status is LinkStatus.NEEDS_RECONNECT:
            return N_("Google refused the last sync: reconnect your account first.")
        if self.prefs(name).paused:
            return N_("Sync is paused: resume it first.")
        return None

    def google_lists(self, name: str) -> GoogleLists:
        """Return the linked account's calendars (and task lists when granted).

        Read for the settings page and kept a minute (a token refresh and one or two calls);
        a refused grant marks the link as needing a reconnect.
        """
        link = self.store.get_link(name)
        if link is None or not link.refresh_token or link.status is LinkStatus.NEEDS_RECONNECT:
            return GoogleLists()
        key = (link.user, link.connected_at.isoformat(), link.google_email)
        with self._lists_lock:
            cached = self._lists.get(key)
        if cached is not None:
            return cached
        tasks = SCOPE_TASKS in link.scopes
        client = self.settings.google()
        if not client.client_id or not client.client_secret:
            return GoogleLists(
                error="The administrator has not set up the Google client: calendars cannot"
                " be read.",
                tasks_granted=tasks,
            )
        try:
            calendars = self.google.calendars(client, link.refresh_token)
            tasklists = self.google.tasklists(client, link.refresh_token) if tasks else []
        except AuthError as err:
            self.store.set_link_status(name, LinkStatus.NEEDS_RECONNECT, str(err))
            return GoogleLists(
                error="Google no longer accepts this connection: please reconnect.",
                tasks_granted=tasks,
            )
        except AdapterError as err:
            _LOGGER.info("reading %s's calendar list failed: %s", name, err)
            return GoogleLists(
                error=f"Could not read your calendars from Google: {err}", tasks_granted=tasks
            )
        lists = GoogleLists(calendars, tasklists, tasks_granted=tasks)
        with self._lists_lock:
            self._lists[key] = lists
        return lists

    # -- sign-in and link --------------------------------------------------------------------

    def sign_in_with_crm(self, name: str, secret: str) -> bool:
        """Return True when the CRM accepts `secret` for `name` (registering the user)."""
        if not self.crm.authenticate(name, secret):
            return False
        register_crm_user(self.store, self.crm, name)
        return True

    def crm_language(self, name: str) -> str | None:
        """Return the language the CRM speaks to user `name` (`it_it`), or None when the CRM
        does not know the user or cannot be reached (the page then follows the browser)."""
        try:
            info = self.crm.user(name)
        except Exception as err:  # a language is a nicety: never a reason to fail a sign-in
            _LOGGER.warning("could not read the CRM language of %r: %s", name, err)
            return None
        return info.language if info is not None else None

    def consent(
        self, *, redirect_uri: str, tasks: bool, state: str
    ) -> tuple[AuthorizationRequest, list[str]]:
        """Return the consent request for a new link and the scopes it asks for.

        Raise NotConfigured when the admin has not set up the Google client.
        """
        client = self.settings.google()
        if not client.client_id:
            raise NotConfigured(N_("The administrator has not set up the Google client yet."))
        scopes = scopes_for(tasks)
        req = self.google.consent_request(
            client, redirect_uri=redirect_uri, scopes=scopes, state=state
        )
        return req, scopes

    def link(
        self,
        name: str,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        scopes: Sequence[str] = (),
    ) -> LinkResult:
        """Exchange the consent's code and link `name` to that Google account.

        `scopes` are the ones asked for, kept when Google does not say what it granted.
        Raise AdapterError when Google refuses the code or grants no offline access.
        """
        client = self.settings.google()
        grant = self.google.exchange_code(
            client, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
        if not grant.refresh_token:
            raise AdapterError("Google sent no refresh token (offline access not granted)")
        email = self.google.account_email(client, grant.access_token)
        old = self.store.get_link(name)
        self.store.set_link(name, email, grant.refresh_token, grant.scopes or tuple(scopes))
        self.store.add_log(LogEntry(name, utcnow(), "link", message=f"linked {email}"))
        self.store.commit()
        _LOGGER.info("%s linked Google account %s", name, email)
        self._channels(name)
        replaced = old.google_email if old is not None and old.google_email != email else None
        return LinkResult(email, replaced)

    def link_token(self, name: str, refresh_token: str, email: str = "") -> None:
        """Link `name` with a refresh token obtained elsewhere (`calsync users link`)."""
        if not refresh_token.strip():
            raise AdapterError("the refresh token is empty")
        self.store.set_link(name, email, refresh_token.strip())
        self.store.add_log(
            LogEntry(name, utcnow(), "link", message=N_("linked from the command line"))
        )
        self.store.commit()
        self._channels(name)

    # -- the user's choices ------------------------------------------------------------------

    def save_prefs(self, name: str, prefs: Prefs) -> None:
        """Store the user's preferences (watch channels follow the calendars chosen)."""
        self.store.set_prefs(name, prefs)
        self._channels(name)

    def pause(self, name: str) -> None:
        """Stop rounds of `name` until resumed (a round running now finishes), and the
        user's push channels."""
        self.store.set_prefs(name, self.prefs(name).with_(paused=True))
        self._channels(name)

    def resume(self, name: str) -> None:
        """Let rounds of `name` run again (and Google notify their changes)."""
        self.store.set_prefs(name, self.prefs(name).with_(paused=False))
        self._channels(name)

    def _channels(self, name: str) -> None:
        """Bring the user's push channels in line with their link and preferences now; a
        failure is logged only (the scheduler's next pass tries again)."""
        if self.push is None:
            return
        try:
            self.push.maintain_user(name)
        except Exception:
            _LOGGER.exception("updating the push channels of %s failed", name)

    def reset(self, name: str) -> None:
        """Forget the user's pairs and cursors; the next round re-links items by their ids.

        Done under the user's lock: a round running meanwhile would write back pairs of the
        state being forgotten. UserBusy when a round still holds it after `lock_wait`.
        """
        with self.store.user_lock(name, wait=self.lock_wait):
            self.store.wipe_pairs(name)
            self.store.wipe_cursors(name)
            self.store.add_log(LogEntry(name, utcnow(), "reset", message=N_("sync state reset")))
            self.store.commit()

    def disconnect(self, name: str) -> Disconnected | None:
        """Revoke the grant at Google and forget the link (pairs are kept for a reconnect).

        Return None when no account was linked. Under the user's lock, like `reset`.
        """
        with self.store.user_lock(name, wait=self.lock_wait):
            link = self.store.get_link(name)
            if link is None:
                return None
            if self.push is not None:
                # Before the revocation: stopping a channel needs the grant.
                try:
                    self.push.stop_user(name)
                except Exception:
                    _LOGGER.exception("stopping the push channels of %s failed", name)
            revoked = True
            if link.refresh_token:
                try:
                    self.google.revoke(self.settings.google(), link.refresh_token)
                except AdapterError as err:
                    _LOGGER.warning("revoking %s's token failed: %s", name, err)
                    revoked = False
            self.store.delete_link(name)
        return Disconnected(link.google_email, revoked)

    def change_password(self, name: str, *, current: str, new: str, confirm: str) -> None:
        """Replace the user's calsync password; SettingsRefused (nothing changed) if refused."""
        errors: dict[str, str] = {}
        if not self.store.verify_password(name, current):
            errors["current"] = N_("This is not your current password.")
        if problem := password_problem(new):
            errors["new"] = problem
        elif new != confirm:
            errors["confirm"] = N_("The two new passwords differ.")
        if errors:
            raise SettingsRefused(errors)
        self.store.set_password(name, new)
