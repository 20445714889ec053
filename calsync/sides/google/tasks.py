"""One Google task list of one user as a calsync Side[Task] (Tasks API v1 over GoogleHttp).

Public API: `GoogleTasksSide(http, tasklist_id="@default", overlap=)` with `changes`, `get`,
`get_many`, `create`, `update`, `delete`, `write_many`, `matching`, `list_tasklists`;
`TaskListInfo`.

Tasks have no sync token: the cursor is a watermark taken from Google's
own `updated` (never our clock) minus a small overlap, and each incremental read asks for
`updatedMin` + `showDeleted` + `showHidden` + `showCompleted`, every page. Tasks get server
ids and cannot hold our key (we do not pollute the notes): they link through the state
table; after a lost insert reply the engine adopts the task by the content it asked for
(calsync.engine.intents), and `matching` (title + due) finds tasks without any state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from calsync.errors import (
    PARSE_ERRORS,
    AdapterError,
    CalsyncError,
    InvalidItem,
    NotFound,
    unreadable,
)
from calsync.model import Task
from calsync.sides.base import ChangeSet, Remote, Write, WriteOp, WriteResult
from calsync.sides.google.batch import BatchCall
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.mapping import parse_time, task_from_google, task_to_google
from calsync.sides.google.wire import GoogleTask, TaskList

_LOGGER = logging.getLogger(__name__)

API = "/tasks/v1"
BATCH_PATH = "/batch/tasks/v1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The watermark of a list read empty: the next read asks for every change ever made."""


def format_watermark(value: datetime) -> str:
    """Return an RFC 3339 UTC time with milliseconds, as `updatedMin` takes it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TaskListInfo:
    id: str
    title: str


class GoogleTasksSide:
    """Tasks of one Google task list, read and written for calsync."""

    name = "google"

    def __init__(
        self,
        http: GoogleHttp,
        tasklist_id: str = "@default",
        *,
        overlap: timedelta = timedelta(seconds=60),
        page_size: int = 100,
    ) -> None:
        self.http = http
        self.tasklist_id = tasklist_id
        self.overlap = overlap
        """Re-read this much before the newest `updated` seen (same-instant or late commits)."""
        self.page_size = page_size

    def _path(self, task_id: str | None = None) -> str:
        path = f"{API}/lists/{quote(self.tasklist_id, safe='@')}/tasks"
        return path if task_id is None else f"{path}/{quote(task_id, safe='')}"

    @staticmethod
    def _remote(doc: GoogleTask) -> Remote[Task]:
        with unreadable(f"Google task {doc.id}"):
            return Remote(str(doc.id), doc.etag or "", task_from_google(doc))

    @staticmethod
    def _doc(raw: Any, what: str) -> GoogleTask:
        """Return `raw` as a task; InvalidItem when it is not one (our parsing boundary)."""
        with unreadable(f"Google task {what}"):
            return GoogleTask.model_validate(raw)

    def _list(self, params: dict[str, str]) -> list[Any]:
        found: list[Any] = []
        query = dict(params, maxResults=str(self.page_size))
        while True:
            page = self.http.json("GET", self._path(), params=query)
            found += list(page.get("items") or ())
            token = page.get("nextPageToken")
            if not token:
                return found
            query = dict(query, pageToken=str(token))

    def changes(self, cursor: str | None) -> ChangeSet[Task]:
        """Return every task (cursor None) or those updated since the watermark `cursor`.

        The next cursor is the newest `updated` seen minus the overlap (never before `cursor`),
        so items in the overlap come again and are recognised by their hash.
        """
        params = {"showCompleted": "true", "showHidden": "true"}
        if cursor is not None:
            params.update(updatedMin=cursor, showDeleted="true")
        result: ChangeSet[Task] = ChangeSet(full=cursor is None, cursor=cursor)
        newest: datetime | None = None
        for raw in self._list(params):
            task_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            try:
                doc = GoogleTask.model_validate(raw)
                if doc.deleted:
                    result.deleted.append(str(doc.id))
                else:
                    result.items.append(self._remote(doc))
                stamp = parse_time(doc.updated) if doc.updated else None
            except (*PARSE_ERRORS, InvalidItem) as err:
                # One odd task must neither stop the round nor read as deleted.
                _LOGGER.warning("Google task %s skipped: %s", task_id, err)
                result.skip(task_id, str(err))
                continue
            if stamp is not None:
                newest = stamp if newest is None else max(newest, stamp)
        if newest is not None:
            mark = newest - self.overlap
            if cursor is None or mark > parse_time(cursor):
                result.cursor = format_watermark(mark)
        elif cursor is None:
            # An empty full listing still needs a cursor: without one the next read is full
            # again, and a list whose only (linked) tasks were deleted would read as emptied.
            result.cursor = format_watermark(EPOCH)
        return result

    def get(self, id: str) -> Remote[Task] | None:
        """Return the task `id`, or None when it is missing or deleted (InvalidItem: unreadable)."""
        try:
            raw = self.http.json("GET", self._path(id))
        except NotFound:
            return None
        doc = self._doc(raw, id)
        return None if doc.deleted else self._remote(doc)

    def get_many(self, ids: Sequence[str]) -> dict[str, Remote[Task] | None]:
        """Return the tasks `ids` via batch requests (None for missing or deleted ones).

        A part that fails otherwise (after the retries) raises its mapped error, an unreadable
        one InvalidItem.
        """
        calls = [BatchCall("GET", self._path(i)) for i in ids]
        found: dict[str, Remote[Task] | None] = {}
        for task_id, reply in zip(ids, self.http.batch(BATCH_PATH, calls), strict=True):
            error = reply.failure()
            if error is not None:
                if isinstance(error, NotFound):
                    found[task_id] = None
                    continue
                raise error
            doc = self._doc(reply.body, task_id)
            found[task_id] = None if doc.deleted else self._remote(doc)
        return found

    def create(self, item: Task, key: str) -> Remote[Task]:
        """Insert `item` (Google picks the id; `key` cannot be stored on a task).

        Not retried once sent: after an unknown outcome the engine's intent row adopts the
        task next round by its title and due date.
        """
        write = Write(WriteOp.CREATE, item, key)
        return self._single(write, self._call(write))  # type: ignore[return-value]

    def update(self, id: str, item: Task, etag: str | None) -> Remote[Task]:
        """PATCH `item` over `id` (reopening clears `completed`); If-Match when an etag is known."""
        write = Write(WriteOp.UPDATE, item, id=id, etag=etag)
        return self._single(write, self._call(write))  # type: ignore[return-value]

    def delete(self, id: str, etag: str | None) -> None:
        """Delete `id`; a task already gone is fine."""
        write: Write[Task] = Write(WriteOp.DELETE, id=id, etag=etag)
        self._single(write, self._call(write))

    @property
    def batch_size(self) -> int:
        """Writes per batch request (the HTTP client's batch size)."""
        return self.http.batch_size

    def write_many(self, writes: Sequence[Write[Task]]) -> list[WriteResult[Task]]:
        """Send `writes` as batch requests and return each one's outcome, in order.

        Each part is what the single call would send and is answered on its own; an insert
        is sent again only after a rate limit. Raises only when a whole request failed.
        """
        results: list[WriteResult[Task]] = []
        replies = self.http.batch(BATCH_PATH, [self._call(w) for w in writes])
        for write, reply in zip(writes, replies, strict=True):
            try:
                error = reply.failure()
                if error is not None:
                    results.append(self._failed(write, error))
                else:
                    results.append(self._done(write, reply.body))
            except CalsyncError as err:
                results.append(err)
        return results

    def _call(self, write: Write[Task]) -> BatchCall:
        headers = {"If-Match": write.etag} if write.etag else {}
        if write.op is WriteOp.CREATE:
            assert write.item is not None
            # Google picks the id: an insert that may have been applied is never sent again.
            return BatchCall("POST", self._path(), {}, task_to_google(write.item), idempotent=False)
        if write.op is WriteOp.UPDATE:
            assert write.item is not None
            body = task_to_google(write.item, patch=True)
            return BatchCall("PATCH", self._path(write.id), {}, body, headers)
        return BatchCall("DELETE", self._path(write.id), {}, None, headers)

    def _single(self, write: Write[Task], call: BatchCall) -> WriteResult[Task]:
        """Send `call` on its own (not in a batch); return its outcome or raise its error."""
        try:
            body = self.http.json(
                call.method, call.path, params=call.params or None, json=call.body,
                headers=call.headers or None, idempotent=call.idempotent,
            )  # fmt: skip
        except AdapterError as err:
            return self._failed(write, err)
        return self._done(write, body)

    def _done(self, write: Write[Task], body: dict[str, Any]) -> WriteResult[Task]:
        if write.op is WriteOp.DELETE:
            return None
        return self._remote(self._doc(body, write.id or "just created"))

    @staticmethod
    def _failed(write: Write[Task], error: AdapterError) -> WriteResult[Task]:
        """Raise the error of a failed write; a delete of a task already gone is none."""
        if write.op is WriteOp.DELETE and isinstance(error, NotFound):
            _LOGGER.debug("task %s was already gone", write.id)
            return None
        raise error

    def matching(self, item: Task) -> list[Remote[Task]]:
        """Return live tasks with the same title and due date (re-linking without a key)."""
        found: list[Remote[Task]] = []
        for raw in self._list({"showCompleted": "true", "showHidden": "true"}):
            try:
                doc = GoogleTask.model_validate(raw)
                if not doc.deleted:
                    found.append(self._remote(doc))
            except (*PARSE_ERRORS, InvalidItem):
                continue
        return [r for r in found if (r.item.title, r.item.due) == (item.title, item.due)]

    def list_tasklists(self) -> list[TaskListInfo]:
        """Return the user's task lists."""
        found: list[TaskListInfo] = []
        params = {"maxResults": "1000"}
        while True:
            page = self.http.json("GET", f"{API}/users/@me/lists", params=params)
            for raw in page.get("items") or ():
                entry = TaskList.model_validate(raw)
                found.append(TaskListInfo(entry.id, entry.title or entry.id))
            token = page.get("nextPageToken")
            if not token:
                return found
            params = {"maxResults": "1000", "pageToken": str(token)}
