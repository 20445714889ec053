"""One Google calendar of one user as a calsync Side[Event] (Calendar API v3 over GoogleHttp).

Public API: `GoogleCalendarSide(http, calendar_id, key_namespace, time_min=, time_max=,
sync_attendees=, default_tz=)` with `changes`, `get`, `get_many`, `create`, `update`,
`delete`, `write_many`, `event_id`, `series_of`, `get_in`, `locate` (events that moved to
another synced calendar), `list_calendars`; `CalendarInfo`.

Rules kept here: inserts use the id derived from our
key (a retried insert gets 409 -> AlreadyExists, for the engine to adopt); updates are PATCHes
of owned fields with `If-Match`, never PUT; every write sends `sendUpdates=none`; a 410 on a
sync token raises InvalidSyncToken; the full listing is bounded by the sync window.
Without `singleEvents` a recurring event is one item, its master with its exceptions as
`Event.overrides` (see calsync.sides.google.series).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from calsync.errors import (
    PARSE_ERRORS,
    AdapterError,
    AlreadyExists,
    CalsyncError,
    InvalidItem,
    NotFound,
    PreconditionFailed,
    unreadable,
)
from calsync.model import Event, Reminder, SeriesLink, content_hash
from calsync.sides.base import ChangeSet, Remote, Write, WriteOp, WriteResult
from calsync.sides.google.batch import BatchCall, BatchReply
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.mapping import (
    event_from_google,
    event_id_for,
    event_to_google,
    made_by_calsync,
    series_property,
)
from calsync.sides.google.moves import get_in, locate
from calsync.sides.google.series import (
    list_exceptions,
    master_part,
    overrides_of,
    series_etag,
    write_overrides,
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
        siblings: Sequence[str] = (),
    ) -> None:
        self.http = http
        self.siblings = tuple(s for s in siblings if s != calendar_id)
        """The user's other synced calendars: where an event gone from this one may have
        moved to (`locate`)."""
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

    def _event(self, doc: GoogleEvent) -> tuple[Event, str | None]:
        with unreadable(f"Google event {doc.id}"):
            event, key = event_from_google(
                doc,
                namespace=self.namespace,
                default_tz=self.default_tz,
                default_reminders=self.default_reminders,
            )
        if key is not None and not doc.recurring_event_id and doc.id != self.event_id(key):
            # Our key on an event that does not hold the id derived from it: a copy Google
            # made (a "this and following" split, the UI's duplicate) carrying the original's
            # extended properties. It is a new event of the user's, not the CRM item's copy.
            key = None
        if key is None and doc.recurring_event_id and doc.original_start_time is not None:
            key = self._occurrence_key(doc)
        return event, key

    def _remote(self, doc: GoogleEvent) -> Remote[Event]:
        event, key = self._event(doc)
        uid = doc.ical_uid or ""
        first = uid.removesuffix("@google.com") if uid.endswith("@google.com") else None
        if first == doc.id or doc.recurring_event_id:
            first = None
        return Remote(str(doc.id), doc.etag or "", event, key, doc.recurring_event_id, first)

    def _occurrence_key(self, doc: GoogleEvent) -> str | None:
        """Return `<series key>@<original start>` for an instance of a recurring event made
        for a CRM series: a copy of a CRM occurrence, whichever record it is."""
        if not made_by_calsync(doc.recurring_event_id or ""):
            # The mark copied onto a series Google made (a "this and following" split of
            # ours): its occurrences are new events of the user's, not copies of CRM records.
            return None
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

    def _collect(
        self, raw: Any, result: ChangeSet[Event], series: dict[str, GoogleEvent | None]
    ) -> None:
        """Add one listed event to `result`: a change, a deletion, or (unreadable) skipped.

        Without `singleEvents` a series is one item: a listed master or exception only notes
        the series in `series` (master id -> master, when listed), to be read whole later.
        """
        event_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        try:
            doc = GoogleEvent.model_validate(raw)
            self._note_series(doc)
            if not self.single_events and doc.recurring_event_id:
                # An exception belongs to its series' item. Its own id is no item (a pair
                # linked to it from before series were kept whole is thereby let go).
                series.setdefault(doc.recurring_event_id, None)
                result.deleted.append(str(doc.id))
            elif gone(doc):
                result.deleted.append(str(doc.id))
            elif not self.single_events and doc.recurrence:
                series[str(doc.id)] = doc
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
        series: dict[str, GoogleEvent | None] = {}
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
                self._collect(item, result, series)
            page_token = page.next_page_token
            if not page_token:
                result.cursor = page.next_sync_token
                break
        if self.single_events and not result.full:
            # A series listed occurrence by occurrence may have lost occurrences that the
            # increment does not list as deleted (a rule cut short by a split): ask for the
            # unlisted ones of the series it holds to be read by id.
            changed = {r.series for r in result.items if r.series}
            changed |= {s for i in result.deleted if (s := self._series.get(i, ("", ""))[0])}
            if changed:
                result.reread = lambda id_: id_.rpartition("_")[0] in changed
        for master_id, master in series.items():
            try:
                whole = self._read_series(master_id, master)
            except (*PARSE_ERRORS, InvalidItem) as err:
                _LOGGER.warning("Google series %s skipped: %s", master_id, err)
                result.skip(master_id, str(err))
                continue
            if whole is not None:
                result.items.append(whole)
            elif master is None:
                result.deleted.append(master_id)
        return result

    # -- series ---------------------------------------------------------------------------

    def _read_series(self, master_id: str, master: GoogleEvent | None) -> Remote[Event] | None:
        """Return the series `master_id` as one item (master + exceptions), None when gone.

        `master` is its master when already read. The exceptions are read by the series'
        iCalUID (cancelled ones included), so a window-bounded listing that missed some, or an
        increment holding one exception, still gives the whole series.
        """
        if master is None:
            master = self._fetch(master_id)
            if master is None or gone(master):
                return None
        if not master.recurrence:
            return self._remote(master)
        exceptions = [e for e in self._exceptions(master) if e.recurring_event_id == master.id]
        event, key = self._event(master)
        overrides = overrides_of(event, exceptions, lambda d: self._event(d)[0])
        return Remote(
            str(master.id), series_etag(master, exceptions), event.with_(overrides=overrides), key
        )

    def _exceptions(self, master: GoogleEvent) -> list[GoogleEvent]:
        return list_exceptions(self.http, self._events_path(), master, self._doc, self.page_size)

    def _write_overrides(self, master_id: str, item: Event, now: Remote[Event] | None) -> None:
        write_overrides(self, master_id, item, now)

    def patch_instance(self, target: str, event: Event) -> None:
        """PATCH the instance `target` of a series to hold `event` (never a recurrence)."""
        body = event_to_google(event, patch=True, attendees=self.sync_attendees)
        body.pop("recurrence", None)
        self.http.json("PATCH", self._events_path(target), params=NO_MAIL, json=body)

    def cancel_instance(self, target: str) -> None:
        """Cancel the instance `target` of a series (DELETE on its id)."""
        self.http.call("DELETE", self._events_path(target), params=NO_MAIL)

    def get(self, id: str) -> Remote[Event] | None:
        """Return the event `id`, or None when it is missing, cancelled or a declined invitation.

        InvalidItem when Google's copy cannot be read as an event.
        """
        doc = self._fetch(id)
        if doc is None or gone(doc):
            return None
        return self._whole(doc)

    def _whole(self, doc: GoogleEvent) -> Remote[Event] | None:
        """Return a read event as calsync's item: a series whole, an exception as no item of
        its own (it is part of its series' item), anything else as itself."""
        if self.single_events:
            return self._remote(doc)
        if doc.recurring_event_id:
            return None
        if doc.recurrence:
            return self._read_series(str(doc.id), doc)
        return self._remote(doc)

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
            error = reply.failure()
            if error is not None:
                if isinstance(error, NotFound):
                    found[event_id] = None
                    continue
                raise error
            doc = self._doc(reply.body, event_id)
            found[event_id] = None if gone(doc) else self._whole(doc)
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
        made = self._single(Write(WriteOp.CREATE, item, key), self._insert_call(item, key))
        assert isinstance(made, Remote)
        if item.overrides and not self.single_events:
            # A series with exceptions: its master first, then each exception on its own.
            self._write_overrides(made.id, item, None)
            return self._read_series(made.id, None) or made
        return made

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
        A series held as one item is written whole: its master (when it changed), then each
        exception that differs from what Google holds; `etag` is then the series' etag.
        """
        link = item.series
        master_id = self.series_event_id(link.id) if link is not None else ""
        if link is not None and id.startswith(f"{master_id}_"):
            current = self._fetch(id)
            if current is not None and not gone(current):
                found = self._remote(current)
                if content_hash(found.item) == content_hash(item):
                    return found
                if (etag is None or current.etag == etag) and self._shared_edit(master_id, link):
                    current = self._fetch(id)
                    if current is not None and not gone(current):
                        found = self._remote(current)
                        if content_hash(found.item) == content_hash(item):
                            return found
                        etag = current.etag
        now = None
        if not self.single_events and "_" not in id:
            current = self._fetch(id)
            if current is not None and current.recurrence and not gone(current):
                now = self._read_series(id, current)
        if now is not None:
            if etag and etag != now.etag:
                raise PreconditionFailed(f"series {id} is at {now.etag}, not {etag}")
            master = item.with_(overrides=())
            if content_hash(master) != content_hash(now.item.with_(overrides=())):
                self._patch_master(id, master, master_part(now.etag))
            self._write_overrides(id, item, now)
            return self._read_series(id, None) or now
        made = self._patch_master(id, item.with_(overrides=()), master_part(etag))
        if item.overrides and not self.single_events:
            self._write_overrides(id, item, None)
            return self._read_series(id, None) or made
        return made

    def _patch_master(self, id: str, item: Event, etag: str | None) -> Remote[Event]:
        write = Write(WriteOp.UPDATE, item, id=id, etag=etag)
        remote = self._single(write, self._patch_call(id, item, etag))
        assert isinstance(remote, Remote)
        return remote

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id` (If-Match `etag`); an event already gone or deleted is fine.

        Someone else's meeting is declined instead (calsync deletes only events the user
        organises): deleting the user's copy is not theirs to do, and the declined copy reads
        as gone from then on. That takes a GET first; `gone` events need nothing more.
        """
        current = self._fetch(id)
        if current is None or gone(current):
            return
        self._single(Write(WriteOp.DELETE, id=id, etag=etag), self._delete_call(id, etag, current))

    @property
    def batch_size(self) -> int:
        """Writes per batch request (the HTTP client's batch size)."""
        return self.http.batch_size

    def write_many(self, writes: Sequence[Write[Event]]) -> list[WriteResult[Event]]:
        """Send `writes` as batch requests and return each one's outcome, in order.

        Each part is what the single call would send and is answered on its own. Deletes read
        their events first, in one batch of their own (someone else's meeting is declined,
        not deleted); occurrences of a CRM series go on their own (`create`, `update`).
        Raises only when a whole batch request failed.
        """
        results: list[WriteResult[Event]] = [None] * len(writes)
        current = self._current([w.id for w in writes if w.op is WriteOp.DELETE])
        calls: list[BatchCall] = []
        slots: list[int] = []
        for i, w in enumerate(writes):
            if w.item is not None and (w.item.series is not None or self._whole_series(w.item)):
                # An occurrence of a CRM series joins its recurring event, and a series held
                # as one item is written master then exceptions: several calls that depend on
                # each other's answers, sent on their own.
                results[i] = self._alone(w, w.item)
                continue
            if w.op is WriteOp.CREATE:
                assert w.item is not None
                calls.append(self._insert_call(w.item, w.key))
            elif w.op is WriteOp.UPDATE:
                assert w.item is not None
                calls.append(self._patch_call(w.id, w.item, w.etag))
            else:
                doc = current[w.id]
                if isinstance(doc, CalsyncError) or doc is None or gone(doc):
                    results[i] = doc if isinstance(doc, CalsyncError) else None
                    continue
                calls.append(self._delete_call(w.id, w.etag, doc))
            slots.append(i)
        if calls:
            for i, reply in zip(slots, self.http.batch(BATCH_PATH, calls), strict=True):
                try:
                    results[i] = self._answer(writes[i], reply)
                except CalsyncError as err:
                    results[i] = err
        return results

    # -- writes, one part each ------------------------------------------------------------

    def _whole_series(self, item: Event) -> bool:
        """Return True for a series written whole (master and exceptions), not in a batch."""
        return not self.single_events and (item.recurrence is not None or bool(item.overrides))

    def _alone(self, write: Write[Event], item: Event) -> WriteResult[Event]:
        """Return the outcome of `write` sent through `create` or `update`, not in a batch."""
        try:
            if write.op is WriteOp.CREATE:
                return self.create(item, write.key)
            return self.update(write.id, item, write.etag)
        except CalsyncError as err:
            return err

    def _single(self, write: Write[Event], call: BatchCall) -> WriteResult[Event]:
        """Send `call` on its own (not in a batch); return its outcome or raise its error."""
        try:
            body = self.http.json(
                call.method, call.path, params=call.params, json=call.body,
                headers=call.headers or None,
            )  # fmt: skip
        except AdapterError as err:
            return self._failed(write, err)
        return self._done(write, body)

    def _insert_call(self, item: Event, key: str) -> BatchCall:
        body = event_to_google(
            item,
            key=key,
            namespace=self.namespace,
            event_id=self.event_id(key),
            attendees=self.sync_attendees,
        )
        # Safe to send twice: the id derives from the key, so a second insert is a 409.
        return BatchCall("POST", self._events_path(), dict(NO_MAIL), body)

    def _patch_call(self, id: str, item: Event, etag: str | None) -> BatchCall:
        body: dict[str, Any] = event_to_google(item, patch=True, attendees=self.sync_attendees)
        if "_" in id and item.recurrence is None:
            # An instance of a series (server ids hold "_"): it never carries a recurrence.
            body.pop("recurrence", None)
        match = master_part(etag)  # a series etag: If-Match on its master
        headers = {"If-Match": match} if match else {}
        return BatchCall("PATCH", self._events_path(id), dict(NO_MAIL), body, headers)

    def _delete_call(self, id: str, etag: str | None, current: GoogleEvent) -> BatchCall:
        match = master_part(etag) or current.etag  # a series etag: If-Match on its master
        headers = {"If-Match": match} if match else {}
        if foreign(current):
            attendees = []
            for person in current.attendees or ():
                entry = person.dump()
                entry.pop("self", None)
                if person.is_self:
                    entry["responseStatus"] = "declined"
                attendees.append(entry)
            return BatchCall(
                "PATCH", self._events_path(id), dict(NO_MAIL), {"attendees": attendees}, headers
            )
        return BatchCall("DELETE", self._events_path(id), dict(NO_MAIL), None, headers)

    def _answer(self, write: Write[Event], reply: BatchReply) -> WriteResult[Event]:
        """Return the outcome of one batch part from its answer; raise the call's error."""
        error = reply.failure()
        if error is not None:
            return self._failed(write, error)
        return self._done(write, reply.body)

    def _done(self, write: Write[Event], body: dict[str, Any]) -> WriteResult[Event]:
        if write.op is WriteOp.DELETE:
            return None
        return self._read(body, write.id or self.event_id(write.key))

    def _failed(self, write: Write[Event], error: AdapterError) -> WriteResult[Event]:
        """Raise the error of a failed write, as the single call does; a delete of an event
        already gone is no failure."""
        if write.op is WriteOp.DELETE and isinstance(error, NotFound):
            _LOGGER.debug("event %s was already gone", write.id)
            return None
        if write.op is WriteOp.CREATE and isinstance(error, AlreadyExists):
            event_id = self.event_id(write.key)
            raise AlreadyExists(
                f"event {event_id} (key {write.key!r}) exists already", existing_id=event_id
            ) from error
        raise error

    def _current(self, ids: Sequence[str]) -> dict[str, GoogleEvent | CalsyncError | None]:
        """Return the events `ids` as Google holds them (one batch), each read on its own."""
        found: dict[str, GoogleEvent | CalsyncError | None] = {}
        if not ids:
            return found
        calls = [BatchCall("GET", self._events_path(i)) for i in ids]
        for event_id, reply in zip(ids, self.http.batch(BATCH_PATH, calls), strict=True):
            try:
                error = reply.failure()
                if error is not None:
                    raise error
                found[event_id] = self._doc(reply.body, event_id)
            except NotFound:
                found[event_id] = None
            except CalsyncError as err:
                found[event_id] = err
        return found

    # -- moves between calendars ----------------------------------------------------------

    def sibling(self, calendar_id: str) -> GoogleCalendarSide:
        """Return the user's calendar `calendar_id`, read the way this one is."""
        return GoogleCalendarSide(
            self.http,
            calendar_id,
            self.namespace,
            sync_attendees=self.sync_attendees,
            default_tz=self.default_tz,
            page_size=self.page_size,
            single_events=self.single_events,
        )

    def get_in(self, scope: str, id: str) -> Remote[Event] | None:
        """Return the event `id` of the user's calendar `scope` (None: missing or gone)."""
        return get_in(self, scope, id)

    def locate(self, id: str) -> tuple[str, Remote[Event]] | None:
        """Return (calendar, event) of the event `id`, gone from this calendar, in the synced
        calendar it moved to (see calsync.sides.google.moves); None when none has it."""
        return locate(self, id)

    def find_uid(self, uid: str) -> Remote[Event] | None:
        """Return the live event (not an instance) with iCalUID `uid`, None when none."""
        raw = self.http.json("GET", self._events_path(), params={"iCalUID": uid})
        for item in raw.get("items") or ():
            doc = self._doc(item, str(item.get("id", "")) if isinstance(item, dict) else "")
            if doc.id and not doc.recurring_event_id and not gone(doc):
                return self._whole(doc)
        return None

    def uid_of(self, id: str) -> str | None:
        """Return the iCalUID of the event `id` (cancelled ones too, when Google says)."""
        try:
            doc = self._fetch(id)
        except InvalidItem:
            return None
        return doc.ical_uid if doc is not None else None

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
