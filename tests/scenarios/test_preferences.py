"""Direction, private mode, hours window and time zones, end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.model import Event, Visibility, When, utcnow
from calsync.prefs import Direction, HoursWindow, PrivateMode
from tests.scenarios.world import World

ROME = ZoneInfo("Europe/Rome")


def _day(days: int = 2) -> date:
    return (utcnow() + timedelta(days=days)).astimezone(ROME).date()


def at(hour: int, minute: int = 0, days: int = 2, tz: ZoneInfo = ROME) -> When:
    start = datetime.combine(_day(days), datetime.min.time(), tz).replace(hour=hour, minute=minute)
    return When(start, start + timedelta(hours=1), str(tz))


def g_body(summary: str, when: When, **extra: object) -> dict[str, object]:
    assert isinstance(when.start, datetime) and isinstance(when.end, datetime)
    return {
        "summary": summary,
        "start": {"dateTime": when.start.isoformat(), "timeZone": when.tz},
        "end": {"dateTime": when.end.isoformat(), "timeZone": when.tz},
        **extra,
    }


def test_to_google_never_writes_the_crm(world: World) -> None:
    """In to-google mode, Google-born events stay out of the CRM and CRM events go up."""
    world.prefs(direction=Direction.TO_GOOGLE)
    world.crm.add_event("alice", Event("from CRM", at(10)))
    world.g.insert(g_body("from Google", at(11)))
    world.sync()
    assert set(world.crm_events()) == {"from CRM"}
    assert set(world.google_events()) == {"from CRM", "from Google"}


def test_to_crm_never_writes_google(world: World) -> None:
    """In to-crm mode, Google gets no write at all; Google events reach the CRM."""
    world.prefs(direction=Direction.TO_CRM)
    world.crm.add_event("alice", Event("from CRM", at(10)))
    world.g.insert(g_body("from Google", at(11)))
    world.clear_log()
    world.sync()
    assert world.google_writes() == []
    assert set(world.crm_events()) == {"from CRM", "from Google"}


CANARY = "SECRET-CANARY-42"


@pytest.mark.parametrize(
    ("mode", "to_google", "to_crm"),
    [
        (PrivateMode.ALL, True, True),
        (PrivateMode.TO_GOOGLE, True, False),
        (PrivateMode.TO_CRM, False, True),
        (PrivateMode.NONE, False, False),
    ],
)
def test_private_modes(world: World, mode: PrivateMode, to_google: bool, to_crm: bool) -> None:
    """Each private mode lets private events travel only the ways it names."""
    world.prefs(private=mode)
    world.crm.add_event("alice", Event("crm private", at(9), visibility=Visibility.PRIVATE))
    world.g.insert(g_body("google private", at(10), visibility="private"))
    world.sync()
    assert ("crm private" in world.google_events()) is to_google
    crm = world.crm_events()
    assert ("google private" in crm) is to_crm
    if to_crm:
        # The original module documents that Google's private events land in the CRM as public.
        assert crm["google private"].visibility is Visibility.PUBLIC


def test_busy_mode_copies_only_a_busy_block(world: World) -> None:
    """Under `busy`, a private CRM event reaches Google as an untitled block: nothing leaks."""
    world.prefs(private=PrivateMode.BUSY)
    world.crm.add_event(
        "alice",
        Event(
            f"Doctor {CANARY}",
            at(9),
            description=f"<p>{CANARY}</p>",
            location=CANARY,
            visibility=Visibility.PRIVATE,
        ),
    )
    world.sync()
    (g,) = world.g.events()
    assert g["summary"] == "Busy"
    assert CANARY not in str(g)
    for req in world.requests():
        assert CANARY not in str(req.get("body")), req


def test_hours_window_filters_by_start_in_the_users_zone(world: World) -> None:
    """08:00-12:00 Rome: an event starting 11:30 crossing the edge travels, 12:00 does not,
    an all-day event does; leaving the window later deletes nothing."""
    world.prefs(hours=HoursWindow.parse("08:00-12:00"))
    inside = world.crm.add_event("alice", Event("inside", at(11, 30)))
    world.crm.add_event("alice", Event("at the end", at(12)))
    world.crm.add_event("alice", Event("early", at(7, 59)))
    world.crm.add_event("alice", Event("all day", When(_day(), _day() + timedelta(days=1))))
    # 10:00 New York is 16:00 Rome: outside the window although 10:00 is inside it.
    world.g.insert(g_body("new york", at(10, tz=ZoneInfo("America/New_York"))))
    world.sync()
    assert set(world.google_events()) == {"inside", "all day", "new york"}
    assert "new york" not in world.crm_events()

    # Moving it out of the window is not a deletion on Google.
    world.crm.edit_event("alice", inside, when=at(15))
    world.sync()
    assert "inside" in world.google_events()


def test_new_york_event_lands_at_the_same_instant_for_a_rome_user(world: World) -> None:
    """An event made in America/New_York on Google keeps its instant in the Rome user's CRM."""
    ny = ZoneInfo("America/New_York")
    when = at(9, tz=ny)
    world.g.insert(g_body("NY meeting", when))
    world.sync()
    ev = world.crm_events()["NY meeting"]
    assert ev.when.start == when.start
    assert isinstance(ev.when.start, datetime) and isinstance(when.start, datetime)
    assert ev.when.start.astimezone(ROME).hour == (when.start.astimezone(ROME)).hour
    assert ev.when.start.tzinfo is not None and ev.when.start.utcoffset() == timedelta(0)
    assert ev.when.start.astimezone(UTC) == when.start


def test_all_day_event_stays_all_day_both_ways(world: World) -> None:
    """All-day items keep dates and Google's exclusive end in both directions."""
    d = _day(5)
    world.crm.add_event("alice", Event("holiday", When(d, d + timedelta(days=2))))
    world.g.insert(
        {
            "summary": "g holiday",
            "start": {"date": str(d)},
            "end": {"date": str(d + timedelta(days=1))},
        }
    )
    world.sync()
    g = world.google_events()["holiday"]
    assert g["start"] == {"date": str(d)} and g["end"] == {"date": str(d + timedelta(days=2))}
    crm = world.crm_events()["g holiday"]
    assert crm.when.all_day and crm.when.start == d and crm.when.end == d + timedelta(days=1)


def test_event_entering_the_window_as_days_pass_is_synced(world: World) -> None:
    """An unedited CRM event beyond the sync range reaches Google once time brings it in
    (the daily full listing), and is not created before."""
    world.prefs(days_future=10)
    far = soon_days(15)
    world.crm.add_event("alice", Event("far away", far))
    world.sync()
    world.sync()
    assert "far away" not in world.google_events()
    world.now = utcnow() + timedelta(days=8)
    world.sync()
    assert "far away" in world.google_events()
    assert len(world.g.events()) == 1


def soon_days(days: int) -> When:
    start = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return When(start, start + timedelta(hours=1), "Europe/Rome")
