"""`calsync worker`: a Celery worker running users' rounds from the broker.

Workers on several machines share one state store, so it must be PostgreSQL (its advisory
locks hold across machines); so must the embedded CRM's database when that is the CRM.
One worker process runs one round at a time by default (`concurrency=1`, Celery's `solo`
pool: killing the process stops its round at once); more run in threads of the process.

Public API: `check_worker_settings(settings)`, `run_worker(app, concurrency, beat)`.
"""

from __future__ import annotations

import logging
import os
import socket

import sqlalchemy as sa

from calsync.config import Settings
from calsync.errors import ConfigError
from calsync.jobs.celery_app import (
    QUEUE,
    Beat,
    CeleryQueue,
    QueuedMarks,
    check_broker_url,
    make_celery,
    register_round_task,
)
from calsync.wiring import App

_LOGGER = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 15.0


def _backend(url: str) -> str:
    try:
        return sa.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        return "?"


def check_worker_settings(settings: Settings) -> None:
    """Raise ConfigError unless the settings let workers share the work across machines."""
    check_broker_url(settings.broker_url)
    if _backend(settings.database_url) != "postgresql":
        raise ConfigError(
            "calsync worker needs the state store on PostgreSQL (CALSYNC_DATABASE_URL="
            "postgresql+psycopg://...): workers on several machines share it, and SQLite "
            "stays on one machine. Without a broker, `calsync serve` syncs on SQLite in process."
        )
    if settings.crm == "local" and _backend(settings.local_crm_url) != "postgresql":
        raise ConfigError(
            "calsync worker needs the embedded CRM on PostgreSQL too (CALSYNC_LOCAL_CRM_URL="
            "postgresql+psycopg://...): every worker reads and writes it."
        )


def run_worker(app: App, concurrency: int = 1, beat: bool = False) -> int:
    """Run a worker until it is stopped; with `beat`, also enqueue due users every interval.

    Return the worker's exit status.
    """
    settings = app.settings
    check_worker_settings(settings)
    celery = make_celery(settings)
    marks = QueuedMarks.for_settings(settings)
    # Never longer than the visibility timeout, or the broker would hand the retry out twice.
    busy_retry = min(BUSY_RETRY_SECONDS, settings.broker_visibility_timeout / 2)
    register_round_task(celery, app.service, marks, busy_retry=busy_retry)
    # Runs shown as running whose round's process died (their lock is free) are closed.
    app.store.abandon_dead_runs()
    ticker = Beat(CeleryQueue(celery, marks), app.store, settings.sync_interval) if beat else None
    worker = celery.Worker(
        hostname=f"calsync-{os.getpid()}@{socket.gethostname()}",
        pool="solo" if concurrency == 1 else "threads",
        concurrency=concurrency,
        queues=[QUEUE],
        loglevel="INFO",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    if ticker is not None:
        ticker.start()
    try:
        worker.start()
    finally:
        if ticker is not None:
            ticker.stop()
    return int(worker.exitcode or 0)
