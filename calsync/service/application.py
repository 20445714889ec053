"""The application layer assembled: what the web app and the job runners are handed.

Public API: `Application` (rounds, accounts, settings, metrics, usage, push notifications,
alerts, budget waits,
and the store for sign-in).
The composition root (`calsync.wiring`) builds one; nothing here builds anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from calsync.model import utcnow
from calsync.service.accounts import AccountService
from calsync.service.alerts import AlertService
from calsync.service.metrics import RoundMetrics
from calsync.service.push import PushService
from calsync.service.rounds import RoundService
from calsync.service.settings import AppSettings
from calsync.service.usage import UsageService
from calsync.service.waits import BudgetWaits, Waiting
from calsync.state.store import Store


@dataclass(frozen=True, slots=True)
class Application:
    """The services of one calsync instance."""

    rounds: RoundService
    """Runs a user's round now (`SyncService`; the scheduler calls it too)."""
    accounts: AccountService
    settings: AppSettings
    metrics: RoundMetrics
    """Where every round run in this process is counted."""
    store: Store
    """For sign-in and the session key only (`calsync.web.security`); everything else goes
    through the services."""
    push: PushService | None = None
    """Google's push notifications: the channels, and the check of each notification."""

    @property
    def usage(self) -> UsageService:
        """Google API calls per quota day, API and user, against the budgets."""
        return UsageService(self.store, self.settings)

    @property
    def alerts(self) -> AlertService:
        """Budget alerts: thresholds, the SMTP server, today's alerts, a test email."""
        return AlertService(self.store)

    def waiting(self, user: str) -> list[Waiting]:
        """Return what `user`'s sync waits for: spent daily budgets, until when."""
        return BudgetWaits(self.store, self.settings.budgets, utcnow).of(user)
