"""SQLite storage of the vtiger emulator: users, records (soft-deleted), admin field settings.

In memory by default, a file with `--db`. Sessions and challenge tokens live in memory only
(a restarted vtiger keeps them, the emulator does not: clients must log in again).
The clock is adjustable so tests can expire tokens and sessions without waiting.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_name TEXT UNIQUE NOT NULL, access_key TEXT NOT NULL,
    is_admin INTEGER NOT NULL, time_zone TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
    first_name TEXT NOT NULL DEFAULT '', last_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT 'en_us');
CREATE TABLE IF NOT EXISTS records (
    crmid INTEGER PRIMARY KEY AUTOINCREMENT, module TEXT NOT NULL, owner INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, createdtime TEXT NOT NULL, modifiedtime TEXT NOT NULL,
    mtime INTEGER NOT NULL, modifiedby INTEGER NOT NULL, data TEXT NOT NULL,
    rev INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS records_mtime ON records (mtime, crmid);
CREATE TABLE IF NOT EXISTS vtiger_activity_recurring_info (
    activityid INTEGER NOT NULL, recurrenceid INTEGER NOT NULL,
    PRIMARY KEY (activityid, recurrenceid));
CREATE TABLE IF NOT EXISTS vtiger_recurringevents (
    recurringid INTEGER PRIMARY KEY AUTOINCREMENT, activityid INTEGER NOT NULL,
    recurringdate TEXT NOT NULL, recurringtype TEXT NOT NULL, recurringfreq INTEGER NOT NULL,
    recurringinfo TEXT NOT NULL, recurringenddate TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS field_settings (
    module TEXT NOT NULL, field TEXT NOT NULL, mandatory INTEGER NOT NULL,
    PRIMARY KEY (module, field));
"""


class Clock:
    """Wall clock plus an offset tests move forward; one-second resolution like vtiger's DB."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def epoch(self) -> int:
        return int(self.now())

    def stamp(self) -> str:
        """Return now as vtiger's `Y-m-d H:i:s` in UTC."""
        return datetime.fromtimestamp(self.epoch(), UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(slots=True)
class User:
    id: int
    user_name: str
    access_key: str
    is_admin: bool
    time_zone: str
    active: bool
    first_name: str
    last_name: str
    email: str
    language: str = "en_us"
    """vtiger's user language, e.g. `en_us`, `it_it`."""


@dataclass(slots=True)
class Record:
    crmid: int
    module: str
    owner: int
    deleted: bool
    createdtime: str
    modifiedtime: str
    mtime: int
    modifiedby: int
    data: dict[str, str]
    rev: int = 0
    """Bumped by every write (modifiedtime has one-second resolution, rev does not)."""


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """A repeat rule as vtiger's UI keeps it in `vtiger_recurringevents`."""

    type: str
    """Daily | Weekly | Monthly | Yearly (`recurringtype`)."""
    interval: int
    """`recurringfreq`: every n days, weeks, months or years."""
    info: str
    """`recurringinfo`, e.g. `Weekly::Mon`, `Monthly::date::2`."""


_NO_RECORD = Record(0, "", 0, False, "", "", 0, 0, {}, rev=-1)


class Store:
    """Thread-safe access to the emulator's tables."""

    def __init__(self, path: str | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(users)")}
        if "language" not in columns:  # a database file made before users had a language
            self._db.execute("ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en_us'")
            self._db.commit()
        self.lock = threading.RLock()
        self._cache: dict[int, Record] = {}
        self.version = 0
        """Bumped by every write: lets readers cache what they derived from the tables."""
        """Decoded records by crmid, checked against `rev` on every read."""

    def _commit(self) -> None:
        self._db.commit()
        self.version += 1

    def reset(self) -> None:
        """Drop every user, record and field setting."""
        with self.lock:
            self._db.executescript(
                "DELETE FROM users; DELETE FROM records; DELETE FROM field_settings;"
                "DELETE FROM vtiger_activity_recurring_info; DELETE FROM vtiger_recurringevents;"
                "DELETE FROM sqlite_sequence;"
            )
            self._cache.clear()
            self._commit()

    # users -------------------------------------------------------------------------------

    def add_user(
        self,
        user_name: str,
        *,
        is_admin: bool = False,
        time_zone: str = "UTC",
        active: bool = True,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
        language: str = "en_us",
    ) -> User:
        """Create a user with a fresh access key; raise ValueError if the name is taken."""
        key = secrets.token_urlsafe(12)
        with self.lock:
            try:
                cur = self._db.execute(
                    "INSERT INTO users (user_name, access_key, is_admin, time_zone, active,"
                    " first_name, last_name, email, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_name,
                        key,
                        int(is_admin),
                        time_zone,
                        int(active),
                        first_name,
                        last_name or user_name,
                        email or f"{user_name}@example.com",
                        language,
                    ),
                )
            except sqlite3.IntegrityError as err:
                raise ValueError(f"user {user_name!r} exists") from err
            self._commit()
            uid = int(cur.lastrowid or 0)
        user = self.user(uid)
        assert user is not None
        return user

    def set_user(self, user_name: str, **changes: Any) -> User | None:
        """Change `active`, `is_admin`, `time_zone` or `language` of a user; None if unknown."""
        allowed = {"active", "is_admin", "time_zone", "language"}
        cols = {
            k: (int(v) if isinstance(v, bool) else v) for k, v in changes.items() if k in allowed
        }
        with self.lock:
            for col, value in cols.items():
                self._db.execute(
                    f"UPDATE users SET {col} = ? WHERE user_name = ?", (value, user_name)
                )
            self._commit()
        return self.user_by_name(user_name)

    @staticmethod
    def _user(row: sqlite3.Row | None) -> User | None:
        if row is None:
            return None
        return User(
            id=row["id"],
            user_name=row["user_name"],
            access_key=row["access_key"],
            is_admin=bool(row["is_admin"]),
            time_zone=row["time_zone"],
            active=bool(row["active"]),
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=row["email"],
            language=row["language"],
        )

    def user(self, uid: int) -> User | None:
        with self.lock:
            return self._user(
                self._db.execute("SELECT * FROM users WHERE id = ?", (uid,)).fetchone()
            )

    def user_by_name(self, name: str) -> User | None:
        with self.lock:
            row = self._db.execute("SELECT * FROM users WHERE user_name = ?", (name,)).fetchone()
            return self._user(row)

    def user_ids(self) -> set[int]:
        with self.lock:
            return {int(r[0]) for r in self._db.execute("SELECT id FROM users")}

    def users(self) -> list[User]:
        with self.lock:
            rows = self._db.execute("SELECT * FROM users ORDER BY id").fetchall()
        return [u for u in (self._user(r) for r in rows) if u is not None]

    # records -----------------------------------------------------------------------------

    @staticmethod
    def _record(row: sqlite3.Row) -> Record:
        return Record(
            crmid=row["crmid"],
            module=row["module"],
            owner=row["owner"],
            deleted=bool(row["deleted"]),
            createdtime=row["createdtime"],
            modifiedtime=row["modifiedtime"],
            mtime=row["mtime"],
            modifiedby=row["modifiedby"],
            data=json.loads(row["data"]),
            rev=row["rev"],
        )

    def insert(self, module: str, owner: int, data: dict[str, str], by: int) -> Record:
        """Store a new record stamped with the clock; return it."""
        stamp, epoch = self.clock.stamp(), self.clock.epoch()
        with self.lock:
            cur = self._db.execute(
                "INSERT INTO records (module, owner, createdtime, modifiedtime, mtime, modifiedby,"
                " data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (module, owner, stamp, stamp, epoch, by, json.dumps(data)),
            )
            self._commit()
            rec = self.get(int(cur.lastrowid or 0))
        assert rec is not None
        return rec

    def get(self, crmid: int) -> Record | None:
        """Return the record `crmid`, deleted ones included."""
        with self.lock:
            row = self._db.execute("SELECT * FROM records WHERE crmid = ?", (crmid,)).fetchone()
        return self._record(row) if row else None

    def save(self, rec: Record, by: int) -> Record:
        """Write `rec`'s module, data and owner back with a new modifiedtime."""
        stamp, epoch = self.clock.stamp(), self.clock.epoch()
        with self.lock:
            self._db.execute(
                "UPDATE records SET module = ?, owner = ?, data = ?, modifiedtime = ?, mtime = ?,"
                " modifiedby = ?, rev = rev + 1 WHERE crmid = ?",
                (rec.module, rec.owner, json.dumps(rec.data), stamp, epoch, by, rec.crmid),
            )
            self._commit()
        out = self.get(rec.crmid)
        assert out is not None
        return out

    def soft_delete(self, crmid: int, by: int) -> None:
        """Mark `crmid` deleted (vtiger's `deleted = 1`), stamping modifiedtime for `sync`."""
        stamp, epoch = self.clock.stamp(), self.clock.epoch()
        with self.lock:
            self._db.execute(
                "UPDATE records SET deleted = 1, modifiedtime = ?, mtime = ?, modifiedby = ?,"
                " rev = rev + 1 WHERE crmid = ?",
                (stamp, epoch, by, crmid),
            )
            self._commit()

    def records(self, modules: tuple[str, ...], *, deleted: bool = False) -> list[Record]:
        """Return the live (or, with `deleted`, all) records of `modules` by crmid (read-only)."""
        marks = ",".join("?" * len(modules))
        where = f"module IN ({marks})" + ("" if deleted else " AND deleted = 0")
        with self.lock:
            heads = self._db.execute(
                f"SELECT crmid, rev FROM records WHERE {where} ORDER BY crmid", modules
            ).fetchall()
            stale = [h[0] for h in heads if self._cache.get(h[0], _NO_RECORD).rev != h[1]]
            for i in range(0, len(stale), 500):
                chunk = stale[i : i + 500]
                sql = f"SELECT * FROM records WHERE crmid IN ({','.join('?' * len(chunk))})"
                for row in self._db.execute(sql, chunk):
                    self._cache[row["crmid"]] = self._record(row)
            # Shared with the cache: read-only for callers (writes go through get + save).
            return [self._cache[h[0]] for h in heads]

    def changed_since(self, module: str, epoch: int, owner: int | None) -> list[Record]:
        """Return records of `module` with mtime >= `epoch`, oldest first (deleted included)."""
        sql = "SELECT * FROM records WHERE module = ? AND mtime >= ?"
        args: list[Any] = [module, epoch]
        if owner is not None:
            sql += " AND owner = ?"
            args.append(owner)
        with self.lock:
            rows = self._db.execute(sql + " ORDER BY mtime, crmid", args).fetchall()
        return [self._record(r) for r in rows]

    # series (vtiger's own tables, which the webservice never reads) ---------------------

    def insert_series(
        self, module: str, owner: int, occurrences: list[dict[str, str]], rule: SeriesRule
    ) -> list[Record]:
        """Store a series as vtiger's UI saves one: a record per occurrence, all linked to the
        first in `vtiger_activity_recurring_info` (the first to itself too), and one row per
        occurrence in `vtiger_recurringevents` repeating the rule."""
        stamp, epoch = self.clock.stamp(), self.clock.epoch()
        made: list[int] = []
        last = occurrences[-1].get("date_start", "")
        with self.lock:
            for data in occurrences:
                cur = self._db.execute(
                    "INSERT INTO records (module, owner, createdtime, modifiedtime, mtime,"
                    " modifiedby, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (module, owner, stamp, stamp, epoch, owner, json.dumps(data)),
                )
                crmid = int(cur.lastrowid or 0)
                made.append(crmid)
                self._db.execute(
                    "INSERT INTO vtiger_activity_recurring_info (activityid, recurrenceid)"
                    " VALUES (?, ?)",
                    (made[0], crmid),
                )
                self._db.execute(
                    "INSERT INTO vtiger_recurringevents (activityid, recurringdate, recurringtype,"
                    " recurringfreq, recurringinfo, recurringenddate) VALUES (?, ?, ?, ?, ?, ?)",
                    (crmid, data.get("date_start", ""), rule.type, rule.interval, rule.info, last),
                )
            self._commit()
        out = [self.get(crmid) for crmid in made]
        return [r for r in out if r is not None]

    def drop_recurring_row(self, crmid: int) -> None:
        """Forget the rule row of one occurrence (a webservice save does): the record stays
        linked to its series in `vtiger_activity_recurring_info`."""
        with self.lock:
            self._db.execute("DELETE FROM vtiger_recurringevents WHERE activityid = ?", (crmid,))
            self._commit()

    def series_links(self) -> list[tuple[int, int]]:
        """Return the rows of `vtiger_activity_recurring_info` (parent, occurrence)."""
        with self.lock:
            rows = self._db.execute(
                "SELECT activityid, recurrenceid FROM vtiger_activity_recurring_info"
            ).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    # admin field settings ----------------------------------------------------------------

    def field_settings(self) -> dict[tuple[str, str], bool]:
        with self.lock:
            rows = self._db.execute("SELECT * FROM field_settings").fetchall()
        return {(r["module"], r["field"]): bool(r["mandatory"]) for r in rows}

    def set_mandatory(self, module: str, field: str, mandatory: bool) -> None:
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO field_settings (module, field, mandatory) VALUES (?, ?, ?)",
                (module, field, int(mandatory)),
            )
            self._commit()
