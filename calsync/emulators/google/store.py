"""State of the Google emulator: accounts, calendars, events, tasks, grants, with the emulator
clock; in memory, optionally persisted as JSON rows in a SQLite file written after each change."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync.emulators.google.config import EmulatorConfig

Json = dict[str, Any]


@dataclass
class Account:
    """A Google account known to the emulator."""

    email: str
    time_zone: str = "UTC"
    default_tasklist: str = ""
    token_ttl: int | None = None
    """Access-token lifetime for this account; None = the emulator's default."""


@dataclass
class Calendar:
    """A calendar, its owner and who else may see it (`acl`: email -> role)."""

    id: str
    owner: str
    summary: str
    time_zone: str = "UTC"
    description: str = ""
    location: str = ""
    primary: bool = False
    acl: dict[str, str] = field(default_factory=dict)
    token_epoch: int = 0
    """Bumped to invalidate every sync token issued for this calendar."""
    tokens_valid_from: float = 0.0
    """Sync tokens issued before this time (emulator clock) answer 410."""
    created: float = 0.0


@dataclass
class EventRec:
    """A stored event (or exception of a series) as Google returns it, plus its change number."""

    res: Json
    mod: int


@dataclass
class TaskListRec:
    """A task list owned by one account."""

    owner: str
    res: Json
    mod: int


@dataclass
class TaskRec:
    """A stored task; `order` sorts siblings (smaller first)."""

    res: Json
    mod: int
    order: float


@dataclass
class Grant:
    """What one account granted one OAuth client: the scopes and the refresh token, if any."""

    id: str
    email: str
    client_id: str | None
    scopes: list[str]
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class AccessToken:
    """A bearer token and when it stops working (emulator clock, epoch seconds)."""

    token: str
    grant_id: str
    expires_at: float


@dataclass
class AuthCode:
    """An authorization code waiting to be exchanged at /token."""

    code: str
    email: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    offline: bool
    consent: bool
    challenge: str | None
    challenge_method: str | None
    expires_at: float
    used: bool = False


_KINDS: dict[str, type[Any]] = {
    "account": Account,
    "calendar": Calendar,
    "tasklist": TaskListRec,
    "grant": Grant,
    "access_token": AccessToken,
    "code": AuthCode,
}


class Store:
    """All emulator state, guarded by `lock`; mutators call `touch()` so `flush()` can persist."""

    def __init__(self, config: EmulatorConfig | None = None, db: str | Path | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._dirty: set[tuple[str, str, str]] = set()
        self.clear()
        if db is not None:
            self._db = sqlite3.connect(str(db), check_same_thread=False)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rows (kind TEXT, k1 TEXT, k2 TEXT, data TEXT,"
                " PRIMARY KEY (kind, k1, k2))"
            )
            self._load()

    def clear(self) -> None:
        """Forget every account, calendar, event, task and token."""
        self.accounts: dict[str, Account] = {}
        self.calendars: dict[str, Calendar] = {}
        self.events: dict[str, dict[str, EventRec]] = {}
        self.tasklists: dict[str, TaskListRec] = {}
        self.tasks: dict[str, dict[str, TaskRec]] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.consents: set[str] = set()
        """`client_id|email` pairs that already got a refresh token (first-consent rule)."""
        self.counter = 0
        self.generation = secrets.token_hex(4)
        """Changes on every reset, so tokens issued before a reset answer 410 after it."""
        """Global change number: every mutation of an event or task takes the next value."""
        self.clock_offset = 0.0
        self.changed_calendars: set[str] = set()
        """Calendars whose events changed since the push notifier last looked."""
        if getattr(self, "_db", None) is not None:
            assert self._db is not None
            self._db.execute("DELETE FROM rows")
            self._db.commit()
        self._dirty = set()

    # -- clock ---------------------------------------------------------------------------------
    def now(self) -> float:
        """Return the emulator's current time (epoch seconds): the real clock plus the offset."""
        return time.time() + self.clock_offset

    def now_dt(self) -> datetime:
        """Return the emulator's current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def next_mod(self) -> int:
        """Return the next change number."""
        self.counter += 1
        self.touch("meta", "counter")
        return self.counter

    # -- persistence ---------------------------------------------------------------------------
    def touch(self, kind: str, k1: str, k2: str = "") -> None:
        """Mark one stored object as changed so the next `flush()` writes it (and, for an
        event, so its calendar's watch channels are notified)."""
        if kind == "event":
            self.changed_calendars.add(k1)
        if self._db is not None:
            self._dirty.add((kind, k1, k2))

    def _lookup(self, kind: str, k1: str, k2: str) -> Any:
        if kind == "meta":
            return {
                "counter": self.counter,
                "generation": self.generation,
                "clock_offset": self.clock_offset,
                "consents": sorted(self.consents),
            }
        if kind == "event":
            return self.events.get(k1, {}).get(k2)
        if kind == "task":
            return self.tasks.get(k1, {}).get(k2)
        table: dict[str, Any] = getattr(self, kind + "s")
        return table.get(k1)

    def flush(self) -> None:
        """Write every changed object to the SQLite file (no-op without one)."""
        if self._db is None or not self._dirty:
            return
        with self._db:
            for kind, k1, k2 in self._dirty:
                obj = self._lookup(kind, k1, k2)
                if obj is None:
                    self._db.execute(
                        "DELETE FROM rows WHERE kind=? AND k1=? AND k2=?", (kind, k1, k2)
                    )
                    continue
                data = obj if isinstance(obj, dict) else asdict(obj)
                self._db.execute(
                    "INSERT OR REPLACE INTO rows VALUES (?,?,?,?)",
                    (kind, k1, k2, json.dumps(data)),
                )
        self._dirty.clear()

    def _load(self) -> None:
        assert self._db is not None
        for kind, k1, k2, data in self._db.execute("SELECT kind, k1, k2, data FROM rows"):
            obj = json.loads(data)
            if kind == "meta":
                self.counter = int(obj["counter"])
                self.generation = str(obj.get("generation", self.generation))
                self.clock_offset = float(obj["clock_offset"])
                self.consents = set(obj["consents"])
            elif kind == "event":
                self.events.setdefault(k1, {})[k2] = EventRec(**obj)
            elif kind == "task":
                self.tasks.setdefault(k1, {})[k2] = TaskRec(**obj)
            else:
                getattr(self, kind + "s")[k1] = _KINDS[kind](**obj)


def rfc3339(ts: float) -> str:
    """Format epoch seconds the way Google does: `2025-01-02T03:04:05.678Z`."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
