"""The one error tree every layer raises and catches.

Sides map whatever their transport or parsing raises to these at their boundary (`unreadable`
does it for parsing); the engine catches `CalsyncError` per item; the service catches anything
per user, so one user's failure never touches another's round.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date


class CalsyncError(Exception):
    """Base of every error calsync raises on purpose."""


class ConfigError(CalsyncError):
    """A setting calsync cannot use (bad value, unreadable config file, database URL that does
    not open); the message is one line naming the setting, for the operator."""


class AdapterError(CalsyncError):
    """A side failed to do what was asked."""

    retryable: bool = False


class TransientError(AdapterError):
    """A failure that may pass (5xx, timeout, rate limit after the retries ran out)."""

    retryable = True
    retry_after: float | None = None
    """Seconds the server asked us to wait, when it said (`Retry-After`)."""


class QuotaError(TransientError):
    """Google's rate limit or our own budget said stop for now."""


class BudgetSpent(QuotaError):
    """Our own daily budget refused a call before it was made: the round stops there and
    waits for the next quota day or a raised budget. Nothing of the refused call happened."""

    retryable = False

    def __init__(self, message: str, *, api: str, scope: str, limit: int, day: date) -> None:
        super().__init__(message)
        self.api = api
        """The Google API whose budget is spent (`calendar` | `tasks`)."""
        self.scope = scope
        """`project` (every user's calls) or `user` (this user's)."""
        self.limit = limit
        """The budget in force when it refused, in calls per quota day."""
        self.day = day
        """The quota day the budget is spent for."""


class AuthError(AdapterError):
    """Credentials are missing, expired or revoked: the link needs reconnecting."""


class ForbiddenError(AdapterError):
    """The side refused this item (permission, organizer-only change)."""


class NotFound(AdapterError):
    """The item does not exist (or is gone) on that side."""


class AlreadyExists(AdapterError):
    """A create hit an existing id (Google 409 `duplicate`)."""

    def __init__(self, message: str = "", existing_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id
        """The id that is taken (client-chosen ids), so the engine can fetch and adopt it."""


class PreconditionFailed(AdapterError):
    """The etag given no longer matches: someone changed the item since we read it."""


class InvalidSyncToken(AdapterError):
    """The cursor is no longer valid (Google 410): a full re-read is needed."""


class InvalidItem(AdapterError):
    """The item's content is invalid: the side rejected it (400), or what the side holds cannot
    be read as an item. Retrying the same content will not help."""


PARSE_ERRORS = (ValueError, LookupError, TypeError)
"""What reading a side's reply can raise on content it did not expect: validation errors
(pydantic's and the domain's are ValueErrors), missing keys, values of the wrong type."""


@contextmanager
def unreadable(what: str) -> Iterator[None]:
    """Turn a parsing failure inside the block into InvalidItem naming `what`."""
    try:
        yield
    except PARSE_ERRORS as err:
        raise InvalidItem(f"{what} cannot be read: {err}") from err


class LeaseLost(CalsyncError):
    """Another round of this user took over its lease: this round must write nothing more.

    Raised by the state store when a commit cannot prove the round's lease (its generation
    was superseded, e.g. after the lock's connection dropped and a second round started);
    the commit is rolled back. Not an `AdapterError`: no per-item handling may swallow it.
    """

    def __init__(self, user: str, generation: int) -> None:
        super().__init__(
            f"another round of {user!r} took over its lease (ours was generation {generation})"
        )
        self.user = user
        self.generation = generation
