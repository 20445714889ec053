"""Scope and projection: sync range, hours window in the user's zone, private modes."""

from datetime import UTC, datetime, time, timedelta

from calsync.engine import filters
from calsync.model import Event, Override, Recurrence, Visibility, When
from calsync.prefs import HoursWindow, Prefs, PrivateMode, Winner
from tests.engine.helpers import NOW, make_all_day, make_event, make_private, make_task

WORK = Prefs(hours=HoursWindow(time(8), time(18)))


def test_range_covers_past_and_future_days_for_timed_and_all_day() -> None:
    p = Prefs(days_past=2, days_future=5)
    assert filters.in_range(make_event(day=-1), p, NOW, "UTC")
    assert not filters.in_range(make_event(day=-3), p, NOW, "UTC")
    assert filters.in_range(make_event(day=4), p, NOW, "UTC")
    assert not filters.in_range(make_event(day=6), p, NOW, "UTC")
    assert filters.in_range(make_all_day(day=-2), p, NOW, "UTC")
    assert not filters.in_range(make_all_day(day=-3), p, NOW, "UTC")
    assert not filters.in_range(make_all_day(day=5), p, NOW, "UTC")
    assert filters.in_range(make_task(), p, NOW, "UTC")  # no due date: always in range


def test_hours_window_uses_the_users_zone_and_all_day_always_passes() -> None:
    # 07:30 UTC is 09:30 in Rome (CEST): inside 08-18 for a Rome user, outside for UTC.
    e = make_event(
        when=When(
            datetime(2026, 6, 15, 7, 30, tzinfo=UTC), datetime(2026, 6, 15, 8, 30, tzinfo=UTC)
        )
    )
    assert filters.in_hours(e, WORK, "Europe/Rome")
    assert not filters.in_hours(e, WORK, "UTC")
    assert filters.in_hours(make_all_day(), WORK, "UTC")


def test_event_crossing_the_window_edge_is_judged_by_its_start() -> None:
    inside = make_event(
        when=When(
            datetime(2026, 6, 15, 17, 30, tzinfo=UTC), datetime(2026, 6, 15, 19, 0, tzinfo=UTC)
        )
    )
    before = make_event(
        when=When(datetime(2026, 6, 15, 7, 30, tzinfo=UTC), datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    )
    assert filters.for_google(inside, WORK, NOW, "UTC") == inside
    assert filters.for_google(before, WORK, NOW, "UTC") is None
    edge = make_event(
        when=When(
            datetime(2026, 6, 15, 18, 0, tzinfo=UTC), datetime(2026, 6, 15, 19, 0, tzinfo=UTC)
        )
    )
    assert filters.for_google(edge, WORK, NOW, "UTC") is None  # the end is exclusive


def test_private_modes_in_each_direction() -> None:
    crm_private = make_private()
    google_private = make_private("Lunch")
    table = {
        PrivateMode.ALL: (True, True),
        PrivateMode.TO_GOOGLE: (True, False),
        PrivateMode.TO_CRM: (False, True),
        PrivateMode.NONE: (False, False),
        PrivateMode.BUSY: (True, True),
    }
    for mode, (to_google, to_crm) in table.items():
        p = Prefs(private=mode)
        assert (filters.for_google(crm_private, p, NOW, "UTC") is not None) is to_google, mode
        assert (filters.for_crm(google_private, p, NOW, "UTC") is not None) is to_crm, mode


def test_google_born_private_events_land_public_in_the_crm() -> None:
    out = filters.for_crm(make_private("Lunch"), Prefs(), NOW, "UTC")
    assert isinstance(out, Event) and out.visibility is Visibility.PUBLIC


def test_busy_mask_keeps_only_times_all_day_and_transparency() -> None:
    e = make_private(reminders=(), when=When.dates(NOW.date(), NOW.date() + timedelta(days=2)))
    out = filters.for_google(e, Prefs(private=PrivateMode.BUSY), NOW, "UTC")
    assert isinstance(out, Event)
    assert out.title == filters.BUSY_TITLE and out.when == e.when
    assert out.transparency == e.transparency and out.when.all_day
    assert "CANARY" not in repr(out)
    assert out.description == out.location == "" and out.attendees == () == out.reminders


def test_prefs_fingerprint_ignores_the_winner() -> None:
    p = Prefs()
    assert filters.prefs_fingerprint(p) == filters.prefs_fingerprint(p.with_(winner=Winner.CRM))
    assert filters.prefs_fingerprint(p) != filters.prefs_fingerprint(
        p.with_(private=PrivateMode.BUSY)
    )


def test_busy_mask_masks_a_series_exceptions_too() -> None:
    """Under `busy` a private CRM series shows its exceptions' times on Google, never their
    text; a cancelled occurrence stays cancelled."""
    e = make_private(recurrence=Recurrence(("RRULE:FREQ=DAILY;COUNT=3",)))
    second = e.when.start + timedelta(days=1)
    assert isinstance(second, datetime)
    moved = e.with_(
        title="CANARY moved",
        description="CANARY notes",
        recurrence=None,
        when=When(second + timedelta(hours=2), second + timedelta(hours=3)),
    )
    series = e.with_(overrides=(Override(second, moved), Override(second + timedelta(days=1))))
    out = filters.for_google(series, Prefs(private=PrivateMode.BUSY), NOW, "UTC")
    assert isinstance(out, Event) and "CANARY" not in repr(out)
    masked, cancelled = out.overrides
    assert masked.event is not None and masked.event.title == filters.BUSY_TITLE
    assert masked.event.when == moved.when and cancelled.event is None


def test_google_born_private_exceptions_land_public_in_the_crm() -> None:
    e = make_private("Lunch", recurrence=Recurrence(("RRULE:FREQ=DAILY;COUNT=2",)))
    second = e.when.start + timedelta(days=1)
    assert isinstance(second, datetime)
    series = e.with_(overrides=(Override(second, e.with_(recurrence=None, title="Late")),))
    out = filters.for_crm(series, Prefs(), NOW, "UTC")
    assert isinstance(out, Event)
    assert [o.event.visibility for o in out.overrides if o.event] == [Visibility.PUBLIC]
