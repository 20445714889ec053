"""Prometheus metrics of one web app, in its own registry (never the process-global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "WebMetrics"]


class WebMetrics:
    """Counters for sync rounds started from this app, and their latency."""

    def __init__(self) -> None:
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
        # Export every labelled series from the start, so dashboards see zeros, not gaps.
        for result in ("ok", "failed"):
            self.syncs.labels(result)
        for result in ("ok", "refused"):
            self.logins.labels(result)

    def render(self) -> bytes:
        """Return the text exposition of this registry."""
        return generate_latest(self.registry)
