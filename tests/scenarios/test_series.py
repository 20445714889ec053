"""Series with exceptions in the embedded CRM: one series, overrides keyed by original start.

A Google series whose occurrences are moved or cancelled lands in the embedded CRM as one
series with its exceptions (never a second event beside the rule), and an exception edited
or added in the CRM reaches Google as that instance of the series.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calsync.engine.pairs import Kind, Pair
from calsync.engine.run import cursor_names
from calsync.model import Event, Override, Recurrence, When, content_hash
from calsync.service import UserStatus
from calsync.sides.base import Remote
from calsync.sides.google.mapping import event_from_google
from tests.scenarios.drivers import LocalDriver, VtigerDriver
from tests.scenarios.world import World

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def local(world: World) -> LocalDriver:
    if not isinstance(world.crm, LocalDriver):
        pytest.skip("series with exceptions are the embedded CRM's")
    return world.crm


def next_monday() -> date:
    today = datetime.now(ROME).date()
    return today + timedelta(days=7 - today.weekday())


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ROME)


def google_weekly(world: World, first: date, count: int = 5, **extra: Any) -> dict[str, Any]:
    start, end = at(first), at(first) + timedelta(hours=1)
    return world.g.insert(
        {
            "summary": "weekly review",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Rome"},
            "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
            **extra,
        }
    )


def instance(series: dict[str, Any], day: date) -> str:
    return f"{series['id']}_{at(day).astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def only_event(local: LocalDriver) -> Remote[Event]:
    (one,) = local.events("alice")
    return one


def shown(local: LocalDriver, id: str) -> list[tuple[str, datetime]]:
    """Return (title, start in Rome) of each occurrence the CRM's calendar shows."""
    lo, hi = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    out = []
    for e in local.crm.occurrences("alice", id, lo, hi):
        assert isinstance(e.when.start, datetime)
        out.append((e.title, e.when.start.astimezone(ROME)))
    return out


def quiet(world: World) -> None:
    """Two more rounds write nothing on either side."""
    world.sync()
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert world.google_writes() == []
    assert all(r.crm.writes == 0 and r.google.writes == 0 for r in rep.rounds)


def test_a_google_series_with_a_moved_and_a_cancelled_occurrence_is_one_crm_series(
    world: World, local: LocalDriver
) -> None:
    """Weekly on Google, the 2nd occurrence moved to 11:00 and retitled, the 4th cancelled:
    the CRM holds one series with two exceptions keyed by original start, shows five minus
    one occurrences, and no event beside it; later rounds are quiet."""
    monday = next_monday()
    series = google_weekly(world, monday)
    second, fourth = monday + timedelta(weeks=1), monday + timedelta(weeks=3)
    world.g.patch(
        instance(series, second),
        {
            "summary": "weekly review (moved)",
            "start": {"dateTime": at(second, 11).isoformat(), "timeZone": "Europe/Rome"},
            "end": {"dateTime": at(second, 12).isoformat(), "timeZone": "Europe/Rome"},
        },
    )
    world.g.delete(instance(series, fourth))
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message

    crm = only_event(local)
    assert crm.item.recurrence == Recurrence(("RRULE:FREQ=WEEKLY;COUNT=5",))
    moved, cancelled = crm.item.overrides
    assert moved.original_start == at(second).astimezone(UTC)
    assert moved.event is not None and moved.event.title == "weekly review (moved)"
    assert cancelled == Override(at(fourth).astimezone(UTC))
    assert shown(local, crm.id) == [
        ("weekly review", at(monday)),
        ("weekly review (moved)", at(second, 11)),
        ("weekly review", at(monday + timedelta(weeks=2))),
        ("weekly review", at(monday + timedelta(weeks=4))),
    ]
    quiet(world)

    # Later edits on Google change the exception, not the number of events.
    world.g.patch(instance(series, second), {"location": "room 2"})
    world.sync()
    crm = only_event(local)
    assert crm.item.overrides[0].event is not None
    assert crm.item.overrides[0].event.location == "room 2"
    quiet(world)


def test_an_exception_edited_in_the_crm_reaches_google_as_that_instance(
    world: World, local: LocalDriver
) -> None:
    """A CRM edit of one occurrence PATCHes that instance on Google, a CRM cancellation
    cancels it; the master and the other instances stay as they were."""
    monday = next_monday()
    series = google_weekly(world, monday)
    second, third = monday + timedelta(weeks=1), monday + timedelta(weeks=2)
    world.g.patch(instance(series, second), {"summary": "weekly review (guest)"})
    world.sync()
    crm = only_event(local)

    local.crm.edit_occurrence("alice", crm.id, second, title="weekly review (guest, room 3)")
    local.crm.cancel_occurrence("alice", crm.id, third)
    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    writes = world.google_writes()
    assert sorted((w["method"], w["path"].rsplit("/", 1)[-1]) for w in writes) == [
        ("DELETE", instance(series, third)),
        ("PATCH", instance(series, second)),
    ]
    assert world.g.get(instance(series, second))["summary"] == "weekly review (guest, room 3)"
    assert world.g.get(instance(series, third))["status"] == "cancelled"
    assert world.g.get(series["id"])["summary"] == "weekly review"
    live = [e for e in world.g.events() if e["id"] != series["id"]]
    assert [e["id"] for e in live] == [instance(series, second)]
    quiet(world)


def test_a_crm_series_with_exceptions_reaches_google_as_one_series(
    world: World, local: LocalDriver
) -> None:
    """A series born in the CRM with a moved and a cancelled occurrence: Google gets one
    recurring event whose instances carry the exceptions; a Google edit of another instance
    comes back as a third exception."""
    monday = next_monday()
    start = at(monday)
    made = local.crm.add_event(
        "alice",
        Event(
            "crm weekly",
            When(start, start + timedelta(hours=1), "Europe/Rome"),
            recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=4",)),
        ),
    )
    second, third = monday + timedelta(weeks=1), monday + timedelta(weeks=2)
    local.crm.edit_occurrence("alice", made.id, second, title="crm weekly (late)",
                              when=When(at(second, 15), at(second, 16), "Europe/Rome"))  # fmt: skip
    local.crm.cancel_occurrence("alice", made.id, third)
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    (master,) = [e for e in world.g.events() if e.get("recurrence")]
    assert world.g.get(instance(master, second))["summary"] == "crm weekly (late)"
    assert world.g.get(instance(master, third))["status"] == "cancelled"
    quiet(world)

    fourth = monday + timedelta(weeks=3)
    world.g.patch(instance(master, fourth), {"summary": "crm weekly (last)"})
    world.sync()
    crm = only_event(local)
    assert [o.event.title if o.event else None for o in crm.item.overrides] == [
        "crm weekly (late)",
        None,
        "crm weekly (last)",
    ]
    quiet(world)


def test_an_exception_synced_as_an_event_of_its_own_before_the_upgrade_is_not_kept_twice(
    world: World, local: LocalDriver
) -> None:
    """Before series were kept whole, an exception edited on Google reached the embedded CRM
    as an event of its own beside the series. After the upgrade the next round (a full one,
    the item version changed) makes it the series' exception and removes that event: one
    series, one exception, nothing duplicated on either side."""
    monday = next_monday()
    series = google_weekly(world, monday, count=3)
    second = monday + timedelta(weeks=1)
    exc = world.g.patch(instance(series, second), {"summary": "weekly review (moved)"})
    master = world.g.get(series["id"])
    # The state the previous version left: two CRM events, two pairs, cursors up to date.
    old_master = event_from_google(master, default_tz="Europe/Rome")[0]
    old_exc = event_from_google(exc, default_tz="Europe/Rome")[0]
    for doc, item in ((master, old_master), (exc, old_exc)):
        made = local.crm.add_event("alice", item, key=f"g.{doc['id']}")
        world.store.put_pair(
            Pair("alice", Kind.EVENT, f"g.{doc['id']}", made.id, doc["id"], "primary",
                 made.etag, doc["etag"], content_hash(made.item), content_hash(item))
        )  # fmt: skip
    crm_cursor, google_cursor, fp = cursor_names(Kind.EVENT, "primary")
    world.store.set_cursor("alice", crm_cursor, str(local.crm.current_seq()))
    token = world.g.http.get(
        f"{world.google_url}/calendar/v3/calendars/primary/events",
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    ).json()["nextSyncToken"]
    world.store.set_cursor("alice", google_cursor, token)
    world.store.set_cursor("alice", fp, "fingerprint-of-the-previous-version")
    world.store.set_cursor("alice", "service:full:event:primary", date.today().isoformat())
    world.store.commit()

    world.clear_log()
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert world.google_writes() == []
    crm = only_event(local)
    (moved,) = crm.item.overrides
    assert moved.event is not None and moved.event.title == "weekly review (moved)"
    assert [p.google_id for p in world.pairs()] == [series["id"]]
    quiet(world)


def split(world: World, series: dict[str, Any], day: date, **changes: Any) -> dict[str, Any]:
    """Do what Google's UI does for "this and following" from `day`: the old series ends
    the day before (UNTIL in UTC), a new one starts on `day` with the rest of the rule and a
    copy of the old master's content, extended properties included."""
    master = world.g.get(series["id"])
    rule = master["recurrence"][0]
    parts = dict(p.split("=", 1) for p in rule.removeprefix("RRULE:").split(";"))
    count = int(parts.pop("COUNT"))
    first = datetime.fromisoformat(master["start"]["dateTime"]).date()
    done = (day - first).days // 7
    until = (at(day) - timedelta(days=1)).astimezone(UTC).strftime("%Y%m%dT235959Z")
    old = ";".join(f"{k}={v}" for k, v in parts.items())
    world.g.patch(series["id"], {"recurrence": [f"RRULE:{old};UNTIL={until}"]})
    body = {
        k: v
        for k, v in master.items()
        if k in ("summary", "description", "location", "extendedProperties", "reminders")
    }
    start, end = at(day), at(day) + timedelta(hours=1)
    return world.g.insert(
        {
            **body,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Rome"},
            "recurrence": [f"RRULE:{old};COUNT={count - done}"],
            **changes,
        }
    )


def starts_in_crm(world: World) -> list[tuple[str, datetime]]:
    """Return (title, start in Rome) of every occurrence the CRM shows, in order."""
    out: list[tuple[str, datetime]] = []
    if isinstance(world.crm, LocalDriver):
        for r in world.crm.events("alice"):
            out += shown(world.crm, r.id)
    else:
        for r in world.crm.events("alice"):
            assert isinstance(r.item.when.start, datetime)
            out.append((r.item.title, r.item.when.start.astimezone(ROME)))
    return sorted(out, key=lambda t: t[1])


def test_this_and_following_on_google_converges_without_duplicates(world: World) -> None:
    """A Google series split from its 4th occurrence ("this and following", renamed): the
    embedded CRM ends up with the old series cut short (its earlier exception kept) and the
    new series; vtiger with one record per occurrence, the later ones renamed. Every
    occurrence once, and later rounds are quiet."""
    monday = next_monday()
    series = google_weekly(world, monday, count=6)
    second, fourth = monday + timedelta(weeks=1), monday + timedelta(weeks=3)
    world.g.patch(instance(series, second), {"summary": "weekly review (moved)"})
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    assert len(starts_in_crm(world)) == 6

    split(world, series, fourth, summary="weekly review v2")
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    titles = ["weekly review", "weekly review (moved)", "weekly review"] + ["weekly review v2"] * 3
    assert starts_in_crm(world) == [
        (t, at(monday + timedelta(weeks=n))) for n, t in enumerate(titles)
    ]
    if isinstance(world.crm, LocalDriver):
        assert len(world.crm.events("alice")) == 2
    quiet(world)


def test_this_and_following_of_a_crm_series_makes_a_second_crm_series(
    world: World, local: LocalDriver
) -> None:
    """A series born in the CRM, split on Google: the new Google series carries a copy of our
    link key, yet it is a new series of the user's (not a second claim on the CRM's), so it
    reaches the CRM; the CRM series is cut short. Nothing is duplicated on Google."""
    monday = next_monday()
    start = at(monday)
    local.crm.add_event(
        "alice",
        Event(
            "crm weekly",
            When(start, start + timedelta(hours=1), "Europe/Rome"),
            recurrence=Recurrence(("RRULE:FREQ=WEEKLY;COUNT=5",)),
        ),
    )
    world.sync()
    (master,) = world.g.events()
    third = monday + timedelta(weeks=2)
    split(world, master, third, summary="crm weekly (new room)")
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    titles = ["crm weekly"] * 2 + ["crm weekly (new room)"] * 3
    assert starts_in_crm(world) == [
        (t, at(monday + timedelta(weeks=n))) for n, t in enumerate(titles)
    ]
    assert len(world.g.events()) == 2
    quiet(world)


def test_a_series_moved_in_time_in_the_crm_leaves_no_orphan_exception_on_google(
    world: World, local: LocalDriver
) -> None:
    """The whole series moved an hour later in the CRM: its exception's occurrence no longer
    exists, so Google does not go on showing it beside the series; rounds then are quiet."""
    monday = next_monday()
    series = google_weekly(world, monday, count=3)
    second = monday + timedelta(weeks=1)
    world.g.patch(instance(series, second), {"summary": "weekly review (guest)"})
    world.sync()
    crm = only_event(local)
    later = When(at(monday, 10), at(monday, 11), "Europe/Rome")
    local.crm.edit_event("alice", crm.id, when=later)
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    shown_on_google = sorted(
        (e.get("summary"), e["start"]["dateTime"])
        for e in world.g.http.get(
            f"{world.google_url}/calendar/v3/calendars/primary/events",
            params={"singleEvents": "true"},
            headers={"Authorization": f"Bearer {world.g.access_token}"},
        ).json()["items"]
        if e.get("status") != "cancelled"
    )
    assert [datetime.fromisoformat(t).astimezone(ROME).hour for _, t in shown_on_google] == [10] * 3
    assert {s for s, _ in shown_on_google} == {"weekly review"}
    assert only_event(local).item.overrides == ()
    quiet(world)


def test_this_and_following_of_a_vtiger_series_converges(world: World) -> None:
    """A series made in vtiger's UI reaches Google as one recurring event; split there from
    its 4th occurrence, vtiger keeps its first three records and gets the last two as the
    new series' occurrences: five records, no loss, nothing twice; later rounds are quiet."""
    if not isinstance(world.crm, VtigerDriver):
        pytest.skip("vtiger's series: one record per occurrence")
    day = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    world.crm.series(
        "alice",
        {"subject": "stand-up", "date_start": day, "time_start": "08:00:00", "due_date": day,
         "time_end": "08:30:00", "duration_hours": "0", "duration_minutes": "30",
         "visibility": "Public"},
        "Daily",
        5,
    )  # fmt: skip
    world.sync()
    (master,) = [e for e in world.g.events() if e.get("recurrence")]
    r = world.g.http.get(
        f"{world.google_url}/calendar/v3/calendars/primary/events/{master['id']}/instances",
        headers={"Authorization": f"Bearer {world.g.access_token}"},
    )
    fourth = datetime.fromisoformat(r.json()["items"][3]["start"]["dateTime"])
    until = (fourth - timedelta(seconds=1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    world.g.patch(master["id"], {"recurrence": [f"RRULE:FREQ=DAILY;UNTIL={until}"]})
    world.g.insert(
        {
            "summary": "stand-up (new room)",
            "extendedProperties": master.get("extendedProperties", {}),
            "start": {"dateTime": fourth.isoformat(), "timeZone": master["start"]["timeZone"]},
            "end": {
                "dateTime": (fourth + timedelta(minutes=30)).isoformat(),
                "timeZone": master["start"]["timeZone"],
            },
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
        }
    )
    rep = world.sync()
    assert rep.status is UserStatus.OK, rep.message
    records = sorted(
        (r.item.when.start, r.item.title)
        for r in world.crm.events("alice")
        if isinstance(r.item.when.start, datetime)
    )
    assert [t for _, t in records] == ["stand-up"] * 3 + ["stand-up (new room)"] * 2
    assert [(b - a).days for (a, _), (b, _) in pairwise(records)] == [1] * 4
    quiet(world)
