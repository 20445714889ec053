"""Sample data for the embedded CRM: two users in different zones with a few events and to-dos.

Public API: `seed_demo(crm, today=None)`, `DEMO_USERS`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from calsync.model import (
    Attendee,
    Event,
    Recurrence,
    Reminder,
    Task,
    TaskStatus,
    Transparency,
    Visibility,
    When,
    utcnow,
    zone,
)
from calsync.sides.local.crm import LocalCrm

DEMO_USERS = {"alice": "Europe/Rome", "bob": "America/New_York"}
"""Demo user names and their zones; each user's password is their name."""
DEMO_LANGUAGES = {"alice": "it_it"}
"""The CRM language of demo users who do not use the default `en_us`."""


def _at(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone(tz))


def _timed(day: date, hour: int, minutes: int, tz: str) -> When:
    start = _at(day, hour, 0, tz)
    return When.timed(start, start + timedelta(minutes=minutes), tz)


def seed_demo(crm: LocalCrm, today: date | None = None) -> list[str]:
    """Create the demo users and their items (skipping users that exist); return names made."""
    today = today or utcnow().date()
    made: list[str] = []
    for name, tz in DEMO_USERS.items():
        if crm.get_user(name) is not None:
            continue
        crm.create_user(
            name,
            password=name,
            time_zone=tz,
            email=f"{name}@example.com",
            is_admin=name == "alice",
            language=DEMO_LANGUAGES.get(name, "en_us"),
        )
        made.append(name)
        for event in _events(name, tz, today):
            crm.add_event(name, event)
        for task in _tasks(name, today):
            crm.add_task(name, task)
    return made


def _events(name: str, tz: str, today: date) -> list[Event]:
    other = "bob" if name == "alice" else "alice"
    return [
        Event(
            "Quarterly review",
            _timed(today + timedelta(days=1), 10, 60, tz),
            description=(
                "<p>Agenda:</p><ul><li>Pipeline</li><li>Renewals</li></ul>"
                '<p>Notes: <a href="https://example.com/q">shared doc</a></p>'
            ),
            location="Meeting room 2",
            reminders=(Reminder(10), Reminder(60, "email")),
            attendees=(Attendee(f"{other}@example.com", other.title(), "accepted"),),
        ),
        Event(
            "Trade fair",
            When.dates(today + timedelta(days=7), today + timedelta(days=9), tz),
            description="<b>Booth 14</b>, hall B",
            transparency=Transparency.FREE,
        ),
        Event(
            "Doctor appointment",
            _timed(today + timedelta(days=2), 8, 30, tz),
            description="Private: bring the referral",
            visibility=Visibility.PRIVATE,
        ),
        Event(
            "Team stand-up",
            _timed(today + timedelta(days=(7 - today.weekday()) % 7 or 7), 9, 15, tz),
            recurrence=Recurrence(("RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10",)),
        ),
        Event("Call with a customer", _timed(today - timedelta(days=3), 15, 45, tz)),
    ]


def _tasks(name: str, today: date) -> list[Task]:
    return [
        Task("Send the offer", notes="Prices as agreed on the phone", due=today + timedelta(3)),
        Task("Update the contact list", due=today + timedelta(days=10)),
        Task("File the expenses", status=TaskStatus.DONE, due=today - timedelta(days=1)),
        Task(f"Prepare {name}'s slides"),
    ]
