"""The vtiger Sides against what a real vtiger 8.4 does (the emulator's default mode)."""

from __future__ import annotations

import logging

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator, event_element
from calsync.errors import NotFound
from calsync.model import Reminder, Visibility
from calsync.sides.vtiger.client import VtigerClient
from calsync.sides.vtiger.mapping import reminder_read_back, reminder_seconds
from calsync.sides.vtiger.side import VtigerEventsSide, VtigerTasksSide
from tests.sides.vtiger.factories import make_event, make_task


@pytest.fixture
def events(client: VtigerClient, alice: EmulatedUser) -> VtigerEventsSide:
    return VtigerEventsSide(client, alice.id, alice.time_zone)


@pytest.fixture
def tasks(client: VtigerClient, alice: EmulatedUser) -> VtigerTasksSide:
    return VtigerTasksSide(client, alice.id, alice.time_zone)


@pytest.mark.parametrize("minutes", [1, 15, 30, 90, 1439])
def test_reminder_is_written_in_seconds(
    events: VtigerEventsSide, client: VtigerClient, minutes: int
) -> None:
    """vtiger reads `reminder_time` as seconds: a 30-minute reminder is written 1800 and reads
    back 30, on create and on update."""
    made = events.create(make_event(reminders=(Reminder(minutes),)), "k")
    assert client.retrieve(made.id)["reminder_time"] == str(minutes)
    assert made.item.reminders == (Reminder(minutes),)
    other = events.create(make_event(reminders=()), "k2")
    updated = events.update(other.id, make_event(reminders=(Reminder(minutes),)), None)
    assert updated.item.reminders == (Reminder(minutes),)


def test_day_long_reminders_do_not_creep() -> None:
    """vtiger adds a minute per whole day on read (86400 s reads 1441): a value read from
    vtiger is written so that it reads back the same, so re-writing it never drifts."""
    assert reminder_seconds(30) == 1800
    assert reminder_read_back(reminder_seconds(1441)) == 1441
    assert reminder_read_back(reminder_seconds(2882)) == 2882
    assert reminder_read_back(reminder_seconds(1440)) == 1441  # unreachable: the nearest


def test_every_revise_carries_the_reminder(
    events: VtigerEventsSide, client: VtigerClient, vt: VtigerEmulator
) -> None:
    """A revise without `reminder_time` deletes vtiger's reminder: an edit of another field
    keeps it."""
    made = events.create(make_event(reminders=(Reminder(15),)), "k")
    vt.advance(2)
    events.update(made.id, made.item.with_(title="Renamed"), made.etag)
    rec = client.retrieve(made.id)
    assert (rec["subject"], rec["reminder_time"]) == ("Renamed", "15")


def test_todo_revise_keeps_its_reminder_and_stays_a_todo(
    tasks: VtigerTasksSide, client: VtigerClient, alice: EmulatedUser, vt: VtigerEmulator
) -> None:
    """A to-do's reminder (set in vtiger, unknown to Google Tasks) survives calsync's edits,
    and every write says `activitytype` "Task" and carries a `time_start`."""
    rec = client.create(
        "Calendar",
        {
            "subject": "Call back",
            "assigned_user_id": alice.id,
            "date_start": "2026-03-12",
            "time_start": "08:00:00",
            "due_date": "2026-03-12",
            "taskstatus": "Not Started",
            "activitytype": "Task",
            "reminder_time": 600,
        },
    )
    assert rec["reminder_time"] == "10"
    vt.advance(2)
    tasks.update(rec["id"], make_task(title="Call back today"), None)
    after = client.retrieve(rec["id"])
    assert (after["subject"], after["reminder_time"]) == ("Call back today", "10")
    made = tasks.create(make_task(), "k")
    assert made.id.startswith("9x")
    assert client.retrieve(made.id)["time_start"] == "08:00:00"  # 09:00 in Rome


def test_empty_visibility_reads_as_public(
    events: VtigerEventsSide, client: VtigerClient, alice: EmulatedUser
) -> None:
    """An event created without `visibility` stores "" (describe's default says Private):
    vtiger shows it to colleagues as any non-Private event, so calsync reads it as public."""
    fields = event_element(alice.id)
    del fields["visibility"]
    rec = client.create("Events", fields)
    assert rec["visibility"] == ""
    got = events.get(rec["id"])
    assert got is not None and got.item.visibility is Visibility.PUBLIC


def test_mobile_call_is_an_event(
    events: VtigerEventsSide, client: VtigerClient, alice: EmulatedUser
) -> None:
    """vtiger 8.4's event types are Call, Meeting and Mobile Call."""
    rec = client.create("Events", event_element(alice.id, activitytype="Mobile Call"))
    assert [r.id for r in events.changes(None).items] == [rec["id"]]


def test_record_that_changed_module_is_gone_from_its_old_side(
    events: VtigerEventsSide,
    tasks: VtigerTasksSide,
    vt: VtigerEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An event turned into a to-do answers INVALID_ID_ATTRIBUTE under its old id: the Events
    side reports it deleted (the to-do side lists it as new), reads and writes of the old id
    behave as for a deleted record, and nothing fails."""
    made = events.create(make_event(title="Becomes a to-do"), "k")
    keep = events.create(make_event(title="Stays"), "k2")
    cursor = events.changes(None).cursor
    todo_cursor = tasks.changes(None).cursor
    vt.advance(2)
    moved = vt.move_record(made.id, "Calendar")
    with caplog.at_level(logging.INFO, logger="calsync.sides.vtiger.side"):
        inc = events.changes(cursor)
    assert inc.deleted == [made.id] and inc.skipped == []
    assert any("changed module" in r.getMessage() for r in caplog.records)
    assert events.get(made.id) is None
    with pytest.raises(NotFound):
        events.update(made.id, make_event(title="x"), None)
    events.delete(made.id, None)  # nothing to do
    assert [r.id for r in tasks.changes(todo_cursor).items] == [moved["id"]]
    assert events.get(keep.id) is not None


def test_non_admin_login_profile_and_users(
    client: VtigerClient, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    """A non-admin key: zone from the login reply's top level, users() is only itself."""
    assert client.time_zone == "Europe/Rome" and not client.is_admin
    assert [u["user_name"] for u in client.users()] == ["alice"]


def test_event_given_away_as_private_is_gone_not_an_error(
    vt: VtigerEmulator, admin: EmulatedUser, alice: EmulatedUser, bob: EmulatedUser
) -> None:
    """An event reassigned to another user and made Private answers alice's retrieve with
    ACCESS_DENIED "Permission to read given object is denied": it left her calendar, and her
    VTQL feed says so instead of failing."""
    events = VtigerEventsSide(vt.client(alice), alice.id, alice.time_zone)
    made = events.create(make_event(title="Handed over"), "k")
    cursor = events.changes(None).cursor
    vt.client(admin).revise({"id": made.id, "assigned_user_id": bob.id, "visibility": "Private"})
    vt.advance(2)
    assert events.changes(cursor).deleted == [made.id]
    assert events.get(made.id) is None
