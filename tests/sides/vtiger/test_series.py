"""Recovering vtiger series from records (webservice) or from vtiger's tables: certain or
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr

from calsync.sides.vtiger.mapping import event_from_record
from calsync.sides.vtiger.series import Member, RuleRow, from_links, from_records

CREATED = "2026-03-01 10:00:00"


def record(n: int, day: date, **fields: Any) -> dict[str, Any]:
    """Return an Events record of a UI series made on CREATED, occurrence on `day`."""
    return {
        "id": f"18x{n}",
        "subject": "stand-up",
        "description": "",
        "location": "",
        "visibility": "Public",
        "activitytype": "Meeting",
        "eventstatus": "Planned",
        "reminder_time": "0",
        "date_start": day.isoformat(),
        "time_start": "08:00:00",
        "due_date": day.isoformat(),
        "time_end": "08:30:00",
        "recurringtype": "Daily",
        "assigned_user_id": "19x1",
        "createdtime": CREATED,
        **fields,
    }


def members(recs: list[dict[str, Any]], tz: str = "Europe/Rome") -> list[Member]:
    return [Member(r["id"], r, event_from_record(r, tz)) for r in recs]


def days(first: date, *offsets: int) -> list[date]:
    return [first + timedelta(days=o) for o in offsets]


D0 = date(2026, 4, 6)  # a Monday, far from DST changes


def test_a_daily_series_is_recovered_whole() -> None:
    recs = [record(i, d) for i, d in enumerate(days(D0, 0, 1, 2, 3, 4), start=1)]
    links = from_records(members(recs), "Europe/Rome")
    assert set(links) == {r["id"] for r in recs}
    link = links["18x3"]
    assert link.id == "18x1" and link.rule.lines == ("RRULE:FREQ=DAILY;COUNT=5",)
    assert link.template.when.tz == "Europe/Rome" and link.whole
    assert link.original == datetime(2026, 4, 8, 8, 0, tzinfo=UTC)
    assert link.members == ("18x1", "18x2", "18x3", "18x4", "18x5")


def test_weekly_on_two_days_and_every_other_month() -> None:
    weekly = [
        record(i, d, recurringtype="Weekly") for i, d in enumerate(days(D0, 0, 2, 7, 9), start=1)
    ]
    (rule,) = from_records(members(weekly), "UTC")["18x1"].rule.lines
    assert rule == "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4"
    monthly = [
        record(i, d, recurringtype="Monthly")
        for i, d in enumerate([date(2026, 1, 15), date(2026, 3, 15), date(2026, 5, 15)], start=1)
    ]
    (rule,) = from_records(members(monthly), "UTC")["18x1"].rule.lines
    assert rule == "RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=3"


def test_what_is_not_certain_stays_single() -> None:
    """A gap, a record saved apart, no label, a lone record: no series."""
    five = days(D0, 0, 1, 2, 3, 4)
    gap = [record(i, d) for i, d in enumerate(days(D0, 0, 1, 3, 4), start=1)]
    apart = [record(i, d) for i, d in enumerate(five, start=1)]
    apart[4]["createdtime"] = "2026-03-01 10:30:00"
    unlabelled = [record(i, d, recurringtype="") for i, d in enumerate(five, start=1)]
    lone = [record(1, D0)]
    for recs in (gap, apart, unlabelled, lone):
        assert from_records(members(recs), "UTC") == {}


def test_an_edited_occurrence_leaves_the_group() -> None:
    recs = [record(i, d) for i, d in enumerate(days(D0, 0, 1, 2), start=1)]
    recs[2]["subject"] = "stand-up (demo)"
    links = from_records(members(recs), "UTC")
    assert set(links) == {"18x1", "18x2"}


def test_across_a_dst_change_the_rule_expands_in_utc() -> None:
    """vtiger steps dates at a fixed UTC time: across Rome's spring change the wall time
    moves, so the rule is written in UTC and still places every occurrence exactly."""
    recs = [record(i, d) for i, d in enumerate(days(date(2026, 3, 27), 0, 1, 2, 3), start=1)]
    link = from_records(members(recs), "Europe/Rome")["18x1"]
    assert link.template.when.tz == "UTC"
    (line,) = link.rule.lines
    start = link.template.when.start
    assert isinstance(start, datetime)
    placed = list(rrulestr(line.removeprefix("RRULE:"), dtstart=start))
    assert placed == [m.event.when.start for m in members(recs)]


def test_tables_give_exdates_and_exceptions() -> None:
    five = days(D0, 0, 1, 2, 3, 4)
    recs = [record(i, d) for i, d in enumerate(five, start=1)]
    del recs[1]  # deleted in vtiger
    recs[2] = {**recs[2], "subject": "retro", "time_start": "09:00:00", "time_end": "09:30:00"}
    row = RuleRow("Daily", 1, "Daily", D0, five[-1])
    links = from_links({"18x1": members(recs)}, {"18x1": row}, "Europe/Rome")
    link = links["18x4"]
    assert link.rule.lines == (
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE;TZID=Europe/Rome:20260407T100000",
    )
    assert link.template.title == "stand-up" and not link.whole
    # The edited occurrence keeps its place in the rule: 08:00 UTC on its day.
    assert link.original == datetime(2026, 4, 9, 8, 0, tzinfo=UTC)


def test_tables_with_a_member_off_the_rule_give_nothing() -> None:
    recs = [record(i, d) for i, d in enumerate(days(D0, 0, 1, 2), start=1)]
    recs[2] = {**recs[2], "date_start": "2026-04-20", "due_date": "2026-04-20"}
    row = RuleRow("Daily", 1, "Daily", D0, D0 + timedelta(days=2))
    assert from_links({"18x1": members(recs)}, {"18x1": row}, "UTC") == {}
