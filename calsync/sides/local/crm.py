"""`LocalCrm`: the embedded CRM calendar (users, events, to-dos) in its own SQLite database.

Admin functions serve the demo, the tests and the CLI; the sync engine reaches the data only
through `events_side(user)` / `tasks_side(user)` (the Side protocol).

    crm = LocalCrm("sqlite:///data/crm.db")
    crm.create_user("alice", password="...", time_zone="Europe/Rome")
    made = crm.add_event("alice", Event("Call", When.timed(start, end, "Europe/Rome")))
    crm.edit_event("alice", made.id, title="Call Bob")

Public API: `LocalCrm`, `CrmUser`, `LocalCrmError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from calsync.db import make_engine
from calsync.errors import CalsyncError, NotFound
from calsync.model import Event, Item, Override, Task, utcnow, zone
from calsync.passwords import hash_password, verify_password
from calsync.sides.base import Remote
from calsync.sides.local import tables as t
from calsync.sides.local.codec import EVENTS, TASKS
from calsync.sides.local.side import LocalSide, current_seq
from calsync.sides.series import occurrence_at, occurrences, occurs, original_of

T = TypeVar("T", bound=Item)


class LocalCrmError(CalsyncError):
    """The embedded CRM refused an admin operation (unknown or duplicate user, ...)."""


@dataclass(frozen=True, slots=True)
class CrmUser:
    """A user of the embedded CRM."""

    id: str
    name: str
    time_zone: str
    email: str
    is_admin: bool
    created_at: datetime
    language: str = "en_us"
    """The language the CRM speaks to the user, vtiger-style (`en_us`, `it_it`)."""


_USER = sa.select(t.users).where(t.users.c.name == sa.bindparam("name"))
"""Built once: every round reads its user (building a statement costs more than running it)."""


def _user(row: Any) -> CrmUser:
    return CrmUser(
        str(row.id),
        row.name,
        row.time_zone,
        row.email,
        bool(row.is_admin),
        row.created_at,
        row.language,
    )


def _add_missing_columns(engine: sa.Engine) -> None:
    # `create_all` makes missing tables only: a database made before users had a language
    # gets the column here, with its default.
    columns = {c["name"] for c in sa.inspect(engine).get_columns(t.users.name)}
    if "language" not in columns:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"ALTER TABLE {t.users.name}"
                    " ADD COLUMN language VARCHAR(16) NOT NULL DEFAULT 'en_us'"
                )
            )


class LocalCrm:
    """The embedded CRM calendar; the schema is created on first use."""

    def __init__(self, url: str, *, now: Callable[[], datetime] = utcnow) -> None:
        self._engine = make_engine(url)
        self._now = now
        t.metadata.create_all(self._engine)
        _add_missing_columns(self._engine)
        with self._engine.begin() as conn:
            if conn.execute(sa.select(t.sequence.c.id)).first() is None:
                conn.execute(t.sequence.insert().values(id=1, value=0, floor=0))

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    # -- users -----------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        *,
        password: str | None = None,
        time_zone: str = "UTC",
        email: str = "",
        is_admin: bool = False,
        language: str = "en_us",
    ) -> CrmUser:
        """Create a CRM user; raise LocalCrmError for a taken name or an unknown zone."""
        zone(time_zone)
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    t.users.insert().values(
                        name=name,
                        password_hash=hash_password(password) if password is not None else None,
                        time_zone=time_zone,
                        email=email,
                        is_admin=is_admin,
                        language=language,
                        created_at=self._now(),
                    )
                )
        except sa.exc.IntegrityError:
            raise LocalCrmError(f"CRM user {name!r} already exists") from None
        return self.require_user(name)

    def get_user(self, name: str) -> CrmUser | None:
        """Return the CRM user `name`, or None."""
        with self._engine.begin() as conn:
            row = conn.execute(_USER, {"name": name}).first()
        return _user(row) if row else None

    def require_user(self, name: str) -> CrmUser:
        """Return the CRM user `name`; raise LocalCrmError when there is none."""
        user = self.get_user(name)
        if user is None:
            raise LocalCrmError(f"no CRM user {name!r}")
        return user

    def list_users(self) -> list[CrmUser]:
        """Return every CRM user, by name."""
        with self._engine.begin() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.name)).all()
        return [_user(r) for r in rows]

    def set_password(self, name: str, password: str) -> None:
        """Set the user's password (stored as an argon2id hash)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                t.users.update()
                .where(t.users.c.name == name)
                .values(password_hash=hash_password(password))
            )
        if done.rowcount == 0:
            raise LocalCrmError(f"no CRM user {name!r}")

    def verify_password(self, name: str, password: str) -> bool:
        """Return True when `password` is the CRM user's."""
        with self._engine.begin() as conn:
            stored = conn.execute(
                sa.select(t.users.c.password_hash).where(t.users.c.name == name)
            ).scalar()
        return verify_password(stored, password)

    # -- sides -----------------------------------------------------------------------------

    def events_side(self, user: str, *, known: bool = False) -> LocalSide[Event]:
        """Return `user`'s events behind the Side protocol (LocalCrmError for an unknown user;
        `known`: the caller has just read the user, so it is not looked up again)."""
        if not known:
            self.require_user(user)
        return LocalSide(self._engine, EVENTS, user, self._now)

    def tasks_side(self, user: str, *, known: bool = False) -> LocalSide[Task]:
        """Return `user`'s to-dos behind the Side protocol (as `events_side`)."""
        if not known:
            self.require_user(user)
        return LocalSide(self._engine, TASKS, user, self._now)

    # -- admin edits of events and to-dos --------------------------------------------------

    def add_event(self, user: str, event: Event, key: str | None = None) -> Remote[Event]:
        """Create an event for `user` (as if made in the CRM's own UI)."""
        return self.events_side(user).create(event, key)

    def edit_event(
        self, user: str, id: str, event: Event | None = None, **changes: Any
    ) -> Remote[Event]:
        """Replace the event `id` (or apply `changes` to its fields); return the new version."""
        return self._edit(self.events_side(user), id, event, changes)

    def delete_event(self, user: str, id: str) -> None:
        """Delete the event `id` (a tombstone remains for `changes`)."""
        self.events_side(user).delete(id, None)

    def edit_occurrence(
        self, user: str, id: str, original: datetime | date, **changes: Any
    ) -> Remote[Event]:
        """Edit one occurrence of the series `id` (as the CRM's "only this event" does).

        `original` is the occurrence's start as the rule places it (a date for an all-day
        series); the series gets an exception keyed by it, never a second event.
        """
        side = self.events_side(user)
        current, at = self._occurrence(side, id, original)
        event = current.item
        old = next((o for o in event.overrides if o.original_start == at), None)
        base = old.event if old is not None and old.event is not None else occurrence_at(event, at)
        kept = tuple(o for o in event.overrides if o.original_start != at)
        made = Override(at, base.with_(**changes))
        return side.update(id, event.with_(overrides=(*kept, made)), current.etag)

    def cancel_occurrence(self, user: str, id: str, original: datetime | date) -> Remote[Event]:
        """Cancel one occurrence of the series `id`; the rest of the series stays."""
        side = self.events_side(user)
        current, at = self._occurrence(side, id, original)
        event = current.item
        kept = tuple(o for o in event.overrides if o.original_start != at)
        return side.update(id, event.with_(overrides=(*kept, Override(at))), current.etag)

    def occurrences(self, user: str, id: str, first: datetime, last: datetime) -> list[Event]:
        """Return the occurrences of the event `id` starting in [first, last), as a calendar
        shows them: exceptions in place of the occurrences they change, cancelled ones gone."""
        current = self.events_side(user).get(id)
        if current is None:
            raise NotFound(f"no event {id} for {user}")
        return occurrences(current.item, first, last)

    @staticmethod
    def _occurrence(
        side: LocalSide[Event], id: str, original: datetime | date
    ) -> tuple[Remote[Event], datetime | date]:
        current = side.get(id)
        if current is None:
            raise NotFound(f"no event {id} for {side.user}")
        event = current.item
        if event.recurrence is None:
            raise LocalCrmError(f"event {id} is not a series")
        at = original_of(event, original)
        if not occurs(event, at):
            raise LocalCrmError(f"series {id} has no occurrence at {at.isoformat()}")
        return current, at

    def get_event(self, user: str, id: str) -> Remote[Event] | None:
        """Return the event `id`, or None."""
        return self.events_side(user).get(id)

    def list_events(self, user: str) -> list[Remote[Event]]:
        """Return every live event of `user`, by id."""
        return self.events_side(user).changes(None).items

    def add_task(self, user: str, task: Task, key: str | None = None) -> Remote[Task]:
        """Create a to-do for `user`."""
        return self.tasks_side(user).create(task, key)

    def edit_task(
        self, user: str, id: str, task: Task | None = None, **changes: Any
    ) -> Remote[Task]:
        """Replace the to-do `id` (or apply `changes` to its fields)."""
        return self._edit(self.tasks_side(user), id, task, changes)

    def delete_task(self, user: str, id: str) -> None:
        """Delete the to-do `id` (a tombstone remains)."""
        self.tasks_side(user).delete(id, None)

    def get_task(self, user: str, id: str) -> Remote[Task] | None:
        """Return the to-do `id`, or None."""
        return self.tasks_side(user).get(id)

    def list_tasks(self, user: str) -> list[Remote[Task]]:
        """Return every live to-do of `user`, by id."""
        return self.tasks_side(user).changes(None).items

    @staticmethod
    def _edit(side: LocalSide[T], id: str, item: T | None, changes: dict[str, Any]) -> Remote[T]:
        current = side.get(id)
        if current is None:
            raise NotFound(f"no item {id} for {side.user}")
        new = item if item is not None else current.item
        if changes:
            new = new.with_(**changes)  # type: ignore[assignment]
        return side.update(id, new, current.etag)

    # -- change sequence -------------------------------------------------------------------

    def current_seq(self) -> int:
        """Return the change sequence's current value (a cursor for 'from now on')."""
        with self._engine.begin() as conn:
            return current_seq(conn)[0]

    def purge_tombstones(self, up_to: int | None = None) -> int:
        """Delete tombstones with sequence <= `up_to` (default: all); older cursors turn invalid."""
        with self._engine.begin() as conn:
            now_seq, floor = current_seq(conn)
            limit = now_seq if up_to is None else min(up_to, now_seq)
            removed = 0
            gone = sa.select(t.events.c.id).where(
                t.events.c.deleted == sa.true(), t.events.c.seq <= limit
            )
            ov = t.event_overrides
            conn.execute(ov.delete().where(ov.c.master_id.in_(gone)))
            for table in (t.events, t.todos):
                removed += conn.execute(
                    table.delete().where(table.c.deleted == sa.true(), table.c.seq <= limit)
                ).rowcount
            conn.execute(
                t.sequence.update().where(t.sequence.c.id == 1).values(floor=max(floor, limit))
            )
        return removed
