"""The application layer: what the web app, the CLI and the job runners call.

- `rounds`: one sync round per user, isolated from every other user's (`SyncService`,
  `RoundService`, `UserReport`, `UserStatus`), counted in `metrics` (`RoundMetrics`).
- `accounts`: a user's link, pause/resume, reset under the user's lock, disconnect,
  preferences and page data (`AccountService`).
- `settings`: the admin page's settings over the configuration (`AppSettings`).
- `google`: the Google account calls the layer needs, as a protocol (`GoogleAccounts`).
- `usage`: Google API calls per quota day, API and user, against the budgets
  (`UsageService`, `Usage`; the budgets' value types `Api` and `Limits`).
- `push`: Google watch channels per synced calendar and the notifications they bring
  (`PushService`, `Notice`, `Maintenance`).
- `alerts`: budget alerts to the log, the admin page and by email (`AlertService`, `SmtpView`;
  `mail`: `Security`, `SmtpSettings`, `MailError`); `waits`: rounds waiting on a spent
  budget (`BudgetWaits`, `Waiting`).
- `application`: all of it assembled (`Application`).
"""

from calsync.quota import Api, Limits
from calsync.service.accounts import (
    AccountService,
    Disconnected,
    GoogleLists,
    LinkResult,
    NotConfigured,
    UserRow,
)
from calsync.service.alerts import AlertService, SmtpView
from calsync.service.application import Application
from calsync.service.google import GoogleAccounts, ListEntry
from calsync.service.mail import MailError, Security, SmtpSettings
from calsync.service.metrics import RoundMetrics
from calsync.service.push import Maintenance, Notice, PushService
from calsync.service.rounds import RoundService, SyncService, UserReport, UserStatus
from calsync.service.settings import (
    VTIGER_CALLBACK,
    AppSettings,
    CrmView,
    GoogleClientView,
    SettingsRefused,
    check_redirect_uri,
)
from calsync.service.usage import DayUsage, Usage, UsageRefused, UsageService, UserUsage
from calsync.service.waits import BudgetWaits, Waiting
from calsync.state.records import UserBusy

__all__ = [
    "VTIGER_CALLBACK",
    "AccountService",
    "AlertService",
    "Api",
    "AppSettings",
    "Application",
    "BudgetWaits",
    "CrmView",
    "DayUsage",
    "Disconnected",
    "GoogleAccounts",
    "GoogleClientView",
    "GoogleLists",
    "Limits",
    "LinkResult",
    "ListEntry",
    "MailError",
    "Maintenance",
    "NotConfigured",
    "Notice",
    "PushService",
    "RoundMetrics",
    "RoundService",
    "Security",
    "SettingsRefused",
    "SmtpSettings",
    "SmtpView",
    "SyncService",
    "Usage",
    "UsageRefused",
    "UsageService",
    "UserBusy",
    "UserReport",
    "UserRow",
    "UserStatus",
    "UserUsage",
    "Waiting",
    "check_redirect_uri",
]
