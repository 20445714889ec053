"""Where an event gone from one of the user's calendars went: another synced calendar.

Google's `events.move` keeps the event's id (the source keeps a cancelled trace); a client
without it deletes the event and re-creates it in the other calendar with the same iCalUID.
Either way the event is found in the user's other synced calendars, by id first, then by
iCalUID (the gone event's own, or `<id>@google.com`, the form Google gives the events it
makes). A calendar no longer shared with the user holds nothing of theirs.

Public API: `get_in(cal, scope, id)`, `locate(cal, id)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync.errors import ForbiddenError, NotFound
from calsync.model import Event
from calsync.sides.base import Remote

if TYPE_CHECKING:
    from calsync.sides.google.calendar import GoogleCalendarSide


def get_in(cal: GoogleCalendarSide, scope: str, id: str) -> Remote[Event] | None:
    """Return the event `id` of the user's calendar `scope` (None: missing or gone)."""
    side = cal if scope == cal.calendar_id else cal.sibling(scope)
    try:
        return side.get(id)
    except ForbiddenError:
        return None


def locate(cal: GoogleCalendarSide, id: str) -> tuple[str, Remote[Event]] | None:
    """Return (calendar, event) of the event `id`, gone from `cal`, in the synced calendar it
    moved to; None when no other synced calendar has it."""
    if not cal.siblings:
        return None
    for scope in cal.siblings:
        found = get_in(cal, scope, id)
        if found is not None:
            return scope, found
    uid = cal.uid_of(id) or f"{id}@google.com"
    for scope in cal.siblings:
        try:
            again = cal.sibling(scope).find_uid(uid)
        except (NotFound, ForbiddenError):
            continue
        if again is not None:
            return scope, again
    return None
