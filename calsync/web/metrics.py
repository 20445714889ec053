"""Prometheus metrics of one web app, in its own registry (never the process-global one)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "WebMetrics"]

_LOGGER = logging.getLogger(__name__)


class WebMetrics:
    """Counters for sync rounds started from this app, and their latency."""

    def __init__(self, calls_today: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.syncs = Counter(
            "calsync_syncs",
            "Sync rounds run, by result (ok|failed).",
            ["result"],
            registry=self.registry,
        )
        self.failures = Counter(
            "calsync_sync_failures",
            "Sync rounds that failed.",
            registry=self.registry,
        )
        self.api_calls = Counter(
            "calsync_google_api_calls",
            "Google API calls made by sync rounds (as reported by the rounds).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "calsync_sync_duration_seconds",
            "Duration of a sync round.",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.logins = Counter(
            "calsync_web_logins",
            "Sign-in attempts, by result (ok|refused).",
            ["result"],
            registry=self.registry,
        )
        self.calls_today = Gauge(
            "calsync_google_api_calls_today",
            "Google API calls counted today (Google's quota day), by every process.",
            registry=self.registry,
        )
        if calls_today is not None:
            self.calls_today.set_function(_safe(calls_today))
        # Export every labelled series from the start, so dashboards see zeros, not gaps.
        for result in ("ok", "failed"):
            self.syncs.labels(result)
        for result in ("ok", "refused"):
            self.logins.labels(result)

    def render(self) -> bytes:
        """Return the text exposition of this registry."""
        return generate_latest(self.registry)


def _safe(read: Callable[[], int]) -> Callable[[], float]:
    def value() -> float:
        try:
            return float(read())
        except Exception as err:  # a scrape must not fail because the database is down
            _LOGGER.warning("reading the API call counter failed: %s", err)
            return math.nan

    return value
