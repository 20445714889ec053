"""Run-time settings of the Google emulator (flags at start, `/_emulator/config` later)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass
class EmulatorConfig:
    """Knobs tests turn; every field can be changed at run time through the control API."""

    access_token_ttl: int = 3600
    """Seconds an access token lives (`expires_in`); per-account overrides win."""
    rate_limit_per_user: int | None = None
    """Calls per user per minute (sliding window on the emulator clock); None = off."""
    rate_limit_per_project: int | None = None
    """Calls per project (all users) per minute; None = off."""
    daily_limit_per_project: int | None = None
    """Calls per project per emulator-clock UTC day; None = off (403 dailyLimitExceeded)."""
    rate_limit_status: int = 403
    """Status of a rate-limited answer: 403 or 429 (Google uses both)."""
    batch_cap: int = 1000
    """Most calls accepted in one batch request."""
    sync_token_max_age: int | None = None
    """Seconds a sync token stays valid; None = forever."""
    lenient_sync_token_params: bool = False
    """Accept a syncToken with singleEvents/showDeleted differing from the full sync's."""
    tasks_strict_if_match: bool = False
    """Enforce If-Match on Tasks writes (Google does not document it)."""
    enforce_scopes: bool = True
    """Answer 403 insufficientPermissions when the token lacks the method's scope."""
    channel_max_ttl: int = 7 * 24 * 3600
    """Longest lifetime granted to a watch channel, in seconds."""
    latency_ms: int = 0
    """Milliseconds every API request (not the control API) waits before it is answered, as
    Google's round trips take ~100 ms: load benchmarks then measure waiting, not this CPU."""

    def update(self, values: dict[str, Any]) -> None:
        """Set the given fields, rejecting unknown names, wrong types and bad values (then
        nothing is set)."""
        known = {f.name: f for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool) and not isinstance(value, bool):
                raise ValueError(f"{name} must be a boolean")
            if value is not None and not isinstance(value, bool | int):
                raise ValueError(f"{name} must be an integer or null")
        merged = replace(self, **values)
        if merged.rate_limit_status not in (403, 429):
            raise ValueError("rate_limit_status must be 403 or 429")
        if not isinstance(merged.latency_ms, int) or merged.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        for name, value in values.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as JSON."""
        return asdict(self)
