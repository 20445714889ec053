"""A Google series with a huge rule cannot flood a CRM that stores one record per occurrence."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.engine.caps import Caps
from calsync.service import UserStatus
from tests.scenarios.world import World

ROME = ZoneInfo("Europe/Rome")


@pytest.mark.vtiger_only
def test_secondly_series_is_capped_with_a_line_in_the_users_log(world: World) -> None:
    """`FREQ=SECONDLY;COUNT=300`: the first 40 occurrences reach vtiger, round after round."""
    world.service.caps = Caps(per_series=40, per_round=1000)
    start = datetime.combine(
        (datetime.now(ROME) + timedelta(days=1)).date(), datetime.min.time(), ROME
    ).replace(hour=9)
    world.g.insert(
        {
            "summary": "runaway",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Rome"},
            "end": {
                "dateTime": (start + timedelta(seconds=1)).isoformat(),
                "timeZone": "Europe/Rome",
            },
            "recurrence": ["RRULE:FREQ=SECONDLY;COUNT=300"],
        }
    )
    for _ in range(2):
        rep = world.sync()
        assert rep.status is UserStatus.OK, rep.message
        assert len(world.crm.events("alice")) == 40
    lines = [e for e in world.store.logs("alice") if e.action == "skip" and e.title == "runaway"]
    assert lines and "300 occurrences" in lines[0].message and "first 40" in lines[0].message
