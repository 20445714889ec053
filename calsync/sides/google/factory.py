"""Wire one user's Google adapters from a refresh token and the app's Google settings.

Public API: `GoogleSettings` (from the `CALSYNC_GOOGLE_*` values, passed in), `connect`,
`calendar_side`, `tasks_side`. Nothing here reads the environment.

Given the process's `GoogleConnections`, the adapters share its HTTP client and the user's
cached access token; without it each gets a client and a token of its own (one-off scripts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from calsync.quota import Backoff, CallBudget
from calsync.sides.google import endpoints
from calsync.sides.google.auth import RefreshTokenAuth
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.connections import GoogleConnections
from calsync.sides.google.http import DEFAULT_BATCH_SIZE, GoogleHttp, check_batch_size
from calsync.sides.google.tasks import GoogleTasksSide


@dataclass(frozen=True, slots=True)
class GoogleSettings:
    """The Google part of calsync's configuration."""

    client_id: str
    client_secret: str
    api_url: str = endpoints.API_URL
    """CALSYNC_GOOGLE_API_URL (the emulator's base URL in tests and demos)."""
    auth_url: str = endpoints.AUTH_URL
    """CALSYNC_GOOGLE_AUTH_URL."""
    token_url: str = endpoints.TOKEN_URL
    """CALSYNC_GOOGLE_TOKEN_URL."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """CALSYNC_GOOGLE_BATCH_SIZE: calls per batch request (1 to 1,000, Google's maximum)."""

    def __post_init__(self) -> None:
        check_batch_size(self.batch_size)


def connect(
    settings: GoogleSettings,
    user: str,
    refresh_token: str,
    *,
    tasks: bool = False,
    budget: CallBudget | None = None,
    backoff: Backoff | None = None,
    connections: GoogleConnections | None = None,
) -> GoogleHttp:
    """Return the HTTP client of `user`, authorised by their stored refresh token."""
    # No scope on refresh: the grant already fixes the scopes, and asking for a narrower
    # one than a broader grant holds (calendar vs calendar.events) is refused as invalid_scope.
    grant = (refresh_token, settings.client_id, settings.client_secret, settings.token_url)
    if connections is None:
        return GoogleHttp(
            RefreshTokenAuth(*grant),
            user=user,
            base_url=settings.api_url,
            budget=budget,
            backoff=backoff,
            batch_size=settings.batch_size,
        )
    return GoogleHttp(
        connections.token_source(*grant),
        user=user,
        base_url=settings.api_url,
        budget=budget,
        backoff=backoff,
        batch_size=settings.batch_size,
        client=connections.client(),
    )


def calendar_side(
    settings: GoogleSettings,
    user: str,
    refresh_token: str,
    *,
    calendar_id: str = "primary",
    key_namespace: str = "",
    time_min: datetime | None = None,
    time_max: datetime | None = None,
    sync_attendees: bool = True,
    budget: CallBudget | None = None,
    backoff: Backoff | None = None,
    default_tz: str = "UTC",
    single_events: bool = False,
    connections: GoogleConnections | None = None,
    siblings: Sequence[str] = (),
) -> GoogleCalendarSide:
    """Return `user`'s calendar `calendar_id` as a Side[Event].

    `default_tz` (the user's zone) reads events without `timeZone` until a listing has told
    the calendar's own zone; `siblings` are the user's other synced calendars, where an
    event gone from this one may have moved.
    """
    http = connect(
        settings, user, refresh_token, budget=budget, backoff=backoff, connections=connections
    )
    return GoogleCalendarSide(
        http,
        calendar_id,
        key_namespace,
        time_min=time_min,
        time_max=time_max,
        sync_attendees=sync_attendees,
        default_tz=default_tz,
        single_events=single_events,
        siblings=siblings,
    )


def tasks_side(
    settings: GoogleSettings,
    user: str,
    refresh_token: str,
    *,
    tasklist_id: str = "@default",
    budget: CallBudget | None = None,
    backoff: Backoff | None = None,
    connections: GoogleConnections | None = None,
) -> GoogleTasksSide:
    """Return `user`'s task list `tasklist_id` as a Side[Task]."""
    http = connect(
        settings,
        user,
        refresh_token,
        tasks=True,
        budget=budget,
        backoff=backoff,
        connections=connections,
    )
    return GoogleTasksSide(http, tasklist_id)
