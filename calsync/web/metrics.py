"""The web app's metrics, beside the rounds' in the application's registry.

`/metrics` renders one registry: the application layer's `RoundMetrics` (every round this
process runs, scheduled or not) with the series added here: sign-ins and today's API calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from prometheus_client import Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from calsync.service import RoundMetrics

__all__ = ["CONTENT_TYPE_LATEST", "WebMetrics"]

_LOGGER = logging.getLogger(__name__)


class WebMetrics:
    """Sign-ins and today's Google API calls, registered with the rounds' metrics."""

    def __init__(self, rounds: RoundMetrics, calls_today: Callable[[], int] | None = None) -> None:
        self.registry = rounds.registry
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
        """Return the text exposition of the registry."""
        return generate_latest(self.registry)


def _safe(read: Callable[[], int]) -> Callable[[], float]:
    def value() -> float:
        try:
            return float(read())
        except Exception as err:  # a scrape must not fail because the database is down
            _LOGGER.warning("reading the API call counter failed: %s", err)
            return math.nan

    return value
