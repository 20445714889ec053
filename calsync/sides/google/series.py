"""A Google recurring event as one calsync item: its master plus its exceptions.

Google keeps a series as a master (with `recurrence`) and one event per exception: an
instance with `recurringEventId` and `originalStartTime`, moved or edited, or cancelled (a
sparse tombstone). calsync reads them together as one `Event` whose `overrides` are keyed by
the original start, and writes an override back as that instance (PATCH, or DELETE to
cancel it), so an occurrence changed on either side stays one occurrence of its series.

Public API: `instance_id`, `original_start`, `series_etag`, `master_part`, `overrides_of`,
`list_exceptions`, `write_overrides`, `InstanceWriter`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from calsync.model import Event, ModelError, Override, content_hash
from calsync.sides.base import Remote
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.mapping import parse_time
from calsync.sides.google.wire import GoogleEvent
from calsync.sides.series import kept, occurrence_at, occurs

_LOGGER = logging.getLogger(__name__)


def instance_id(master_id: str, original: datetime | date) -> str:
    """Return the id Google gives the instance of `master_id` at `original` (UTC in the suffix,
    a bare date for an all-day series)."""
    if isinstance(original, datetime):
        return f"{master_id}_{original.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{master_id}_{original.strftime('%Y%m%d')}"


def original_start(doc: GoogleEvent) -> datetime | date:
    """Return an exception's original start: a UTC instant, or a date for an all-day series."""
    start = doc.original_start_time
    if start is None:
        raise ModelError(f"instance {doc.id} has no originalStartTime")
    if start.date_time:
        return parse_time(start.date_time)
    if start.date:
        return date.fromisoformat(start.date[:10])
    raise ModelError(f"instance {doc.id} has an empty originalStartTime")


def series_etag(master: GoogleEvent, exceptions: Iterable[GoogleEvent]) -> str:
    """Return one version for the whole series: the master's etag, plus a digest of its
    exceptions' etags when it has any (an exception's edit leaves the master's etag alone)."""
    own = master.etag or ""
    parts = sorted(f"{e.id} {e.etag}" for e in exceptions)
    if not parts:
        return own
    digest = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]
    return f"{own}+{digest}"


def master_part(etag: str | None) -> str | None:
    """Return the master's own etag out of a series etag (for If-Match on the master)."""
    if not etag:
        return None
    return etag.partition("+")[0] or None


def overrides_of(
    master: Event, exceptions: Iterable[GoogleEvent], read: Callable[[GoogleEvent], Event]
) -> tuple[Override, ...]:
    """Return the overrides the exceptions make, keyed by original start.

    Exceptions the rule no longer makes (left over after a split shortened the series, or
    the rule changed), and those that change nothing, are left out, as the embedded CRM
    leaves them out (calsync.sides.series.kept).
    """
    found: list[Override] = []
    for doc in exceptions:
        try:
            original = original_start(doc)
            if doc.status == "cancelled":
                found.append(Override(original))
            else:
                found.append(Override(original, read(doc).with_(recurrence=None, overrides=())))
        except ModelError as err:
            _LOGGER.warning("exception %s of a series skipped: %s", doc.id, err)
    return kept(master, found)


def list_exceptions(
    http: GoogleHttp,
    path: str,
    master: GoogleEvent,
    read: Callable[[Any, str], GoogleEvent],
    page_size: int,
) -> list[GoogleEvent]:
    """Return every exception stored for `master`'s series, cancelled ones included: the
    events of its iCalUID (listed at `path`, a calendar's events) that are its instances."""
    uid = master.ical_uid
    if not uid:
        return []
    params = {"iCalUID": uid, "showDeleted": "true", "singleEvents": "false",
              "maxResults": str(page_size)}  # fmt: skip
    out: list[GoogleEvent] = []
    while True:
        raw = http.json("GET", path, params=params)
        for item in raw.get("items") or ():
            doc = read(item, str(item.get("id", "")) if isinstance(item, dict) else "")
            if doc.recurring_event_id == master.id:
                out.append(doc)
        token = raw.get("nextPageToken")
        if not token:
            return out
        params = dict(params, pageToken=str(token))


class InstanceWriter(Protocol):
    """What writing a series' exceptions needs of a calendar."""

    def patch_instance(self, target: str, event: Event) -> None: ...
    def cancel_instance(self, target: str) -> None: ...


def _same(a: Override, b: Override) -> bool:
    """True when two overrides of one occurrence hold the same: both cancelled, or one content."""
    if a.event is None or b.event is None:
        return a.event is b.event
    return content_hash(a.event) == content_hash(b.event)


def write_overrides(
    cal: InstanceWriter, master_id: str, item: Event, now: Remote[Event] | None
) -> None:
    """Make the series' exceptions on Google those of `item` (`now`: the series as read).

    A changed or new override PATCHes its instance, a cancelled one DELETEs it, and an
    occurrence that is no exception any more is PATCHed back to what the rule makes.
    """
    held = {o.ident(): o for o in (now.item.overrides if now is not None else ())}
    wanted = {o.ident(): o for o in item.overrides}
    for ident, o in wanted.items():
        old = held.get(ident)
        if old is not None and _same(old, o):
            continue
        target = instance_id(master_id, o.original_start)
        if o.event is None:
            cal.cancel_instance(target)
        else:
            cal.patch_instance(target, o.event)
    for ident, old in held.items():
        if ident in wanted:
            continue
        target = instance_id(master_id, old.original_start)
        if not item.recurrence or not occurs(item, old.original_start):
            # The series' times or rule changed (or it is no series any more): an exception
            # of an occurrence the rule no longer makes is cancelled, or Google would go on
            # showing it beside the series.
            if old.event is not None:
                cal.cancel_instance(target)
            continue
        cal.patch_instance(target, occurrence_at(item, old.original_start))
