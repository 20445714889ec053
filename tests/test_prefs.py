"""Preference parsing: every bad value is refused with a message naming what is allowed."""

import json
import re
from datetime import time

import pytest

from calsync.prefs import (
    MAX_CALENDARS,
    MAX_DAYS,
    MAX_ID_LENGTH,
    Direction,
    HoursWindow,
    Prefs,
    PrefsError,
    parse_days,
    parse_enum,
)


@pytest.mark.parametrize("text", ["25:00-09:00", "9-17", "08:60-09:00", "", "08:00-"])
def test_bad_hours_window_is_refused(text: str) -> None:
    with pytest.raises(PrefsError, match="hours window"):
        HoursWindow.parse(text)


def test_hours_window_wraps_midnight_and_end_is_exclusive() -> None:
    night = HoursWindow.parse("22:00-06:00")
    assert night.contains(time(23, 30)) and night.contains(time(5, 59))
    assert not night.contains(time(6, 0)) and not night.contains(time(12, 0))
    assert HoursWindow.parse("00:00-24:00").whole_day


def test_bad_direction_names_allowed_values() -> None:
    with pytest.raises(PrefsError, match=re.escape("both|to-google|to-crm")):
        parse_enum(Direction, "sideways", "direction")


def test_prefs_round_trip_through_dict() -> None:
    p = Prefs(direction=Direction.TO_CRM, hours=HoursWindow.parse("08:00-18:30"))
    assert Prefs.from_dict(p.to_dict()) == p


LONG_ID = "c" * 70_000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"calendars": (LONG_ID,)}, "at most 200 characters"),
        ({"calendars": ("primary", "x" * 1_000_000)}, "at most 200 characters"),
        ({"calendars": ("",)}, "calendar id is empty"),
        ({"calendars": ("team calendar",)}, "printable ASCII without spaces"),
        ({"calendars": ("a\nb",)}, "printable ASCII without spaces"),
        ({"calendars": ()}, "at least one calendar"),
        ({"calendars": tuple(f"c{i}@example.com" for i in range(21))}, "at most 20"),
        ({"calendars": ("primary", "primary")}, "chosen twice"),
        ({"tasklist": ""}, "task list id is empty"),
        ({"tasklist": "t" * 201}, "at most 200 characters"),
        ({"days_past": 99999999999999999999}, "expected 0 to 3650 days"),
        ({"days_past": -1}, "expected 0 to 3650 days"),
        ({"days_future": 0}, "expected 1 to 3650 days"),
        ({"days_future": 3651}, "expected 1 to 3650 days"),
        ({"days_past": True}, "whole number of days"),
        ({"direction": "sideways"}, "bad direction"),
        ({"paused": "yes"}, "expected yes or no"),
        ({"mass_delete_share": 0.0}, "mass-delete share"),
        ({"mass_delete_share": float("nan")}, "mass-delete share"),
    ],
)
def test_every_field_has_limits(changes: dict[str, object], message: str) -> None:
    """A value out of its limits cannot make a Prefs; the message is one short line."""
    with pytest.raises(PrefsError, match=re.escape(message)) as caught:
        Prefs().with_(**changes)
    text = str(caught.value)
    assert "\n" not in text and len(text) < 200, text


def test_the_largest_valid_prefs_stay_small() -> None:
    """Prefs at every limit serialise to a few kilobytes (the stored row stays small)."""
    ids = tuple(f"{i:02d}" + "c" * (MAX_ID_LENGTH - 2) for i in range(MAX_CALENDARS))
    biggest = Prefs(calendars=ids, tasklist="t" * MAX_ID_LENGTH, days_past=MAX_DAYS)
    assert len(json.dumps(biggest.to_dict())) < 8_000


def test_google_style_ids_are_accepted() -> None:
    ids = (
        "primary",
        "alice@example.com",
        "c_0123456789abcdef@group.calendar.google.com",
        "en.usa#holiday@group.v.calendar.google.com",
    )
    assert Prefs(calendars=ids, tasklist="MTA3NjU0MzIxMDk4NzY1NDMyMTA6MDow").calendars == ids


@pytest.mark.parametrize(
    "stored",
    [
        {"calendars": [LONG_ID]},
        {"calendars": "primary"},
        {"days_past": "many"},
        {"days_future": 10**30},
        {"direction": 3},
        {"hours": "x" * 1_000_000},
        {"mass_delete_share": "lots"},
    ],
)
def test_unusable_stored_prefs_raise_prefs_error(stored: dict[str, object]) -> None:
    """Prefs saved before the limits existed are refused with PrefsError, nothing else."""
    with pytest.raises(PrefsError):
        Prefs.from_dict(stored)


def test_days_typed_as_text_are_parsed_once_for_every_interface() -> None:
    assert parse_days(" 7 ", "days back", 0) == 7
    for bad in ("ten", "7.5", "", "1e3", "9" * 50):
        with pytest.raises(PrefsError, match="whole number of days"):
            parse_days(bad, "days back", 0)
