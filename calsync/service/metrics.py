"""Prometheus metrics of the sync rounds this process runs, whoever started them.

Public API: `RoundMetrics` (its own registry, never the process-global one) with `record()`,
called by `SyncService` for every round it runs: the scheduler's, the CLI's and the web
page's "Sync now" alike. The web app renders the same registry at `/metrics` and adds its own
series (sign-ins) to it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["RoundMetrics"]


class RoundMetrics:
    """Rounds by result, failures, Google API calls and round duration."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
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
            "Google API calls made by sync rounds (every try, as Google's quota counts them).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "calsync_sync_duration_seconds",
            "Duration of a sync round.",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        # Export both results from the start, so dashboards see zeros, not gaps.
        for result in ("ok", "failed"):
            self.syncs.labels(result)

    def record(self, ok: bool, api_calls: int, seconds: float) -> None:
        """Count one finished round."""
        self.syncs.labels("ok" if ok else "failed").inc()
        if not ok:
            self.failures.inc()
        if api_calls > 0:
            self.api_calls.inc(api_calls)
        self.latency.observe(seconds)

    def render(self) -> bytes:
        """Return the text exposition of the registry."""
        return generate_latest(self.registry)
