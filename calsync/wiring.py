"""The composition root: settings -> state store, CRM backend, Google client, services.

The CLI commands, the demo and the tests call `build`; nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from rich.console import Console

from calsync.config import Settings, load_settings
from calsync.engine.caps import Caps
from calsync.errors import ConfigError
from calsync.files import private_dir
from calsync.model import utcnow
from calsync.quota import Budget, BudgetAlert
from calsync.ratelimit import RateLimiter, buckets_for
from calsync.service import (
    AccountService,
    Application,
    AppSettings,
    PushService,
    RoundMetrics,
    SyncService,
)
from calsync.service.alerts import AlertService
from calsync.service.waits import BudgetWaits
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


def _safe_url(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url[:60])


@contextmanager
def database_errors(variable: str, url: str) -> Iterator[None]:
    """Turn a database that cannot be opened into a one-line ConfigError naming `variable`."""
    try:
        yield
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
        raise ConfigError(f"{variable} is not a database URL calsync can use: {err}") from None
    except ImportError as err:
        raise ConfigError(
            f"{variable}: the database driver is not installed ({err.name or err}); "
            "install calsync with the `postgres` extra for PostgreSQL"
        ) from None
    except (sa.exc.DBAPIError, OSError) as err:
        # The driver's first line says what went wrong; the rest is SQLAlchemy's advice links.
        cause = getattr(err, "orig", None) or err
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise ConfigError(
            f"cannot open the database {_safe_url(url)} ({variable}): {reason}"
        ) from None


def open_store(settings: Settings) -> Store:
    """Return the migrated state store the settings point at; ConfigError when it won't open."""
    try:
        private_dir(settings.data_dir)
    except OSError as err:
        raise ConfigError(f"cannot make the data dir (CALSYNC_DATA_DIR): {err}") from None
    with database_errors("CALSYNC_DATABASE_URL", settings.database_url):
        store = Store.from_settings(settings, threads=settings.pool_size)
        store.migrate()
    return store


def _alert(alert: BudgetAlert) -> None:
    err.print(
        f"[yellow]quota:[/] {alert.scope} {alert.user or ''} used {alert.used}/{alert.limit} "
        f"{alert.api} API calls today ({alert.threshold:.0%})"
    )


def rate_limiter(settings: Settings) -> RateLimiter:
    """Return the per-minute limits on Google calls: the project's bucket is shared through
    Redis when one is configured, so every process and machine stays under it together."""
    return RateLimiter(
        per_user=settings.google_user_calls_per_minute,
        per_project=settings.google_project_calls_per_minute,
        buckets=buckets_for(settings.rate_redis_url()),
    )


def build(settings: Settings | None = None) -> App:
    """Return the wired application for `settings` (default: the environment)."""
    settings = settings or load_settings()
    store = open_store(settings)
    with database_errors("CALSYNC_LOCAL_CRM_URL", settings.local_crm_url):
        crm = backend_from_settings(settings)
    app_settings = AppSettings(store, settings, crm)
    alerts = AlertService(store)

    def on_alert(alert: BudgetAlert) -> None:
        _alert(alert)
        alerts.notify(alert)

    budget = Budget(
        store,
        limits=app_settings.budgets(),
        thresholds=alerts.thresholds(),
        on_alert=on_alert,
        rate=rate_limiter(settings),
    )

    def google_now() -> GoogleSettings:
        # Read per round, so what the admin page saves applies without a restart.
        budget.limits = app_settings.budgets()
        budget.thresholds = alerts.thresholds()
        return app_settings.google()

    metrics = RoundMetrics()
    caps = Caps(settings.max_occurrences_per_series, settings.max_occurrences_per_round)
    waits = BudgetWaits(store, app_settings.budgets, utcnow)
    rounds = SyncService(
        store,
        crm,
        google_now,
        budget=budget,
        metrics=metrics,
        caps=caps,
        waits=waits,
        pool_size=settings.pool_size,
    )
    push = PushService(
        store,
        google_now,
        public_url=settings.public_url,
        budget=budget,
        connections=rounds.connections,
    )
    accounts = AccountService(store, crm, GoogleAccountClient(), app_settings, push=push)
    application = Application(rounds, accounts, app_settings, metrics, store, push)
    return App(settings, store, crm, rounds, application)
