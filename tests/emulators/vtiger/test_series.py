"""Series saved as vtiger's UI saves them: one record per occurrence, linked only in vtiger's
own tables, which the webservice never shows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from tests.emulators.vtiger.conftest import Ws

FIRST = {
    "subject": "stand-up",
    "date_start": "2026-03-27",
    "time_start": "08:00:00",
    "due_date": "2026-03-27",
    "time_end": "08:15:00",
    "duration_hours": "0",
    "duration_minutes": "15",
    "description": "<p>daily</p>",
    "visibility": "Public",
}


def test_a_daily_series_is_one_record_per_occurrence(
    vt: VtigerEmulator, alice: EmulatedUser
) -> None:
    """Five records: dates step a day, everything else (times, text, label) is copied."""
    ids = vt.series("alice", FIRST, "Daily", 5)
    assert len(ids) == 5
    ws = Ws(vt, alice)
    recs = [ws.ok("GET", "retrieve", id=i) for i in ids]
    assert [r["date_start"] for r in recs] == [f"2026-03-{d}" for d in (27, 28, 29, 30, 31)]
    assert {(r["subject"], r["time_start"], r["time_end"], r["description"]) for r in recs} == {
        ("stand-up", "08:00:00", "08:15:00", "<p>daily</p>")
    }
    assert {r["recurringtype"] for r in recs} == {"Daily"}
    assert {r["assigned_user_id"] for r in recs} == {alice.id}
    # Nothing in a record names its series.
    assert not any(str(v) in ids[:1] for r in recs[1:] for k, v in r.items() if k != "id")


def test_monthly_and_weekly_dates(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    ws = Ws(vt, alice)
    monthly = vt.series(
        "alice", {**FIRST, "date_start": "2026-01-31", "due_date": "2026-01-31"}, "Monthly", 3
    )
    assert [ws.ok("GET", "retrieve", id=i)["date_start"] for i in monthly] == [
        "2026-01-31",
        "2026-03-31",
        "2026-05-31",
    ]
    weekly = vt.series("alice", FIRST, "Weekly", 2, interval=2)
    assert [ws.ok("GET", "retrieve", id=i)["date_start"] for i in weekly] == [
        "2026-03-27",
        "2026-04-10",
    ]


def test_the_link_lives_in_vtigers_own_tables(tmp_path: Path) -> None:
    """`vtiger_activity_recurring_info` links every occurrence (the first to itself too) and
    `vtiger_recurringevents` repeats the rule per occurrence; a webservice save of one
    occurrence drops its rule row but not its link."""
    db = tmp_path / "vtiger.db"
    with VtigerEmulator(str(db)) as vt:
        alice = vt.add_user("alice")
        ids = vt.series("alice", FIRST, "Weekly", 3)
        crmids = [int(i.split("x")[1]) for i in ids]
        Ws(vt, alice).ok("POST", "revise", element=f'{{"id": "{ids[1]}", "subject": "moved"}}')
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            links = conn.execute(
                "SELECT activityid, recurrenceid FROM vtiger_activity_recurring_info"
            ).fetchall()
            rules = conn.execute(
                "SELECT activityid, recurringdate, recurringtype, recurringfreq, recurringinfo,"
                " recurringenddate FROM vtiger_recurringevents ORDER BY activityid"
            ).fetchall()
    assert sorted(links) == [(crmids[0], c) for c in crmids]
    assert rules == [
        (crmids[0], "2026-03-27", "Weekly", 1, "Weekly::Fri", "2026-04-10"),
        (crmids[2], "2026-04-10", "Weekly", 1, "Weekly::Fri", "2026-04-10"),
    ]


def test_bad_series_requests(vt: VtigerEmulator, alice: EmulatedUser) -> None:
    for body in (
        {"owner": "nobody", "fields": FIRST, "rule": {"type": "Daily", "count": 2}},
        {"owner": "alice", "fields": FIRST, "rule": {"type": "Hourly", "count": 2}},
        {"owner": "alice", "fields": FIRST, "rule": {"type": "Daily", "count": 0}},
    ):
        assert vt.http.post(f"{vt.url}/_emulator/series", json=body).status_code == 400
