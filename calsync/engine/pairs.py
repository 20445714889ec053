"""The state row of one linked pair, as the engine sees it (the state store persists it).

Kept free of SQLAlchemy so the engine stays pure; `calsync.state` maps it to a table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


class Kind(enum.StrEnum):
    EVENT = "event"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class Pair:
    """The last-synced record of one CRM item linked to one Google item."""

    user: str
    kind: Kind
    key: str
    """Stable link key derived from the CRM record; stored on Google's copy too."""
    crm_id: str | None
    google_id: str | None
    scope: str = "primary"
    """Google calendar id (events) or task list id (to-dos) holding the Google copy."""
    crm_etag: str | None = None
    google_etag: str | None = None
    crm_hash: str | None = None
    """Content hash of the CRM copy as last synced."""
    google_hash: str | None = None
    """Content hash of the Google copy as last synced."""
    synced_at: datetime | None = None
    error: str | None = None
    """Why the last action on this pair failed, if it did."""
    attempts: int = 0
    """Failed attempts since the last success; a pair past the limit is quarantined."""

    def with_(self, **changes: Any) -> Pair:
        """Return a copy with `changes` applied."""
        return replace(self, **changes)
