"""The web app's metrics, rendered after the rounds' metrics of the application layer.

`/metrics` shows the application's `RoundMetrics` (every round this process runs, scheduled or
not) and this app's own registry: sign-ins and today's API calls. Each app has its own
registry, so several apps over one application never register a series twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from calsync.service import RoundMetrics

__all__ = ["CONTENT_TYPE_LATEST", "WebMetrics"]

_LOGGER = logging.getLogger(__name__)


class WebMetrics:
    """Sign-ins and today's Google API calls, shown with the rounds' metrics."""

    def __init__(self, rounds: RoundMetrics, calls_today: Callable[[], int] | None = None) -> None:
        self.rounds = rounds
        self.registry = CollectorRegistry(auto_describe=True)
        self.logins = Counter(
            "calsync_web_logins",
            "Sign-in attempts, by result (ok|refused|throttled).",
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
        for result in ("ok", "refused"):
            self.logins.labels(result)

    def render(self) -> bytes:
        """Return the text exposition of the rounds' metrics and this app's."""
        return self.rounds.render() + generate_latest(self.registry)


def _safe(read: Callable[[], int]) -> Callable[[], float]:
    def value() -> float:
        try:
            return float(read())
        except Exception as err:  # a scrape must not fail because the database is down
            _LOGGER.warning("reading the API call counter failed: %s", err)
            return math.nan

    return value
