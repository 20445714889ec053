"""Per-user sync preferences: direction, conflict winner, ranges, hours window, private mode.

Each setting is an enum or a small value type that parses and validates user input, so every
interface (CLI, web, API) refuses bad input with the same clear message.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any, TypeVar

from calsync.text import N_

E = TypeVar("E", bound=enum.StrEnum)


class PrefsError(ValueError):
    """A preference value that cannot be accepted; the message is meant for the user."""


class Direction(enum.StrEnum):
    BOTH = "both"
    TO_GOOGLE = "to-google"
    TO_CRM = "to-crm"

    @property
    def writes_google(self) -> bool:
        return self is not Direction.TO_CRM

    @property
    def writes_crm(self) -> bool:
        return self is not Direction.TO_GOOGLE


class Winner(enum.StrEnum):
    CRM = "crm"
    GOOGLE = "google"
    LATEST = "latest"


class PrivateMode(enum.StrEnum):
    ALL = "all"
    TO_GOOGLE = "to-google"
    TO_CRM = "to-crm"
    NONE = "none"
    BUSY = "busy"
    """Private CRM events reach Google as an untitled "Busy" block, nothing else."""


def parse_enum(kind: type[E], value: str, what: str) -> E:
    """Return `value` as a member of `kind`, or raise PrefsError naming the allowed values."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        allowed = "|".join(m.value for m in kind)
        raise PrefsError(f"bad {what} {value!r}: expected one of {allowed}") from None


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class HoursWindow:
    """Hours of the day, in the user's zone, whose events are synced (start inside it).

    `start == end` means the whole day. A window may wrap midnight (22:00-06:00).
    `end` is exclusive; "24:00" is accepted as the end of the day.
    """

    start: time = time(0, 0)
    end: time = time(0, 0)

    @classmethod
    def parse(cls, text: str) -> HoursWindow:
        """Return the window written as `HH:MM-HH:MM`, or raise PrefsError."""
        m = _HOURS.match(text)
        if not m:
            raise PrefsError(f"bad hours window {text!r}: expected HH:MM-HH:MM, e.g. 08:00-19:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        for h, mi in ((h1, m1), (h2, m2)):
            if not (0 <= h <= 23 and 0 <= mi <= 59):
                raise PrefsError(
                    f"bad hours window {text!r}: {h:02d}:{mi:02d} is not a time of day"
                )
        return cls(time(h1, m1), time(h2, m2))

    @property
    def whole_day(self) -> bool:
        return self.start == self.end

    def contains(self, t: time) -> bool:
        """Return True when the wall time `t` falls inside the window."""
        t = t.replace(tzinfo=None, second=0, microsecond=0) if t.tzinfo else t
        if self.whole_day:
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Prefs:
    """Everything a user can choose about their sync."""

    direction: Direction = Direction.BOTH
    winner: Winner = Winner.LATEST
    edit_beats_delete: bool = True
    """A deletion on one side loses to an edit on the other, unless the user says otherwise."""
    days_past: int = 30
    days_future: int = 365
    hours: HoursWindow = field(default_factory=HoursWindow)
    private: PrivateMode = PrivateMode.ALL
    calendars: tuple[str, ...] = ("primary",)
    """Google calendar ids to sync; the first receives events born in the CRM."""
    tasklist: str | None = None
    """Google task list id for to-dos, or None when to-dos are not synced."""
    paused: bool = False
    mass_delete_share: float = 0.2
    """A round that would delete more than this share of a user's linked items is refused."""

    def __post_init__(self) -> None:
        if self.days_past < 0 or self.days_future < 1:
            raise PrefsError(N_("sync range must reach 0+ days back and 1+ days ahead"))
        if not self.calendars:
            raise PrefsError(N_("at least one calendar must be chosen"))
        if not 0 < self.mass_delete_share <= 1:
            raise PrefsError(N_("mass-delete share must be in (0, 1]"))

    def with_(self, **changes: Any) -> Prefs:
        """Return a copy with `changes` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form, as stored in the state database."""
        return {
            "direction": self.direction.value,
            "winner": self.winner.value,
            "edit_beats_delete": self.edit_beats_delete,
            "days_past": self.days_past,
            "days_future": self.days_future,
            "hours": str(self.hours),
            "private": self.private.value,
            "calendars": list(self.calendars),
            "tasklist": self.tasklist,
            "paused": self.paused,
            "mass_delete_share": self.mass_delete_share,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prefs:
        """Return prefs from `to_dict` output; missing keys take their defaults."""
        base = cls()
        return cls(
            direction=parse_enum(Direction, data.get("direction", base.direction), "direction"),
            winner=parse_enum(Winner, data.get("winner", base.winner), "conflict winner"),
            edit_beats_delete=bool(data.get("edit_beats_delete", base.edit_beats_delete)),
            days_past=int(data.get("days_past", base.days_past)),
            days_future=int(data.get("days_future", base.days_future)),
            hours=HoursWindow.parse(data.get("hours", str(base.hours))),
            private=parse_enum(PrivateMode, data.get("private", base.private), "private mode"),
            calendars=tuple(data.get("calendars", base.calendars)),
            tasklist=data.get("tasklist", base.tasklist),
            paused=bool(data.get("paused", base.paused)),
            mass_delete_share=float(data.get("mass_delete_share", base.mass_delete_share)),
        )
