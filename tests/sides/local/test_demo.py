"""The demo data: two users in their zones with timed, all-day, private and HTML items."""

from __future__ import annotations

from datetime import date

from calsync.model import Visibility
from calsync.sides.local import LocalCrm, seed_demo


def test_seed_demo_is_idempotent_and_varied() -> None:
    crm = LocalCrm("sqlite://")
    assert seed_demo(crm, today=date(2026, 3, 2)) == ["alice", "bob"]
    assert seed_demo(crm) == []
    users = {u.name: u for u in crm.list_users()}
    assert users["alice"].time_zone == "Europe/Rome"
    assert users["bob"].time_zone == "America/New_York"
    assert crm.verify_password("alice", "alice")
    events = [r.item for r in crm.list_events("alice")]
    assert any(e.when.all_day for e in events) and any(not e.when.all_day for e in events)
    assert any(e.visibility is Visibility.PRIVATE for e in events)
    assert any("<" in e.description for e in events)
    assert any(e.recurrence for e in events)
    assert all(e.when.tz == "Europe/Rome" for e in events)
    assert crm.list_tasks("bob")
    crm.close()
