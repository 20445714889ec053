"""Field mapping between vtiger records and calsync items: times, all-day, HTML, to-dos."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from calsync.emulators.vtiger.ops import reminder_minutes
from calsync.emulators.vtiger.testing import EmulatedUser
from calsync.model import Attendee, Event, Reminder, TaskStatus, Visibility, When, content_hash
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.mapping import (
    VTIGER_IGNORED_FIELDS,
    MappingError,
    description_from_vtiger,
    event_fields,
    event_from_record,
    stored_item,
    task_fields,
    task_from_record,
    vtiger_projection,
)
from tests.sides.vtiger.factories import make_event, make_task


def _stored(fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Return `fields` as vtiger would give them back (id, modifiedtime, reminder in minutes)."""
    rec = {"id": "18x1", "modifiedtime": "2026-03-01 08:00:00", **fields, **extra}
    if str(rec.get("reminder_time") or "").isdigit():
        rec["reminder_time"] = str(reminder_minutes(int(rec["reminder_time"])))
    return rec


def _same(a: Event, b: Event) -> bool:
    return content_hash(a, VTIGER_IGNORED_FIELDS) == content_hash(b, VTIGER_IGNORED_FIELDS)


@pytest.mark.parametrize(
    ("tz", "utc_start"),
    [("Europe/Rome", ("2026-03-10", "09:00:00")), ("America/New_York", ("2026-03-10", "14:00:00"))],
)
def test_timed_event_travels_in_utc(tz: str, utc_start: tuple[str, str]) -> None:
    ev = make_event(tz)
    fields = event_fields(ev, tz, create=True, owner="19x2")
    assert (fields["date_start"], fields["time_start"]) == utc_start
    assert fields["activitytype"] == "Meeting" and fields["eventstatus"] == "Planned"
    assert fields["duration_hours"] == "1" and fields["duration_minutes"] == "30"
    back = event_from_record(_stored(fields), tz)
    assert _same(back, ev) and back.when.tz == tz


def test_update_keeps_crm_owned_fields() -> None:
    fields = event_fields(make_event(), "Europe/Rome", create=False, owner="19x2")
    assert not {"activitytype", "eventstatus", "assigned_user_id", "recurringtype"} & set(fields)


def test_dst_and_cross_midnight() -> None:
    """The spring-forward night in Rome and a New York event running past midnight."""
    dst = make_event(
        "Europe/Rome",
        when=When.timed(datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 3, 30), "Europe/Rome"),
    )
    f = event_fields(dst, "Europe/Rome", create=True)
    assert (f["time_start"], f["time_end"], f["duration_hours"]) == ("00:30:00", "01:30:00", "1")
    assert _same(event_from_record(_stored(f), "Europe/Rome"), dst)
    late = make_event(
        "America/New_York",
        when=When.timed(
            datetime(2026, 3, 10, 22, 0), datetime(2026, 3, 11, 1, 0), "America/New_York"
        ),
    )
    f = event_fields(late, "America/New_York", create=True)
    assert (f["date_start"], f["due_date"]) == ("2026-03-11", "2026-03-11")
    assert _same(event_from_record(_stored(f), "America/New_York"), late)


@pytest.mark.parametrize("tz", ["Europe/Rome", "America/New_York", "UTC"])
def test_all_day_is_written_0000_to_2359_local_and_read_back_as_all_day(tz: str) -> None:
    ev = make_event(tz, when=When.dates(date(2026, 3, 10), date(2026, 3, 13), tz))
    fields = event_fields(ev, tz, create=True)
    back = event_from_record(_stored(fields), tz)
    assert back.when.all_day and back.when.start == date(2026, 3, 10)
    assert back.when.end == date(2026, 3, 13)


def test_upstream_midnight_to_midnight_form_is_all_day() -> None:
    """vtiger's own Google module stored an all-day day as local 00:00 to next 00:00 (in UTC)."""
    rec = _stored(
        event_fields(make_event(), "Europe/Rome", create=True),
        date_start="2026-03-09",
        time_start="23:00:00",
        due_date="2026-03-10",
        time_end="23:00:00",
    )
    when = event_from_record(rec, "Europe/Rome").when
    assert when.all_day and (when.start, when.end) == (date(2026, 3, 10), date(2026, 3, 11))


def test_unpadded_times_and_values() -> None:
    fields = event_fields(make_event("UTC"), "UTC", create=True)
    rec = _stored(fields, time_start="9:05", visibility="Private", reminder_time=None)
    ev = event_from_record(rec, "UTC")
    assert ev.when.start == datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
    assert ev.visibility == Visibility.PRIVATE and ev.reminders == ()
    assert ev.updated == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_start": "10/03/2026"}, "malformed date"),
        ({"time_start": "25:99"}, "malformed time"),
        ({"due_date": ""}, "has no due_date"),
        ({"activitytype": "Lunch"}, "activity type"),
        ({"due_date": "2026-03-01"}, "end is before start"),
        ({"date_start": "9999-12-31", "due_date": "9999-12-31"}, "unusable date '9999-12-31'"),
        ({"date_start": "0001-01-01"}, "unusable date '0001-01-01'"),
    ],
)
def test_bad_records_raise_mapping_error(change: dict[str, Any], message: str) -> None:
    rec = _stored(event_fields(make_event(), "UTC", create=True), **change)
    with pytest.raises(MappingError, match=message):
        event_from_record(rec, "UTC")


def test_projection_keeps_what_vtiger_can_hold() -> None:
    ev = make_event(
        reminders=(Reminder(30, "email"), Reminder(10)),
        attendees=(Attendee("x@example.com"),),
        title="",
    )
    back = event_from_record(_stored(event_fields(ev, "UTC", create=True)), "UTC")
    assert back.reminders == (Reminder(10),) and back.title == "(no title)"
    assert _same(back, vtiger_projection(ev))


def test_escaped_script_form_is_recognised() -> None:
    original = "<p>a <script>alert('x')</script> &amp; b</p>"
    stored = "&lt;p&gt;a &lt;script&gt;alert(&#039;x&#039;)&lt;/script&gt; &amp;amp; b&lt;/p&gt;"
    assert description_from_vtiger(stored) == original
    assert description_from_vtiger("<p>&lt;script&gt; is a tag</p>") == (
        "<p>&lt;script&gt; is a tag</p>"
    )


@pytest.mark.parametrize(
    "description",
    [
        "<p>Hi <b>all</b> &amp; <a href='x' onclick='y()'>link</a></p>\n1 < 2 > 0 è",
        "<p>a <script>alert('x')</script> &amp; &lt;b&gt;</p>",
        "plain &copy text",
    ],
)
def test_description_does_not_grow_over_ten_round_trips(
    client: VtigerClient, alice: EmulatedUser, description: str
) -> None:
    """CRM -> calsync -> CRM ten times through the emulator leaves the text as it was."""
    ev = make_event("Europe/Rome", description=description)
    rec = client.create("Events", event_fields(ev, "Europe/Rome", create=True, owner=alice.id))
    first = rec["description"]
    for _ in range(10):
        read = event_from_record(rec, "Europe/Rome")
        assert read.description == description
        rec = client.revise({"id": rec["id"], **event_fields(read, "Europe/Rome", create=False)})
    assert rec["description"] == first


def test_task_mapping_both_ways() -> None:
    task = make_task()
    fields = task_fields(task, "America/New_York", owner="19x2")
    assert fields["activitytype"] == "Task" and fields["taskstatus"] == "Not Started"
    assert (fields["date_start"], fields["time_start"]) == ("2026-03-12", "13:00:00")
    rec = {"id": "9x5", "modifiedtime": "2026-03-01 08:00:00", **fields}
    assert task_from_record(rec) == task
    done = task_fields(task.with_(status=TaskStatus.DONE), "UTC", current=rec)
    assert done == {
        "subject": "Send offer",
        "description": "<p>v2</p>",
        "due_date": "2026-03-12",
        "taskstatus": "Completed",
        "activitytype": "Task",
        "reminder_time": "",
    }
    in_progress = {**rec, "taskstatus": "In Progress"}
    assert "taskstatus" not in task_fields(task, "UTC", current=in_progress)
    moved = task_fields(task.with_(due=date(2026, 4, 1)), "UTC", current=rec)
    assert moved["date_start"] == "2026-04-01" and "time_start" not in moved
    undated = task_fields(task.with_(due=None), "UTC", today=date(2026, 5, 5))
    assert undated["due_date"] == "2026-05-05"
    with pytest.raises(MappingError):
        task_from_record({**rec, "activitytype": ""})
    with pytest.raises(MappingError, match="unusable date"):
        task_from_record({**rec, "due_date": "9999-12-31"})


def test_all_day_on_a_day_that_starts_at_0100() -> None:
    """Chile's DST starts at midnight (2026-09-06 begins at 01:00): still all-day both ways."""
    tz = "America/Santiago"
    ev = make_event(tz, when=When.dates(date(2026, 9, 6), date(2026, 9, 7), tz))
    fields = event_fields(ev, tz, create=True)
    assert (fields["date_start"], fields["time_start"]) == ("2026-09-06", "04:00:00")
    assert event_from_record(_stored(fields), tz).when == ev.when


def test_stored_item_is_what_vtiger_reads_back() -> None:
    """The engine compares Google's value with this: one reminder (the earliest, 1440 read back
    as 1441), the placeholder for an empty title; to-dos keep their fields."""
    ev = make_event(reminders=(Reminder(1440, "email"), Reminder(2880)), title="")
    assert stored_item(ev) == ev.with_(title="(no title)", reminders=(Reminder(1441),))
    task = make_task()
    assert stored_item(task) == task
    assert stored_item(task.with_(title="")).title == "(no title)"
