"""Per-user sync preferences: direction, conflict winner, ranges, hours window, private mode.

Each setting is an enum or a small value type that parses and validates user input, and a
`Prefs` cannot be built with a value out of its limits (`MAX_DAYS`, `MAX_ID_LENGTH`,
`MAX_CALENDARS`), so every interface (CLI, web form, the state store) refuses bad input with
the same one-line message, and nothing a user saves can make a later round fail.

The messages are English, marked with `N_` (their values kept apart), so the web app can show
them in its reader's language; `PrefsError.message` is the marked text.

Public API: `Prefs`, `Direction`, `Winner`, `PrivateMode`, `HoursWindow`, `parse_enum`,
`parse_days`, `check_id`, `PrefsError`, the limits and the fields' names (`DAYS_BACK`...).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any, TypeVar

from calsync.errors import CalsyncError
from calsync.text import N_, Text

E = TypeVar("E", bound=enum.StrEnum)

MAX_DAYS = 3650
"""The sync range reaches at most ten years back and ten years ahead."""
MAX_ID_LENGTH = 200
"""Longest Google calendar or task-list id accepted. Google's own ids stay well under 100
characters; the state store keeps an id inside 255-character keys (pair scopes, cursor names
such as `service:full:event:<id>`), which a longer one would not fit."""
MAX_CALENDARS = 20
"""Calendars one user may sync; each costs a round of API calls every sync."""
_ID = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: what Google's calendar and task-list ids are made of
(`primary`, e-mail addresses, `...#holiday@group.v.calendar.google.com`, base64 ids)."""

_DAYS = re.compile(r"[+-]?\d{1,9}")

# The fields' names as messages say them (`what` below), marked to be translated with them.
DIRECTION = N_("direction")
WINNER = N_("conflict winner")
PRIVATE_MODE = N_("private mode")
DAYS_BACK = N_("days back")
DAYS_AHEAD = N_("days ahead")
CALENDAR_ID = N_("calendar id")
TASK_LIST_ID = N_("task list id")


class PrefsError(CalsyncError, ValueError):
    """A preference value that cannot be accepted; the message is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        """The message as made (a marked `Text` the web translates; `str(err)` is English)."""


def _field(what: str) -> Text:
    """Return a field's name as a value of a message, translated with it."""
    return Text(what)


def _shown(value: object) -> str:
    """Return `value` for an error message: quoted, and cut short when it is long."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}...' ({len(str(value))} characters)"


def check_id(value: object, what: str) -> str:
    """Return `value` when it can be a Google calendar or task-list id, else raise PrefsError."""
    if not isinstance(value, str):
        raise PrefsError(
            N_("bad %(what)s %(value)s: expected text", what=_field(what), value=_shown(value))
        )
    if not value:
        raise PrefsError(N_("the %(what)s is empty", what=_field(what)))
    if len(value) > MAX_ID_LENGTH:
        raise PrefsError(
            N_(
                "bad %(what)s %(value)s: at most %(maximum)d characters",
                what=_field(what),
                value=_shown(value),
                maximum=MAX_ID_LENGTH,
            )
        )
    if not _ID.fullmatch(value):
        raise PrefsError(
            N_(
                "bad %(what)s %(value)s: only printable ASCII without spaces is allowed",
                what=_field(what),
                value=_shown(value),
            )
        )
    return value


def parse_days(value: object, what: str, minimum: int) -> int:
    """Return `value` as a whole number of days in `minimum`..MAX_DAYS, or raise PrefsError."""
    not_days = N_(
        "bad %(what)s %(value)s: expected a whole number of days",
        what=_field(what),
        value=_shown(value),
    )
    if isinstance(value, bool):
        raise PrefsError(not_days)
    if isinstance(value, str):
        if not _DAYS.fullmatch(value.strip()):
            raise PrefsError(not_days)
        value = int(value)
    if not isinstance(value, int):
        raise PrefsError(not_days)
    if not minimum <= value <= MAX_DAYS:
        raise PrefsError(
            N_(
                "bad %(what)s %(value)s: expected %(minimum)d to %(maximum)d days",
                what=_field(what),
                value=_shown(value),
                minimum=minimum,
                maximum=MAX_DAYS,
            )
        )
    return value


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
    except (AttributeError, ValueError):
        allowed = "|".join(m.value for m in kind)
        raise PrefsError(
            N_(
                "bad %(what)s %(value)s: expected one of %(allowed)s",
                what=_field(what),
                value=_shown(value),
                allowed=allowed,
            )
        ) from None


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
        m = _HOURS.match(text) if isinstance(text, str) and len(text) <= 40 else None
        if not m:
            raise PrefsError(
                N_(
                    "bad hours window %(value)s: expected HH:MM-HH:MM, e.g. 08:00-19:00",
                    value=_shown(text),
                )
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        for h, mi in ((h1, m1), (h2, m2)):
            if not (0 <= h <= 23 and 0 <= mi <= 59):
                raise PrefsError(
                    N_(
                        "bad hours window %(value)s: %(time)s is not a time of day",
                        value=repr(text),
                        time=f"{h:02d}:{mi:02d}",
                    )
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
        self.check()

    def check(self) -> None:
        """Raise PrefsError naming the first value out of its limits (nothing else to do)."""
        # Field names are not translated here: a wrong type only comes from code, not a form.
        for name, kind in (
            ("direction", Direction),
            ("winner", Winner),
            ("private", PrivateMode),
            ("hours", HoursWindow),
        ):
            if not isinstance(getattr(self, name), kind):
                raise PrefsError(
                    N_("bad %(what)s %(value)s", what=name, value=_shown(getattr(self, name)))
                )
        for name in ("edit_beats_delete", "paused"):
            if not isinstance(getattr(self, name), bool):
                raise PrefsError(
                    N_(
                        "bad %(what)s %(value)s: expected yes or no",
                        what=name,
                        value=_shown(getattr(self, name)),
                    )
                )
        parse_days(self.days_past, DAYS_BACK, 0)
        parse_days(self.days_future, DAYS_AHEAD, 1)
        if not isinstance(self.calendars, tuple) or not self.calendars:
            raise PrefsError(N_("at least one calendar must be chosen"))
        if len(self.calendars) > MAX_CALENDARS:
            raise PrefsError(
                N_(
                    "%(count)d calendars chosen: at most %(maximum)d can be synced",
                    count=len(self.calendars),
                    maximum=MAX_CALENDARS,
                )
            )
        for cal in self.calendars:
            check_id(cal, CALENDAR_ID)
        if len(set(self.calendars)) != len(self.calendars):
            raise PrefsError(N_("a calendar is chosen twice"))
        if self.tasklist is not None:
            check_id(self.tasklist, TASK_LIST_ID)
        share = self.mass_delete_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise PrefsError(
                N_(
                    "bad mass-delete share %(value)s: expected more than 0, up to 1",
                    value=_shown(share),
                )
            )

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
        """Return prefs from `to_dict` output; missing keys take their defaults.

        Raise PrefsError when a value is unusable (e.g. saved before the limits existed).
        """
        base = cls()
        calendars = data.get("calendars", base.calendars)
        if not isinstance(calendars, list | tuple):
            raise PrefsError(
                N_("bad calendars %(value)s: expected a list", value=_shown(calendars))
            )
        try:
            share = float(data.get("mass_delete_share", base.mass_delete_share))
        except (TypeError, ValueError):
            raise PrefsError(N_("bad mass-delete share: expected a number")) from None
        return cls(
            direction=parse_enum(Direction, data.get("direction", base.direction), DIRECTION),
            winner=parse_enum(Winner, data.get("winner", base.winner), WINNER),
            edit_beats_delete=bool(data.get("edit_beats_delete", base.edit_beats_delete)),
            days_past=parse_days(data.get("days_past", base.days_past), DAYS_BACK, 0),
            days_future=parse_days(data.get("days_future", base.days_future), DAYS_AHEAD, 1),
            hours=HoursWindow.parse(data.get("hours", str(base.hours))),
            private=parse_enum(PrivateMode, data.get("private", base.private), PRIVATE_MODE),
            calendars=tuple(calendars),
            tasklist=data.get("tasklist", base.tasklist),
            paused=bool(data.get("paused", base.paused)),
            mass_delete_share=share,
        )
