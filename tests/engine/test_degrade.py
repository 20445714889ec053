"""A CRM that cannot hold every character (vtiger's `??` for emoji): its damage is no edit."""

from __future__ import annotations

from typing import Any

from calsync.engine.pairs import Kind
from calsync.model import Event, Reminder
from calsync.sides.vtiger.side import stored_text
from tests.engine.helpers import World, make_event, make_task

EMOJI = "Aperitivo \U0001f379 con Luigi"


class DegradingWorld(World):
    """The CRM memory side stores text as vtiger on a 3-byte utf8 database does."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.crm.store_keys = False
        self.crm.degrade = stored_text

    def sync(self, **kw: Any) -> Any:
        kw.setdefault("crm_degrade", stored_text)
        return super().sync(**kw)

    def notes(self) -> list[str]:
        return [e.key for e in self.store.log if e.action == "degraded"]


def test_stored_text_turns_each_character_outside_the_bmp_into_two_question_marks() -> None:
    assert stored_text(EMOJI) == "Aperitivo ?? con Luigi"
    assert stored_text("\U0001f680\U0001f44d\U0001f3fd caffè — ☕") == "?????? caffè — ☕"


def test_crm_edit_keeps_googles_original_text() -> None:
    """A CRM edit of another field carries that field only: Google keeps its emoji."""
    w = DegradingWorld()
    gid = w.google.put(make_event(EMOJI, description="\U0001f389 party", location="bar"))
    w.sync()
    ((cid, crm),) = w.crm.live().items()
    assert crm.item.title == "Aperitivo ?? con Luigi"
    assert w.notes() == [f"g.{gid}"]
    w.crm.edit(cid, crm.item.with_(location="Bar Basso"))
    r = w.sync()
    assert r.google.updated == 1
    g = w.google.live()[gid].item
    assert (g.title, g.description, g.location) == (EMOJI, "\U0001f389 party", "Bar Basso")
    for _ in range(3):
        r = w.sync()
        assert r.crm.writes == r.google.writes == 0
    assert w.notes() == [f"g.{gid}"]  # said once for the item


def test_google_edit_is_carried_without_rewriting_the_crms_degraded_text() -> None:
    """A Google edit of the location does not log the lost characters again."""
    w = DegradingWorld()
    gid = w.google.put(make_event(EMOJI))
    w.sync()
    w.google.edit(gid, w.google.live()[gid].item.with_(location="Navigli"))
    r = w.sync()
    assert r.crm.updated == 1
    ((_, crm),) = w.crm.live().items()
    assert (crm.item.title, crm.item.location) == ("Aperitivo ?? con Luigi", "Navigli")
    assert len(w.notes()) == 1
    assert w.sync().google.writes == 0


def test_wiped_state_relinks_a_degraded_copy_by_content() -> None:
    """Without state, the CRM's `??` title still matches Google's original: nothing is made
    and Google keeps its text."""
    w = DegradingWorld()
    gid = w.google.put(make_event(EMOJI))
    w.sync()
    w.store.wipe()
    r = w.sync()
    assert r.crm.created == r.google.created == r.google.updated == 0
    assert len(w.pairs()) == 1 and w.google.live()[gid].item.title == EMOJI


def test_task_title_survives_a_crm_edit() -> None:
    w = DegradingWorld(kind=Kind.TASK)
    gid = w.google.put(make_task("Buy \U0001f34b lemons"))
    w.sync()
    ((cid, crm),) = w.crm.live().items()
    assert crm.item.title == "Buy ?? lemons"
    w.crm.edit(cid, crm.item.with_(notes="two kilos"))
    w.sync()
    g = w.google.live()[gid].item
    assert (g.title, g.notes) == ("Buy \U0001f34b lemons", "two kilos")


def one_reminder(item: Any) -> Any:
    """Store an event as vtiger does: its earliest reminder only, as a popup, and a whole
    number of days read back a minute longer (1440 as 1441; 1441 stays)."""
    if not isinstance(item, Event) or not item.reminders:
        return item
    minutes = min(r.minutes for r in item.reminders)
    return item.with_(reminders=(Reminder(minutes + (minutes % 1440 == 0)),))


class OneReminderWorld(World):
    """The CRM memory side keeps one reminder per event, as vtiger does."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.crm.store_keys = False
        self.crm.stores = one_reminder

    def sync(self, **kw: Any) -> Any:
        kw.setdefault("crm_stores", one_reminder)
        return super().sync(**kw)


TWO = (Reminder(30), Reminder(1440, "email"))


def test_crm_edit_keeps_googles_reminders() -> None:
    """Popup 30 + email 1440 on Google, popup 30 in the CRM: a CRM title edit reaches Google,
    whose two reminders stay; the CRM's reminder is never rewritten."""
    w = OneReminderWorld()
    gid = w.google.put(make_event("Aperitivo", reminders=TWO))
    w.sync()
    ((cid, crm),) = w.crm.live().items()
    assert crm.item.reminders == (Reminder(30),)
    w.crm.edit(cid, crm.item.with_(title="Aperitivo con Luigi"))
    r = w.sync()
    assert r.google.updated == 1
    g = w.google.live()[gid].item
    assert (g.title, g.reminders) == ("Aperitivo con Luigi", TWO)
    for _ in range(2):
        r = w.sync()
        assert r.crm.writes == r.google.writes == 0


def test_one_day_reminder_does_not_come_back_a_minute_longer() -> None:
    w = OneReminderWorld()
    gid = w.google.put(make_event("Trip", reminders=(Reminder(1440),)))
    w.sync()
    ((cid, crm),) = w.crm.live().items()
    assert crm.item.reminders == (Reminder(1441),)
    w.crm.edit(cid, crm.item.with_(location="Milano"))
    w.sync()
    g = w.google.live()[gid].item
    assert (g.location, g.reminders) == ("Milano", (Reminder(1440),))


def test_google_edit_does_not_rewrite_the_crms_one_reminder() -> None:
    """A Google edit of the title only: the CRM gets the title, its reminder is left alone."""
    w = OneReminderWorld()
    gid = w.google.put(make_event("Aperitivo", reminders=TWO))
    w.sync()
    w.google.edit(gid, w.google.live()[gid].item.with_(title="Aperitivo (moved)"))
    r = w.sync()
    assert r.crm.updated == 1
    ((_, crm),) = w.crm.live().items()
    assert (crm.item.title, crm.item.reminders) == ("Aperitivo (moved)", (Reminder(30),))
    assert w.google.live()[gid].item.reminders == TWO
    assert w.sync().google.writes == 0


def test_a_real_crm_reminder_change_reaches_google() -> None:
    w = OneReminderWorld()
    gid = w.google.put(make_event("Review", reminders=(Reminder(15),)))
    w.sync()
    ((cid, crm),) = w.crm.live().items()
    w.crm.edit(cid, crm.item.with_(reminders=(Reminder(60),)))
    w.sync()
    assert w.google.live()[gid].item.reminders == (Reminder(60),)
