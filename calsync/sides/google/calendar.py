"""One Google calendar of one user as a calsync Side[Event] (Calendar API v3 over GoogleHttp).

Public API: `GoogleCalendarSide(http, calendar_id, key_namespace, time_min=, time_max=,
sync_attendees=, default_tz=)` with `changes`, `get`, `get_many`, `create`, `update`,
`delete`, `event_id`, `series_of`, `list_calendars`; `CalendarInfo`.

Rules kept here: inserts use the id derived from our
key (a retried insert gets 409 -> AlreadyExists, for the engine to adopt); updates are PATCHes
of owned fields with `If-Match`, never PUT; every write sends `sendUpdates=none`; a 410 on a
sync token raises InvalidSyncToken; the full listing is bounded by the sync window.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from calsync.errors import PARSE_ERRORS, AlreadyExists, InvalidItem, NotFound, unreadable
from calsync.model import Event, Reminder, SeriesLink, content_hash
from calsync.sides.base import ChangeSet, Remote
from calsync.sides.google.batch import BatchCall
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.mapping import (
    event_from_google,
    event_id_for,
    event_to_google,
    series_property,
)
from calsync.sides.google.wire import CalendarListEntry, GoogleEvent, GoogleEvents

_LOGGER = logging.getLogger(__name__)

BATCH_PATH = "/batch/calendar/v3"
API = "/calendar/v3"
NO_MAIL = {"sendUpdates": "none"}
_SHARED_KEYS = ("summary", "description", "location", "visibility", "reminders")
"""What an edit of all events of a CRM series changes on its recurring event."""


def foreign(doc: GoogleEvent) -> bool:
    """True when someone else organises the event and the user is one of its attendees."""
    organizer = doc.organizer
    if organizer is None or organizer.is_self:
        return False
    return any(a.is_self for a in doc.attendees or ())


def gone(doc: GoogleEvent) -> bool:
    """True for a cancelled event, or someone else's meeting the user declined.

    A declined invitation stays in Google's calendar but is no event of the user's for calsync
    (it is how a deletion of such a meeting travels, see `delete`).
    """
    if doc.status == "cancelled":
        return True
    return foreign(doc) and any(
        a.is_self and a.response_status == "declined" for a in doc.attendees or ()
    )


def _suffix(original: datetime | date) -> str:
    """Return the instance-id suffix Google gives the occurrence starting at `original`."""
    if isinstance(original, datetime):
        return original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return original.strftime("%Y%m%d")


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar the user can see, for choosing which ones to sync."""

    id: str
    summary: str
    access_role: str
    """owner | writer | reader | freeBusyReader (only owner/writer can be synced two-way)."""
    primary: bool = False
    time_zone: str | None = None


class GoogleCalendarSide:
    """Events of one Google calendar, read and written for calsync."""

    name = "google"

    def __init__(
        self,
        http: GoogleHttp,
        calendar_id: str = "primary",
        key_namespace: str = "",
        *,
        time_min: datetime | None = None,
        time_max: datetime | None = None,
        sync_attendees: bool = True,
        default_tz: str = "UTC",
        page_size: int = 2500,
        single_events: bool = False,
    ) -> None:
        self.http = http
        self.single_events = single_events
        """List each occurrence of a series as its own event (for a CRM that stores series
        as one record per occurrence, as vtiger does); needs a bounded window."""
        self.calendar_id = calendar_id
        self.namespace = key_namespace
        self.time_min = time_min
        self.time_max = time_max
        self.sync_attendees = sync_attendees
        self.default_tz = default_tz
        """The calendar's zone (learnt from listings); used for events without `timeZone`."""
        self.default_reminders: tuple[Reminder, ...] = ()
        self.page_size = page_size
        self._series: dict[str, tuple[str, str]] = {}
        self._masters: dict[str, GoogleEvent] = {}
        """Recurring events made for CRM series, as last read or written by this side (one
        round): the occurrences after the first join without reading it again."""

    # -- helpers --------------------------------------------------------------------------

    def _events_path(self, event_id: str | None = None) -> str:
        path = f"{API}/calendars/{quote(self.calendar_id, safe='')}/events"
        return path if event_id is None else f"{path}/{quote(event_id, safe='')}"

    def event_id(self, key: str) -> str:
        """Return the Google id `create` uses for the CRM item `key`."""
        return event_id_for(key, self.namespace)

    def series_of(self, event_id: str) -> tuple[str, str] | None:
        """Return (master id, original start) of an instance seen in a read, else None."""
        return self._series.get(event_id)

    def _remote(self, doc: GoogleEvent) -> Remote[Event]:
        with unreadable(f"Google event {doc.id}"):
            event, key = event_from_google(
                doc,
                namespace=self.namespace,
                default_tz=self.default_tz,
                default_reminders=self.default_reminders,
            )
        if key is None and doc.recurring_event_id and doc.original_start_time is not None:
            key = self._occurrence_key(doc)
        return Remote(str(doc.id), doc.etag or "", event, key, doc.recurring_event_id)

    def _occurrence_key(self, doc: GoogleEvent) -> str | None:
        """Return `<series key>@<original start>` for an instance of a recurring event made
        for a CRM series: a copy of a CRM occurrence, whichever record it is."""
        private = (doc.extended_properties.private if doc.extended_properties else None) or {}
        mark = private.get(series_property(self.namespace))
        _, sep, suffix = str(doc.id or "").rpartition("_")
        return f"{mark}@{suffix}" if mark and sep and suffix else None

    def _doc(self, raw: Any, what: str) -> GoogleEvent:
        """Return `raw` as an event; InvalidItem when it is not one (our parsing boundary)."""
        with unreadable(f"Google event {what}"):
            doc = GoogleEvent.model_validate(raw)
        self._note_series(doc)
        return doc

    def _read(self, raw: Any, what: str) -> Remote[Event]:
        return self._remote(self._doc(raw, what))

    def _note_series(self, doc: GoogleEvent) -> None:
        if doc.id and doc.recurring_event_id:
            start = doc.original_start_time
            when = (start.date_time or start.date or "") if start else ""
            self._series[doc.id] = (doc.recurring_event_id, when)

    def _collect(self, raw: Any, result: ChangeSet[Event]) -> None:
        """Add one listed event to `result`: a change, a deletion, or (unreadable) skipped."""
        event_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        try:
            doc = GoogleEvent.model_validate(raw)
            self._note_series(doc)
            if gone(doc):
                result.deleted.append(str(doc.id))
            else:
                result.items.append(self._remote(doc))
        except (*PARSE_ERRORS, InvalidItem) as err:
            # One odd event must neither stop the round nor read as deleted.
            _LOGGER.warning("Google event %s skipped: %s", event_id, err)
            result.skip(event_id, str(err))

    # -- Side -----------------------------------------------------------------------------

    def changes(self, cursor: str | None) -> ChangeSet[Event]:
        """Return a full window-bounded listing (cursor None) or the changes since a sync token.

        Cancelled items become `deleted` ids: a cancelled exception yields the instance's id,
        never its series'. Raises InvalidSyncToken on 410 (even mid-pagination).
        """
        single = "true" if self.single_events else "false"
        params = {"singleEvents": single, "maxResults": str(self.page_size)}
        if cursor is None:
            if self.time_min is not None:
                params["timeMin"] = _rfc3339(self.time_min)
            if self.time_max is not None:
                params["timeMax"] = _rfc3339(self.time_max)
        else:
            params["syncToken"] = cursor
        result: ChangeSet[Event] = ChangeSet(full=cursor is None)
        page_token: str | None = None
        while True:
            query = dict(params, pageToken=page_token) if page_token else params
            raw = self.http.json("GET", self._events_path(), params=query)
            with unreadable(f"a page of calendar {self.calendar_id}"):
                page = GoogleEvents.model_validate({k: v for k, v in raw.items() if k != "items"})
            if page.time_zone:
                self.default_tz = page.time_zone
            if page.default_reminders is not None:
                self.default_reminders = tuple(
                    Reminder(r.minutes, r.method) for r in page.default_reminders
                )
            for item in raw.get("items") or ():
                self._collect(item, result)
            page_token = page.next_page_token
            if not page_token:
                result.cursor = page.next_sync_token
                return result

    def get(self, id: str) -> Remote[Event] | None:
        """Return the event `id`, or None when it is missing, cancelled or a declined invitation.

        InvalidItem when Google's copy cannot be read as an event.
        """
        doc = self._fetch(id)
        return None if doc is None or gone(doc) else self._remote(doc)

    def _fetch(self, id: str) -> GoogleEvent | None:
        try:
            raw = self.http.json("GET", self._events_path(id))
        except NotFound:
            return None
        return self._doc(raw, id)

    def get_many(self, ids: Sequence[str]) -> dict[str, Remote[Event] | None]:
        """Return the events `ids` via batch requests (None for missing or cancelled ones).

        A part that fails otherwise (after the retries) raises its mapped error, an unreadable
        one InvalidItem.
        """
        calls = [BatchCall("GET", self._events_path(i)) for i in ids]
        found: dict[str, Remote[Event] | None] = {}
        for event_id, reply in zip(ids, self.http.batch(BATCH_PATH, calls), strict=True):
            if reply.error is not None:
                error = reply.error.exception()
                if isinstance(error, NotFound):
                    found[event_id] = None
                    continue
                raise error
            doc = self._doc(reply.body, event_id)
            found[event_id] = None if gone(doc) else self._remote(doc)
        return found

    def create(self, item: Event, key: str) -> Remote[Event]:
        """Insert `item` under the id derived from `key`; AlreadyExists if that id is taken.

        Google also answers 409 for the id of a deleted event: the engine may then restore it
        with `update(event_id(key), item, None)`, which PATCHes the status back.

        An occurrence of a CRM series (`item.series`) becomes the instance of the series'
        recurring event instead (made first when the series is fresh), PATCHed into an
        exception when it differs from the rule's occurrence; it stays a single event when
        the series has no recurring event here, or when the instance was cancelled.
        """
        if item.series is not None:
            joined = self._join_series(item, item.series)
            if joined is not None:
                return joined
        event_id = self.event_id(key)
        body = event_to_google(
            item,
            key=key,
            namespace=self.namespace,
            event_id=event_id,
            attendees=self.sync_attendees,
        )
        try:
            doc = self.http.json("POST", self._events_path(), params=NO_MAIL, json=body)
        except AlreadyExists as err:
            raise AlreadyExists(
                f"event {event_id} (key {key!r}) exists already", existing_id=event_id
            ) from err
        return self._read(doc, event_id)

    def series_event_id(self, series_id: str) -> str:
        """Return the Google id of the recurring event made for the CRM series `series_id`."""
        return event_id_for(f"series:{series_id}", self.namespace)

    def _join_series(self, item: Event, link: SeriesLink) -> Remote[Event] | None:
        """Return the instance `item` is as an occurrence of `link`'s recurring event, or None
        when it has to be a single event (see `create`)."""
        master_id = self.series_event_id(link.id)
        master = self._masters.get(master_id) or self._fetch(master_id)
        if master is None:
            if not link.fresh:
                return None
            body = event_to_google(link.template, event_id=master_id, attendees=False)
            mark = link.key or link.id
            body["extendedProperties"] = {"private": {series_property(self.namespace): mark}}
            try:
                master = self._doc(
                    self.http.json("POST", self._events_path(), params=NO_MAIL, json=body),
                    master_id,
                )
            except AlreadyExists:
                # A retried insert whose first try was applied (its reply lost), or the id of
                # a recurring event deleted on Google, which stays taken.
                master = self._fetch(master_id)
        if master is None or gone(master):
            return None
        self._masters[master_id] = master
        instance_id = f"{master_id}_{_suffix(link.original)}"
        doc = self._fetch(instance_id)
        if doc is None and list(master.recurrence or ()) != list(link.rule.lines):
            # An occurrence the CRM added to the series (its end moved): extend the rule.
            self._masters.pop(master_id, None)
            self.http.json(
                "PATCH",
                self._events_path(master_id),
                params=NO_MAIL,
                json={"recurrence": list(link.rule.lines)},
                headers={"If-Match": master.etag} if master.etag else None,
            )
            doc = self._fetch(instance_id)
        if doc is None or gone(doc):
            return None
        remote = self._remote(doc)
        if content_hash(remote.item) != content_hash(item):
            remote = self.update(instance_id, item.with_(series=None), doc.etag)
        return remote

    def _shared_edit(self, master_id: str, link: SeriesLink) -> bool:
        """PATCH the series' shared fields (not its times) over its recurring event when the
        CRM changed them for every occurrence; return True when it did."""
        master = self._fetch(master_id)
        if master is None or gone(master) or not link.whole:
            return False
        if list(master.recurrence or ()) != list(link.rule.lines):
            return False  # the occurrences the CRM holds are not the whole recurring event
        held = self._remote(master).item
        want = link.template
        shared = ("title", "description", "location", "visibility", "reminders")
        if all(getattr(held, f) == getattr(want, f) for f in shared):
            return False
        full = event_to_google(want, patch=True, attendees=False)
        body = {k: full[k] for k in _SHARED_KEYS if k in full}
        headers = {"If-Match": master.etag} if master.etag else None
        self._masters.pop(master_id, None)
        self.http.json(
            "PATCH", self._events_path(master_id), params=NO_MAIL, json=body, headers=headers
        )
        return True

    def update(self, id: str, item: Event, etag: str | None) -> Remote[Event]:
        """PATCH the owned fields of `item` over `id` (If-Match `etag`); never a PUT.

        An occurrence of a CRM series that already reads as `item` needs no write (an edit of
        all its events reached it through the recurring event); when the CRM changed every
        occurrence alike, the recurring event is PATCHed once instead of each instance.
        """
        link = item.series
        master_id = self.series_event_id(link.id) if link is not None else ""
        if link is not None and id.startswith(f"{master_id}_"):
            current = self._fetch(id)
            if current is not None and not gone(current):
                now = self._remote(current)
                if content_hash(now.item) == content_hash(item):
                    return now
                if (etag is None or current.etag == etag) and self._shared_edit(master_id, link):
                    current = self._fetch(id)
                    if current is not None and not gone(current):
                        now = self._remote(current)
                        if content_hash(now.item) == content_hash(item):
                            return now
                        etag = current.etag
        body: dict[str, Any] = event_to_google(item, patch=True, attendees=self.sync_attendees)
        if "_" in id and item.recurrence is None:
            # An instance of a series (server ids hold "_"): it never carries a recurrence.
            body.pop("recurrence", None)
        headers = {"If-Match": etag} if etag else None
        doc = self.http.json(
            "PATCH", self._events_path(id), params=NO_MAIL, json=body, headers=headers
        )
        return self._read(doc, id)

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id` (If-Match `etag`); an event already gone or deleted is fine.

                Someone else's meeting is declined instead (calsync deletes only events the user
        organises): deleting the user's
                copy is not theirs to do, and the declined copy reads as gone from then on. That
                takes a GET first; `gone` events need nothing more.
        """
        current = self._fetch(id)
        if current is None or gone(current):
            return
        match = etag or current.etag
        headers = {"If-Match": match} if match else None
        if foreign(current):
            attendees = []
            for person in current.attendees or ():
                entry = person.dump()
                entry.pop("self", None)
                if person.is_self:
                    entry["responseStatus"] = "declined"
                attendees.append(entry)
            self.http.call(
                "PATCH",
                self._events_path(id),
                params=NO_MAIL,
                json={"attendees": attendees},
                headers=headers,
            )
            return
        try:
            self.http.call("DELETE", self._events_path(id), params=NO_MAIL, headers=headers)
        except NotFound:
            _LOGGER.debug("event %s was already gone", id)

    # -- calendars ------------------------------------------------------------------------

    def list_calendars(self) -> list[CalendarInfo]:
        """Return the calendars in the user's calendar list, with the user's access role."""
        found: list[CalendarInfo] = []
        params = {"maxResults": "250"}
        while True:
            page = self.http.json("GET", f"{API}/users/me/calendarList", params=params)
            for raw in page.get("items") or ():
                entry = CalendarListEntry.model_validate(raw)
                if entry.deleted:
                    continue
                found.append(
                    CalendarInfo(
                        id=entry.id,
                        summary=entry.summary_override or entry.summary or entry.id,
                        access_role=entry.access_role or "none",
                        primary=bool(entry.primary),
                        time_zone=entry.time_zone,
                    )
                )
            token = page.get("nextPageToken")
            if not token:
                return found
            params = {"maxResults": "250", "pageToken": str(token)}
