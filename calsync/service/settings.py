"""The administrator's settings: the Google OAuth client, the redirect URI, the daily budgets,
the CRM connection.

Public API: `AppSettings(store, config, crm)` with `google()` (the client in force now: admin
page values over `CALSYNC_*` values), `daily_budget()`, `budgets()`, `save_budgets()`,
`google_client()`, `redirect_uri()`, `save_google_client()`, `crm()`, `test_crm()`,
`calls_today()`, `database_ok()`;
`check_redirect_uri`, `VTIGER_CALLBACK`; `GoogleClientView`, `CrmView`; `SettingsRefused`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from calsync.config import Settings
from calsync.errors import CalsyncError
from calsync.quota import Api, Limits, quota_day
from calsync.sides.crm import CrmBackend
from calsync.sides.google.factory import GoogleSettings
from calsync.state.records import SettingKey
from calsync.state.store import Store
from calsync.text import N_

_LOGGER = logging.getLogger(__name__)

VTIGER_CALLBACK = {"module": "GoogleSync", "action": "AuthCallBack"}
"""The query of vtiger's Google module callback (`index.php?module=GoogleSync&...`): installs
that registered it with Google may keep it as calsync's redirect URI."""


class SettingsRefused(CalsyncError):
    """Some values were refused; nothing was stored. `errors` names each field's problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class GoogleClientView:
    """The Google client settings as the admin page shows them (never the secret itself)."""

    client_id: str
    secret_stored: bool
    daily_budget: int
    redirect_uri: str
    """The admin's redirect URI override, or empty for `<base>/oauth/callback`."""


@dataclass(frozen=True, slots=True)
class CrmView:
    """Which CRM calsync syncs with."""

    kind: str
    url: str
    user: str


def check_redirect_uri(text: str) -> str | None:
    """Return why `text` cannot be the redirect URI, or None when calsync can serve it."""
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.netloc or any(c.isspace() for c in text):
        return N_("An absolute http(s) URL, e.g. https://calsync.example.com/oauth/callback.")
    if url.fragment:
        return N_("A redirect URI has no #fragment.")
    query = dict(parse_qsl(url.query))
    if url.path.endswith("/oauth/callback") and not url.query:
        return None
    if url.path.endswith("/index.php") and all(
        query.get(k) == v for k, v in VTIGER_CALLBACK.items()
    ):
        return None
    return (
        "calsync answers at <base>/oauth/callback, or at vtiger's"
        " index.php?module=GoogleSync&action=AuthCallBack&mode=callback."
    )


class AppSettings:
    """Settings stored by the admin page, over the configuration's defaults."""

    def __init__(self, store: Store, config: Settings, crm: CrmBackend) -> None:
        self.store = store
        self.config = config
        self._crm = crm

    def google(self) -> GoogleSettings:
        """Return the Google OAuth client and endpoints in force now."""
        secret_env = self.config.google_client_secret
        return GoogleSettings(
            client_id=self.store.get_setting(SettingKey.GOOGLE_CLIENT_ID)
            or self.config.google_client_id
            or "",
            client_secret=self.store.get_setting(SettingKey.GOOGLE_CLIENT_SECRET)
            or (secret_env.get_secret_value() if secret_env else ""),
            api_url=self.config.google_api_url,
            auth_url=self.config.google_auth_url,
            token_url=self.config.google_token_url,
            batch_size=self.config.google_batch_size,
        )

    def daily_budget(self) -> int:
        """Return the Calendar API calls the whole project may make per day."""
        return self._budget(SettingKey.GOOGLE_DAILY_BUDGET, self.config.google_daily_budget)

    def _budget(self, key: SettingKey, default: int) -> int:
        stored = self.store.get_setting(key)
        return int(stored) if stored else default

    def budgets(self) -> dict[Api, Limits]:
        """Return each API's daily budgets in force now (admin page values over `CALSYNC_*`)."""
        cfg = self.config
        return {
            Api.CALENDAR: Limits(
                project=self.daily_budget(),
                user=self._budget(
                    SettingKey.GOOGLE_USER_DAILY_BUDGET, cfg.google_user_daily_budget
                ),
            ),
            Api.TASKS: Limits(
                project=self._budget(
                    SettingKey.GOOGLE_TASKS_DAILY_BUDGET, cfg.google_tasks_daily_budget
                ),
                user=self._budget(
                    SettingKey.GOOGLE_TASKS_USER_DAILY_BUDGET, cfg.google_tasks_user_daily_budget
                ),
            ),
        }

    def save_budgets(
        self, *, calendar: str, calendar_user: str, tasks: str, tasks_user: str
    ) -> None:
        """Store the four daily budgets (whole numbers, 1 or more); SettingsRefused stores
        nothing. A user's budget above its project's can never be reached and is refused."""
        given = {
            "calendar": (SettingKey.GOOGLE_DAILY_BUDGET, calendar),
            "calendar_user": (SettingKey.GOOGLE_USER_DAILY_BUDGET, calendar_user),
            "tasks": (SettingKey.GOOGLE_TASKS_DAILY_BUDGET, tasks),
            "tasks_user": (SettingKey.GOOGLE_TASKS_USER_DAILY_BUDGET, tasks_user),
        }
        errors: dict[str, str] = {}
        values: dict[str, int] = {}
        for field, (_key, text) in given.items():
            value = int(text.strip()) if text.strip().isdecimal() else 0
            if value < 1:
                errors[field] = N_("A daily budget is a whole number of API calls, 1 or more.")
            values[field] = value
        for api in ("calendar", "tasks"):
            user_field = f"{api}_user"
            if api in errors or user_field in errors:
                continue
            if values[user_field] > values[api]:
                errors[user_field] = N_("A user's budget is at most the project's.")
        if errors:
            raise SettingsRefused(errors)
        for field, (key, _text) in given.items():
            self.store.set_setting(key, str(values[field]))

    def google_client(self) -> GoogleClientView:
        """Return the Google client settings for the admin page."""
        client = self.google()
        return GoogleClientView(
            client_id=client.client_id,
            secret_stored=bool(client.client_secret),
            daily_budget=self.daily_budget(),
            redirect_uri=self.store.get_setting(SettingKey.GOOGLE_REDIRECT_URI) or "",
        )

    def redirect_uri(self, default: str) -> str:
        """Return the OAuth redirect URI registered with Google: the admin's, else `default`."""
        return self.store.get_setting(SettingKey.GOOGLE_REDIRECT_URI) or default

    def save_google_client(
        self, *, client_id: str, client_secret: str, daily_budget: str, redirect_uri: str
    ) -> None:
        """Store the OAuth client, budget and redirect URI; SettingsRefused stores nothing.

        An empty secret keeps the stored one; an empty redirect URI means the default one.
        """
        errors: dict[str, str] = {}
        cid = client_id.strip()
        if not cid:
            errors["client_id"] = N_(
                "The client ID is required (Google Cloud console → Credentials)."
            )
        elif len(cid) > 300 or any(c.isspace() for c in cid):
            errors["client_id"] = N_("A client ID has no spaces and is at most 300 characters.")
        secret = client_secret.strip()
        if not secret and not self.google().client_secret:
            errors["client_secret"] = N_("The client secret is required.")
        budget = int(daily_budget.strip()) if daily_budget.strip().isdecimal() else 0
        if budget < 1:
            errors["daily_budget"] = N_(
                "The daily budget is a whole number of API calls, 1 or more."
            )
        override = redirect_uri.strip()
        if override and (problem := check_redirect_uri(override)):
            errors["redirect_uri"] = problem
        if errors:
            raise SettingsRefused(errors)
        self.store.set_setting(SettingKey.GOOGLE_CLIENT_ID, cid)
        if secret:
            self.store.set_setting(SettingKey.GOOGLE_CLIENT_SECRET, secret, secret=True)
        self.store.set_setting(SettingKey.GOOGLE_DAILY_BUDGET, str(budget))
        self.store.set_setting(SettingKey.GOOGLE_REDIRECT_URI, override or None)

    def crm(self) -> CrmView:
        """Return which CRM calsync syncs with."""
        return CrmView(
            kind=self._crm.kind,
            url=(self.config.vtiger_url or "") if self._crm.kind == "vtiger" else "",
            user=(self.config.vtiger_user or "") if self._crm.kind == "vtiger" else "",
        )

    def test_crm(self) -> str:
        """Return a one-line description of the CRM connection; raise when it fails."""
        return self._crm.check()

    def calls_today(self) -> int:
        """Return the Google API calls counted today (Google's quota day) by every process."""
        return self.store.calls_on(quota_day())

    def database_ok(self, timeout: float = 2.0) -> None:
        """Raise unless the state database takes a write within `timeout` seconds (the probe's
        write is rolled back): a database that answers reads while another writer holds it
        stops every sign-in and round all the same."""
        self.store.check_writable(timeout)
