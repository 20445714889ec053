"""The composition root: settings -> state store, CRM backend, Google client, services.

The CLI commands, the demo and the tests call `build`; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from calsync.config import Settings, load_settings
from calsync.engine.caps import Caps
from calsync.quota import Budget, BudgetAlert, RateLimiter
from calsync.service import AccountService, Application, AppSettings, RoundMetrics, SyncService
from calsync.sides.crm import CrmBackend, backend_from_settings
from calsync.sides.google.account import GoogleAccountClient
from calsync.sides.google.factory import GoogleSettings
from calsync.state.store import Store

err = Console(stderr=True)


@dataclass
class App:
    """Everything a command needs, built from the settings."""

    settings: Settings
    store: Store
    crm: CrmBackend
    service: SyncService
    """The round service (also `application.rounds`)."""
    application: Application

    @property
    def accounts(self) -> AccountService:
        """The account service."""
        return self.application.accounts


def open_store(settings: Settings) -> Store:
    """Return the migrated state store the settings point at."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.from_settings(settings)
    store.migrate()
    return store


def _alert(alert: BudgetAlert) -> None:
    err.print(
        f"[yellow]quota:[/] {alert.scope} {alert.user or ''} used {alert.used}/{alert.limit} "
        f"{alert.api} API calls today ({alert.threshold:.0%})"
    )


def build(settings: Settings | None = None) -> App:
    """Return the wired application for `settings` (default: the environment)."""
    settings = settings or load_settings()
    store = open_store(settings)
    crm = backend_from_settings(settings)
    app_settings = AppSettings(store, settings, crm)
    budget = Budget(
        store,
        limits=app_settings.budgets(),
        on_alert=_alert,
        # Stay well under Google's 600 calls/minute per user instead of meeting its 429s.
        rate=RateLimiter(per_user=settings.google_user_calls_per_minute, per_project=9000),
    )

    def google_now() -> GoogleSettings:
        # Read per round, so what the admin page saves applies without a restart.
        budget.limits = app_settings.budgets()
        return app_settings.google()

    metrics = RoundMetrics()
    caps = Caps(settings.max_occurrences_per_series, settings.max_occurrences_per_round)
    rounds = SyncService(store, crm, google_now, budget=budget, metrics=metrics, caps=caps)
    accounts = AccountService(store, crm, GoogleAccountClient(), app_settings)
    application = Application(rounds, accounts, app_settings, metrics, store)
    return App(settings, store, crm, rounds, application)
