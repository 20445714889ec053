"""The one place Google's error envelope becomes calsync's error tree.

Public API: `GoogleError` (status, reason, message, retry_after), `parse_error`,
`GoogleError.retryable` / `.rate_limited`, `GoogleError.exception()`, and `Deleted`
(410 `deleted`: a NotFound that says the item is already gone).

Google's envelope: `{"error": {"code": 403, "message": ..., "errors": [{"domain", "reason",
"message", ...}], "status"?}}`; OAuth token errors use `{"error": "invalid_grant", ...}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from calsync.errors import (
    AdapterError,
    AlreadyExists,
    AuthError,
    ForbiddenError,
    InvalidItem,
    InvalidSyncToken,
    NotFound,
    PreconditionFailed,
    QuotaError,
    TransientError,
)


class Deleted(NotFound):
    """Google 410 `deleted`: the item was deleted already (deleting it again is no error)."""


RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
"""Short-term limits: back off and retry (403 or 429, Google uses both)."""
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
"""Longer limits: retrying at once does not help; the work waits for a later round."""
SYNC_TOKEN_REASONS = frozenset({"fullSyncRequired", "updatedMinTooLongAgo"})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a `Retry-After` header asks for (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class GoogleError:
    """A failed Google call, as Google described it."""

    status: int
    reason: str = ""
    """`error.errors[0].reason`, e.g. `rateLimitExceeded`; empty when the body had none."""
    message: str = ""
    retry_after: float | None = None

    @property
    def rate_limited(self) -> bool:
        """True for short-term rate limits: 429, or 403 with a rate-limit reason."""
        return self.status == 429 or (self.status == 403 and self.reason in RATE_LIMIT_REASONS)

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed after a short wait (rate limit, 5xx, 408)."""
        return self.rate_limited or self.status >= 500 or self.status == 408

    def exception(self) -> AdapterError:
        """Return the calsync error for this failure."""
        text = f"Google {self.status} {self.reason or '-'}: {self.message}".rstrip(": ")
        s, reason = self.status, self.reason
        err: AdapterError
        if self.rate_limited or (s == 403 and reason in QUOTA_REASONS):
            err = QuotaError(text)
            # A daily quota does not come back after a short wait: the work waits for a round.
            err.retryable = self.rate_limited
        elif s == 401:
            err = AuthError(f"{text} (the Google link needs reconnecting)")
        elif s == 403:
            err = ForbiddenError(text)
        elif s == 404:
            err = NotFound(text)
        elif s == 409:
            err = AlreadyExists(text) if reason in ("duplicate", "") else PreconditionFailed(text)
        elif s == 410:
            err = InvalidSyncToken(text) if reason in SYNC_TOKEN_REASONS else Deleted(text)
        elif s == 412:
            err = PreconditionFailed(text)
        elif 400 <= s < 500 and s != 408:
            err = InvalidItem(text)
        else:
            err = TransientError(text)
        if isinstance(err, TransientError):
            err.retry_after = self.retry_after
        return err


def parse_error(status: int, content: bytes | str, headers: Any = None) -> GoogleError:
    """Return the GoogleError described by a response's status, body and headers."""
    retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
    try:
        doc = json.loads(content or b"{}")
    except ValueError:
        doc = {}
    err = doc.get("error") if isinstance(doc, dict) else None
    reason = message = ""
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        details = err.get("errors")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason") or "")
            message = message or str(details[0].get("message") or "")
        if not reason and isinstance(err.get("status"), str):
            reason = err["status"]
    elif isinstance(err, str):  # OAuth endpoints: {"error": "invalid_grant", ...}
        reason = err
        message = str(doc.get("error_description") or "")
    if not message and isinstance(content, bytes | str):
        raw = content.decode(errors="replace") if isinstance(content, bytes) else content
        message = raw[:200]
    return GoogleError(status, reason, message, retry_after)
