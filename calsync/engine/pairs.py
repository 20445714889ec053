"""The state row of one linked pair, as the engine sees it (the state store persists it).

Public API: `Pair`, `PairStatus`, `Kind`. Kept free of SQLAlchemy so the engine stays pure;
`calsync.state` maps it to a table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from calsync.model import Item


class Kind(enum.StrEnum):
    EVENT = "event"
    TASK = "task"


class PairStatus(enum.StrEnum):
    """Where a pair stands after the last action on it."""

    OK = "ok"
    """Both copies as last synced."""
    PENDING = "pending"
    """An intent row: a create was about to be sent and its outcome is not known yet, so a
    crash or a lost reply is found next round and the copy adopted instead of duplicated.
    Still pending with both ids once a copy was adopted and is about to be updated."""
    FAILED = "failed"
    """The last action failed: the pair is read again by id and retried next round."""
    QUARANTINED = "quarantined"
    """Failed too often: left alone until the content of either copy changes."""
    HELD = "held"
    """A change that may not travel now (out of scope) is pending: the row keeps the etags
    and hashes of the last sync, and when either copy is listed again the other is read too,
    since its own change may be in no increment any more."""


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
    status: PairStatus = PairStatus.OK
    message: str | None = None
    """Why the last action on this pair failed, if it did."""
    observed: str | None = None
    """Fingerprint of the contents seen when it failed: quarantine lasts while they hold."""
    attempts: int = 0
    """Failed attempts since the last success; a pair past the limit is quarantined."""
    google_item: Item | None = field(default=None, compare=False)
    """Google's copy, set when the row is made from a copy just read or written, for the
    store to keep (`PairStore.google_copies` gives it back; rows read from a store leave it
    out, and a row without it keeps the one stored). While Google's etag is the one stored,
    it is Google's content: a CRM change is planned against it without a read of Google's
    copy. Left out of comparisons (`google_hash` stands for it)."""

    @property
    def dirty(self) -> bool:
        """True when the pair needs a second look (pending create, failure, quarantine)."""
        return self.status is not PairStatus.OK

    def with_(self, **changes: Any) -> Pair:
        """Return a copy with `changes` applied."""
        return replace(self, **changes)

    def cleared(self, **changes: Any) -> Pair:
        """Return a copy marked in sync (no failure kept), with `changes` applied."""
        return replace(
            self, status=PairStatus.OK, message=None, observed=None, attempts=0, **changes
        )
