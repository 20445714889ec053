"""Scope and projection: what an item looks like to the other side under a user's prefs.

Public API: `for_google(item, ...)`, `for_crm(item, ...)` (None = out of scope), `in_range`,
`in_hours`, `busy_mask`, `same`, `prefs_fingerprint`. Everything is pure; `now` and the user's
zone are passed in. Being out of scope only stops content from travelling: the planner never
turns it into a deletion (leaving scope changes nothing on either side).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

from calsync.model import Event, Item, Task, Visibility, content_hash, zone
from calsync.prefs import Prefs, PrivateMode

ITEMS_VERSION = 2
"""Version of how sides present items (2: a series is one item with its exceptions)."""

BUSY_TITLE = "Busy"
"""The only text a private CRM event shows on Google under the `busy` private mode."""


def _local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(zone(tz)).date()


def in_range(item: Item, prefs: Prefs, now: datetime, user_tz: str) -> bool:
    """Return True when the item overlaps [now - days_past, now + days_future].

    All-day events compare dates in the user's zone (their own calendar day); tasks without a
    due date are always in range; a recurring event counts as long as it starts before the
    range ends (its later occurrences may fall inside it).
    """
    if isinstance(item, Task):
        if item.due is None:
            return True
        today = _local_date(now, user_tz)
        first = today - timedelta(days=prefs.days_past)
        return first <= item.due < today + timedelta(days=prefs.days_future)
    when = item.when
    if when.all_day:
        today = _local_date(now, user_tz)
        first = today - timedelta(days=prefs.days_past)
        last = today + timedelta(days=prefs.days_future)
        assert isinstance(when.start, date) and isinstance(when.end, date)
        starts_in_time = when.start < last
        return starts_in_time and (item.recurrence is not None or when.end > first)
    lo = now - timedelta(days=prefs.days_past)
    hi = now + timedelta(days=prefs.days_future)
    assert isinstance(when.start, datetime) and isinstance(when.end, datetime)
    if item.recurrence is not None:
        return when.start < hi
    # A zero-length event at exactly `lo` is kept: end >= lo rather than end > lo.
    return when.start < hi and when.end >= lo


def in_hours(item: Item, prefs: Prefs, user_tz: str) -> bool:
    """Return True when a timed event starts inside the hours window, in the USER's zone.

    All-day events and tasks always pass: they have no time of day.
    """
    if isinstance(item, Task) or item.when.all_day or prefs.hours.whole_day:
        return True
    return prefs.hours.contains(item.when.start_in(user_tz).time())


def busy_mask(event: Event) -> Event:
    """Return the "Busy" block shown for a private event: times, all-day and transparency only."""
    return Event(
        title=BUSY_TITLE,
        when=event.when,
        visibility=Visibility.PRIVATE,
        transparency=event.transparency,
        recurrence=event.recurrence,
        # A series' exceptions are masked too: their times stay, their text never travels.
        overrides=event.with_overrides(busy_mask).overrides,
        updated=event.updated,
    )


def _private(item: Item) -> bool:
    return isinstance(item, Event) and item.visibility is Visibility.PRIVATE


def _in_scope(item: Item, prefs: Prefs, now: datetime, user_tz: str) -> bool:
    return in_range(item, prefs, now, user_tz) and in_hours(item, prefs, user_tz)


def for_google(item: Item, prefs: Prefs, now: datetime, user_tz: str) -> Item | None:
    """Return the CRM item as Google should hold it, or None when it must not travel there.

    Direction is not checked here (the planner does, so one-way modes can still compare).
    """
    if not _in_scope(item, prefs, now, user_tz):
        return None
    if _private(item):
        assert isinstance(item, Event)
        mode = prefs.private
        if mode in (PrivateMode.TO_CRM, PrivateMode.NONE):
            return None
        if mode is PrivateMode.BUSY:
            return busy_mask(item)
    return item


def for_crm(item: Item, prefs: Prefs, now: datetime, user_tz: str) -> Item | None:
    """Return the Google item as the CRM should hold it, or None when it must not travel there.

    Google-born private events land in the CRM as public, as the original module documents;
    under `busy` only CRM-born private events are masked, Google's private ones travel as in
    `all`.
    """
    if not _in_scope(item, prefs, now, user_tz):
        return None
    if _private(item):
        assert isinstance(item, Event)
        if prefs.private in (PrivateMode.TO_GOOGLE, PrivateMode.NONE):
            return None
        return item.with_(visibility=Visibility.PUBLIC).with_overrides(
            lambda o: o.with_(visibility=Visibility.PUBLIC)
        )
    return item


def same(a: Item, b: Item) -> bool:
    """Return True when two items have the same content (metadata ignored)."""
    return content_hash(a) == content_hash(b)


def prefs_fingerprint(prefs: Prefs) -> str:
    """Return a short digest of the prefs that change scope or projection.

    When it differs from the stored one, the runner drops the cursors so a full listing
    re-examines every item (re-masking, newly in-scope items). The winner policy is left out:
    it only matters for changes, which are read anyway.
    """
    doc = {
        # How sides present items: since 2, a Google series is one item with its exceptions.
        # Raising it makes every user's next round re-read everything once after an upgrade,
        # so exceptions synced before as events of their own are let go at once.
        "items": ITEMS_VERSION,
        "direction": prefs.direction.value,
        "private": prefs.private.value,
        "hours": str(prefs.hours),
        "days": [prefs.days_past, prefs.days_future],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
