"""vtiger as a calsync Side: one user's Events (`VtigerEventsSide`) or to-dos (`VtigerTasksSide`).

Terminology as in calsync.sides.base; here *id* is the vtiger ws id (`18x42`, `9x43`) and
*etag* is `modifiedtime` plus a digest of the fields (`record_etag`). Cursors are text:
- `s:<epoch>`: the `sync` operation's tie-safe lastModifiedTime;
- `q:<epoch>:<ids>`: the VTQL fallback (vtiger on PHP 8, where `sync` answers HTTP 500):
  records with `modifiedtime >=` the epoch, and deletions found by comparing the known ids
  (zlib+base64 in the cursor, taking in the records the round itself created) with the ids
  that still exist. A quiet round checks only that their number is unchanged (one query);
  every id is listed only when it is not.
Bad records are logged, listed in `ChangeSet.skipped` and never abort a read; an id is only
reported deleted when vtiger said so or a complete id listing no longer has it.
A record that changed module (an inline edit in vtiger's UI can turn an event into a to-do)
answers INVALID_ID_ATTRIBUTE under its old id: that id is gone from this side, and the record
appears as new on the other module's side.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from calsync.errors import AdapterError, InvalidItem, NotFound, PreconditionFailed, unreadable
from calsync.model import Event, SeriesLink, Task
from calsync.sides.base import ChangeSet, Remote
from calsync.sides.vtiger.client import SyncResult, VtigerClient, owner_id, vtql_quote
from calsync.sides.vtiger.errors import (
    SyncUnavailable,
    VtigerForbidden,
    VtigerInvalid,
    VtigerNotFound,
)
from calsync.sides.vtiger.feed import ApplicationFeed
from calsync.sides.vtiger.links import SeriesTables
from calsync.sides.vtiger.mapping import (
    DEFAULT_EVENT_TYPES,
    event_fields,
    event_from_record,
    task_fields,
    task_from_record,
)
from calsync.sides.vtiger.series import SERIES_LABELS, Member, RuleRow, from_links, from_records

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T", Event, Task)


_OUTSIDE_BMP = re.compile("[\U00010000-\U0010ffff]")


def stored_text(text: str) -> str:
    """Return `text` as vtiger keeps it on the 3-byte `utf8` database its installer makes.

    Each character outside the BMP (emoji) comes back as `??`; accents, dashes and other BMP
    symbols survive. calsync compares with this so the damage is never read as an edit.
    """
    return _OUTSIDE_BMP.sub("??", text)


def encode_ids(ids: Iterable[str]) -> str:
    """Return a compact text form of ws ids of one module (sorted crmids, zlib, base64)."""
    nums = sorted({int(i.split("x", 1)[1]) for i in ids})
    raw = ",".join(str(n) for n in nums).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode()


def decode_ids(blob: str, prefix: str) -> set[str]:
    """Return the ws ids `encode_ids` packed (with the module's `prefix`)."""
    raw = zlib.decompress(base64.urlsafe_b64decode(blob.encode())).decode()
    return {f"{prefix}x{n}" for n in raw.split(",") if n}


def record_etag(rec: dict[str, Any]) -> str:
    """Return a version of `rec`: its `modifiedtime` plus a digest of its fields.

    `modifiedtime` has one-second resolution, so two edits within a second would share it;
    the digest tells them apart (an etag must change whenever the record does).
    """
    body = {k: v for k, v in rec.items() if k not in ("modifiedtime", "modifiedby")}
    digest = hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f"{rec.get('modifiedtime', '')}~{digest[:12]}"


class _VtigerSide(Generic[T]):
    """What Events and to-dos share: cursors, the two change feeds, etag checks."""

    name = "crm"
    module = ""
    prefix = ""

    def __init__(
        self,
        client: VtigerClient,
        user_ws_id: str,
        user_tz: str,
        feed: ApplicationFeed | None = None,
    ) -> None:
        self.client = client
        self.user_ws_id = user_ws_id
        self.user_tz = user_tz
        self.feed = feed
        """Shared application-wide feed (admin client serving many users), if any."""
        self._created: set[str] = set()
        self._deleted: set[str] = set()
        self._seen: dict[str, dict[str, Any]] = {}
        """The records behind the items of the last listing, by id."""
        """Ids this side created and deleted since its last VTQL listing (for the snapshot)."""

    # to implement ------------------------------------------------------------------------

    def _item(self, rec: dict[str, Any]) -> T:
        raise NotImplementedError

    def _fields(self, item: T, current: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    # reading -----------------------------------------------------------------------------

    def _read(self, rec: dict[str, Any], what: str) -> Remote[T]:
        """Return the record as an item; InvalidItem when it cannot be read as one."""
        with unreadable(f"vtiger {self.module} record {what}"):
            return Remote(str(rec["id"]), record_etag(rec), self._item(rec))

    def _remote(self, rec: dict[str, Any], skipped: dict[str, str]) -> Remote[T] | None:
        try:
            out = self._read(rec, str(rec.get("id", "")))
            self._seen[out.id] = rec
            return out
        except InvalidItem as err:
            _LOGGER.warning("vtiger %s record %s skipped: %s", self.module, rec.get("id"), err)
            skipped[str(rec.get("id", ""))] = str(err)
            return None

    def _remotes(self, recs: Iterable[dict[str, Any]], skipped: dict[str, str]) -> list[Remote[T]]:
        out = [self._remote(r, skipped) for r in recs]
        return [r for r in out if r is not None]

    def _sync(self, since: int) -> SyncResult:
        if not self.client.user_id:
            self.client.login()
        if self.client.user_id == self.user_ws_id:
            return self.client.sync(self.module, since)
        # An admin connection serves other users through the application-wide feed.
        if self.feed is not None:
            return self.feed.for_user(self.module, since, self.user_ws_id)
        return self.client.sync(self.module, since, "application").for_owner(self.user_ws_id)

    def changes(self, cursor: str | None) -> ChangeSet[T]:
        """Return changes since `cursor` (a full listing when None or not usable)."""
        self._seen = {}
        return self._annotate(self._changes(cursor))

    def _annotate(self, cs: ChangeSet[T]) -> ChangeSet[T]:
        """Return `cs` with what the listed records say beyond each item (Events: series)."""
        return cs

    def _changes(self, cursor: str | None) -> ChangeSet[T]:
        since, known = self._parse(cursor)
        if self.client.sync_works is not False:
            try:
                res = self._sync(since or 0)
            except SyncUnavailable as err:
                _LOGGER.warning("vtiger sync unavailable (%s): falling back to VTQL", err)
            else:
                skipped: dict[str, str] = {}
                items = self._remotes(res.updated, skipped)
                return ChangeSet(
                    items=items,
                    deleted=[] if since is None else res.deleted,
                    cursor=f"s:{res.last_modified}",
                    full=since is None,
                    skipped=list(skipped),
                    skip_reasons=skipped,
                )
        return self._by_query(since if known is not None else None, known)

    def _by_query(self, since: int | None, known: set[str] | None) -> ChangeSet[T]:
        start = self.client.server_time()
        skipped: dict[str, str] = {}
        if since is None or known is None:
            recs = self.client.query_all(
                f"SELECT * FROM {self.module} WHERE assigned_user_id = '{self.user_ws_id}'"
            )
            live = {str(r["id"]) for r in recs}
            items, full = self._remotes(recs, skipped), True
            deleted: list[str] = []
        else:
            recs = self.client.changes_by_query(self.module, since, self.user_ws_id)
            items, full = self._remotes(recs, skipped), False
            # Every live record of the user is known or was modified since `since` (created,
            # edited, given to the user), so the expected set holds all live ids. When the
            # count matches too, nothing was deleted: one query instead of listing every id.
            # (A record restored from the recycle bin keeps its old modifiedtime; with a
            # deletion in the same interval the counts agree, and the daily full listing,
            # which reads absent copies by id, finds both.)
            live = known | {str(r["id"]) for r in recs}
            if self._holds_exactly(live):
                deleted = []
            else:
                live = set(self.client.live_ids(self.module, self.user_ws_id))
                deleted = self._confirm_gone(known - live)
        # Records created in this round (after `start`) come back in the next increment, but
        # one the user deletes before then would be in no listing: the snapshot of known ids
        # stored with the cursor takes in this round's own creates (and drops its deletes).
        self._created, self._deleted = set(), set()

        def snapshot() -> str:
            return f"q:{start}:{encode_ids((live | self._created) - self._deleted)}"

        return ChangeSet(
            items=items,
            deleted=deleted,
            cursor=snapshot(),
            full=full,
            skipped=list(skipped),
            skip_reasons=skipped,
            after_round=snapshot,
        )

    def _holds_exactly(self, ids: set[str]) -> bool:
        """Return True when the user has exactly as many live records as `ids` holds."""
        return self.client.holds_exactly(self.module, len(ids), self.user_ws_id)

    def _confirm_gone(self, candidates: set[str]) -> list[str]:
        """Return the `candidates` that are really gone (deleted, now someone else's, moved).

        An id listing paged while records were deleted can shift a live id past a page edge;
        reading each candidate back keeps such a shift from ever deleting anything. A
        candidate vtiger refuses to show for another reason is not called deleted either,
        and the round goes on.
        """
        gone = []
        for ws_id in sorted(candidates):
            try:
                current = self._current(ws_id)
            except VtigerInvalid as err:
                _LOGGER.warning("vtiger %s %s unreadable, not deleted: %s", self.module, ws_id, err)
                continue
            if current is None:
                gone.append(ws_id)
            else:
                _LOGGER.info(
                    "vtiger %s %s missing from the id listing but alive", self.module, ws_id
                )
        return gone

    def _parse(self, cursor: str | None) -> tuple[int | None, set[str] | None]:
        if not cursor:
            return None, None
        try:
            kind, _, rest = cursor.partition(":")
            if kind == "s":
                return int(rest), None
            if kind == "q":
                epoch, _, blob = rest.partition(":")
                return int(epoch), decode_ids(blob, self.prefix)
        except (ValueError, zlib.error) as err:
            _LOGGER.warning("unusable vtiger cursor %r (%s): full listing", cursor[:40], err)
        return None, None

    def _current(self, id: str) -> dict[str, Any] | None:
        try:
            rec = self.client.retrieve(id)
        except VtigerNotFound:
            return None
        except VtigerForbidden as err:
            # A user may read all of its own records: one it may not read (another user's
            # private event now) is no longer in its calendar.
            _LOGGER.info("vtiger %s %s not readable by this user: %s", self.module, id, err)
            return None
        except VtigerInvalid as err:
            if err.code != "INVALID_ID_ATTRIBUTE" or not id.startswith(f"{self.prefix}x"):
                raise
            # Our own id, refused: the record now lives in the other module (an event turned
            # into a to-do or back); the other module's side lists it under its new id.
            _LOGGER.info("vtiger %s %s changed module: gone from %s", self.module, id, self.module)
            return None
        if owner_id(rec.get("assigned_user_id")) != self.user_ws_id:
            return None  # reassigned to someone else: no longer in this user's calendar
        return rec

    def get(self, id: str) -> Remote[T] | None:
        """Return the item `id`, or None when deleted, unknown or no longer this user's."""
        rec = self._current(id)
        if rec is None:
            return None
        return self._read(rec, id)

    # writing -----------------------------------------------------------------------------

    def _mandatory(self, fields: dict[str, Any], create: bool) -> dict[str, Any]:
        """Satisfy the fields the admin made mandatory (describe, read at run time).

        On create an empty one is filled as upstream's `fillMandatoryFields` does (`?????`
        for text, the default or first value of a picklist, 0 for numbers); on update an
        empty one is not sent, so the CRM keeps its value instead of refusing the revise.
        """
        out = dict(fields)
        for f in self.client.describe(self.module)["fields"]:
            name = f["name"]
            if not f.get("mandatory") or str(out.get(name, "")).strip():
                continue
            if not create:
                out.pop(name, None)
                continue
            kind = f.get("type", {})
            values = [v["value"] for v in kind.get("picklistValues", [])]
            if kind.get("name") == "picklist" and values:
                out[name] = kind.get("defaultValue") or values[0]
            elif kind.get("name") in ("integer", "double", "currency"):
                out[name] = "0"
            elif kind.get("name") in ("string", "text", "phone", "url", "email"):
                out[name] = "?????"
            # dates, times and references have no safe filler: vtiger will name the field
        return out

    def _write(self, fields: dict[str, Any], id: str | None) -> dict[str, Any]:
        """Create (no `id`) or revise; on MANDATORY_FIELDS_MISSING re-read describe once."""
        for fresh in (False, True):
            if fresh:
                self.client.describe(self.module, refresh=True)
            ready = self._mandatory(fields, create=id is None)
            try:
                if id is None:
                    return self.client.create(self.module, ready)
                return self.client.revise({**ready, "id": id})
            except VtigerInvalid as err:
                if err.code != "MANDATORY_FIELDS_MISSING" or fresh:
                    raise
                _LOGGER.info("vtiger %s: %s; reading describe again", self.module, err.message)
        raise AssertionError("unreachable")

    def create(self, item: T, key: str) -> Remote[T]:
        """Create `item` for the user (vtiger has no place for `key`)."""
        rec = self._write(self._fields(item, None), None)
        if str(rec["id"]).startswith(f"{self.prefix}x"):
            self._created.add(str(rec["id"]))
        return self._read(rec, "just created")

    def update(self, id: str, item: T, etag: str | None) -> Remote[T]:
        """Revise the owned fields of `id`; PreconditionFailed when `etag` is stale.

        NotFound when the record is gone or now belongs to another user (an admin key could
        still write it, but it is no longer in this user's calendar).
        """
        current = self._current(id)
        if current is None:
            raise NotFound(f"vtiger {id} is deleted or no longer {self.user_ws_id}'s")
        if etag is not None and record_etag(current) != etag:
            raise PreconditionFailed(f"vtiger {id} changed since {etag}")
        rec = self._write(self._fields(item, current), id)
        return self._read(rec, id)

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id` (soft delete on vtiger); an already deleted id is fine.

        A record reassigned to another user is left alone: it is gone from this calendar.
        """
        current = self._current(id)
        if current is None:
            self._deleted.add(id)
            return
        if etag is not None and record_etag(current) != etag:
            raise PreconditionFailed(f"vtiger {id} changed since {etag}")
        self.client.delete(id)
        self._deleted.add(id)


class VtigerEventsSide(_VtigerSide[Event]):
    """One user's vtiger Events (meetings and calls) as a Side of Event.

    Listed occurrences of a series made in vtiger's UI carry the recovered series
    (`Event.series`, see calsync.sides.vtiger.series): from vtiger's own tables when `tables`
    reads its database, else from what the webservice shows, only when that is certain.
    """

    module = "Events"
    prefix = "18"

    def __init__(
        self,
        client: VtigerClient,
        user_ws_id: str,
        user_tz: str,
        feed: ApplicationFeed | None = None,
        tables: SeriesTables | None = None,
    ) -> None:
        super().__init__(client, user_ws_id, user_tz, feed)
        self._types: tuple[str, ...] | None = None
        self.tables = tables

    def _annotate(self, cs: ChangeSet[Event]) -> ChangeSet[Event]:
        if not cs.items:
            return cs
        try:
            links = self._series(cs)
        except AdapterError as err:
            # Without the series the occurrences still sync, as single events.
            _LOGGER.warning("vtiger series of %s not recovered: %s", self.user_ws_id, err)
            return cs
        if links:
            cs.items = [
                Remote(r.id, r.etag, r.item.with_(series=links[r.id]), r.key, r.series)
                if r.id in links
                else r
                for r in cs.items
            ]
        return cs

    def _members(self, recs: Iterable[dict[str, Any]], into: dict[str, Member]) -> None:
        for rec in recs:
            ws_id = str(rec.get("id", ""))
            if ws_id in into:
                continue
            try:
                into[ws_id] = Member(ws_id, rec, self._read(rec, ws_id).item)
            except InvalidItem:
                continue

    def _series(self, cs: ChangeSet[Event]) -> dict[str, SeriesLink]:
        members = {
            r.id: Member(r.id, self._seen[r.id], r.item) for r in cs.items if r.id in self._seen
        }
        if self.tables is not None:
            try:
                return self._linked(members)
            except AdapterError as err:
                _LOGGER.warning("vtiger database unreadable, series from the webservice: %s", err)
        labels = {str(m.record.get("recurringtype") or "") for m in members.values()}
        labels &= set(SERIES_LABELS)
        if not labels:
            return {}
        if not cs.full:
            # An increment may hold part of a series only: read its look-alikes too.
            owner = vtql_quote(self.user_ws_id)
            for label in sorted(labels):
                self._members(
                    self.client.query_all(
                        f"SELECT * FROM Events WHERE assigned_user_id = {owner}"
                        f" AND recurringtype = {vtql_quote(label)}"
                    ),
                    members,
                )
        return from_records(members.values(), self.user_tz)

    def _linked(self, members: dict[str, Member]) -> dict[str, SeriesLink]:
        assert self.tables is not None
        crmid = {int(i.split("x", 1)[1]): i for i in members if i.startswith(f"{self.prefix}x")}
        parent_of = self.tables.series_of(crmid)
        if not parent_of:
            return {}
        kids = self.tables.members(set(parent_of.values()))
        wanted = [
            f"{self.prefix}x{c}"
            for found in kids.values()
            for c in found
            if f"{self.prefix}x{c}" not in members
        ]
        for i in range(0, len(wanted), 50):
            ids = ", ".join(vtql_quote(w) for w in wanted[i : i + 50])
            self._members(
                self.client.query_all(
                    f"SELECT * FROM Events WHERE assigned_user_id = {vtql_quote(self.user_ws_id)}"
                    f" AND id IN ({ids})"
                ),
                members,
            )
        rows = self.tables.rules({c for found in kids.values() for c in found} | set(kids))
        groups: dict[str, list[Member]] = {}
        rules: dict[str, RuleRow] = {}
        for parent, found in kids.items():
            series_id = f"{self.prefix}x{parent}"
            groups[series_id] = [
                members[f"{self.prefix}x{c}"] for c in found if f"{self.prefix}x{c}" in members
            ]
            row = rows.get(parent) or next((rows[c] for c in sorted(found) if c in rows), None)
            if row is not None:
                rules[series_id] = row
        return from_links(groups, rules, self.user_tz)

    def activity_types(self) -> tuple[str, ...]:
        """Return the event activity types the admin configured (describe, read once)."""
        if self._types is None:
            values = [v for v in self.client.picklist("Events", "activitytype") if v != "Task"]
            self._types = tuple(values) or DEFAULT_EVENT_TYPES
        return self._types

    def _item(self, rec: dict[str, Any]) -> Event:
        return event_from_record(rec, self.user_tz, self.activity_types())

    def _fields(self, item: Event, current: dict[str, Any] | None) -> dict[str, Any]:
        return event_fields(item, self.user_tz, create=current is None, owner=self.user_ws_id)


class VtigerTasksSide(_VtigerSide[Task]):
    """One user's vtiger Calendar to-dos as a Side of Task."""

    module = "Calendar"
    prefix = "9"

    def _item(self, rec: dict[str, Any]) -> Task:
        return task_from_record(rec)

    def _fields(self, item: Task, current: dict[str, Any] | None) -> dict[str, Any]:
        return task_fields(item, self.user_tz, current=current, owner=self.user_ws_id)
