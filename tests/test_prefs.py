"""Preference parsing: every bad value is refused with a message naming what is allowed."""

import re
from datetime import time

import pytest

from calsync.prefs import Direction, HoursWindow, Prefs, PrefsError, parse_enum


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
