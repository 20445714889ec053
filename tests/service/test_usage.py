"""The usage report and the budgets per API: calls per quota day and API with the days
without calls, today's users (linked or calling), the budgets in force, and what may be saved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from calsync.config import Settings
from calsync.quota import CALENDAR_BILLING_THRESHOLD, Api, Limits
from calsync.service import AppSettings, SettingsRefused, UsageRefused, UsageService
from calsync.sides.crm import LocalBackend
from calsync.sides.local.crm import LocalCrm
from calsync.state import Store

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
TODAY = date(2026, 11, 30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        for name in ("alice", "bob", "carol"):
            store.upsert_user(name)
        yield store


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[LocalBackend]:
    local = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    yield LocalBackend(local)
    local.close()


@pytest.fixture
def settings(store: Store, crm: LocalBackend, tmp_path: Path) -> AppSettings:
    return AppSettings(store, Settings(data_dir=tmp_path), crm)


def test_default_budgets_keep_under_google_limits(settings: AppSettings) -> None:
    """The Calendar project budget stays well under the daily billing threshold, the Tasks
    one under Google's 50,000-a-day courtesy limit, and a user's under the project's."""
    budgets = settings.budgets()
    calendar, tasks = budgets[Api.CALENDAR], budgets[Api.TASKS]
    assert calendar.project is not None and calendar.project <= CALENDAR_BILLING_THRESHOLD // 2
    assert tasks.project is not None and tasks.project < 50_000
    assert calendar.user is not None and calendar.user < calendar.project
    assert tasks.user is not None and tasks.user < tasks.project


def test_the_single_budget_setting_is_the_calendar_project_budget(
    store: Store, crm: LocalBackend, tmp_path: Path
) -> None:
    """`CALSYNC_GOOGLE_DAILY_BUDGET` and the admin page's one budget field still set the
    budget they always set, now named the Calendar API's project budget."""
    settings = AppSettings(store, Settings(data_dir=tmp_path, google_daily_budget=1234), crm)
    assert settings.budgets()[Api.CALENDAR].project == 1234
    settings.save_google_client(
        client_id="cid.example", client_secret="s", daily_budget="777", redirect_uri=""
    )
    assert settings.budgets()[Api.CALENDAR].project == 777
    assert settings.budgets()[Api.TASKS].project == Settings().google_tasks_daily_budget


def test_saved_budgets_win_and_a_bad_form_stores_nothing(settings: AppSettings) -> None:
    """Four budgets are saved together; a user's above its project's, or anything that is not
    a whole number of calls from 1 up, refuses the whole form."""
    before = settings.budgets()
    with pytest.raises(SettingsRefused) as refused:
        settings.save_budgets(calendar="100", calendar_user="200", tasks="0", tasks_user="x")
    assert set(refused.value.errors) == {"calendar_user", "tasks", "tasks_user"}
    assert settings.budgets() == before
    settings.save_budgets(calendar="900", calendar_user="90", tasks="300", tasks_user="30")
    assert settings.budgets() == {
        Api.CALENDAR: Limits(project=900, user=90),
        Api.TASKS: Limits(project=300, user=30),
    }


def test_report_counts_per_day_api_and_user(store: Store, settings: AppSettings) -> None:
    """Days oldest first with zeros where nothing was called; today's users are every linked
    user and everyone who called, never the project-wide '' row (which the days still count)."""
    store.set_link("bob", "bob@example.com", "rt")
    store.add_calls("alice", 12, TODAY, "calendar")
    store.add_calls("alice", 3, TODAY, "tasks")
    store.add_calls(None, 2, TODAY, "calendar")
    store.add_calls("alice", 40, TODAY - timedelta(days=2), "calendar")
    store.add_calls("carol", 5, TODAY - timedelta(days=2), "tasks")
    store.add_calls("alice", 99, TODAY - timedelta(days=3), "calendar")  # outside 3 days

    usage = UsageService(store, settings, today=lambda: TODAY).report(3)

    assert usage.today_calls(Api.CALENDAR) == 14 and usage.today_calls(Api.TASKS) == 3
    assert usage.to_json() == {
        "days": [
            {"day": "2026-11-28", "calendar": 40, "tasks": 5},
            {"day": "2026-11-29", "calendar": 0, "tasks": 0},
            {"day": "2026-11-30", "calendar": 14, "tasks": 3},
        ],
        "users": {
            "alice": {"calendar": 12, "tasks": 3},
            "bob": {"calendar": 0, "tasks": 0},
        },
        "budgets": {
            "calendar": {
                "project": 500_000,
                "user": 20_000,
                "billing_threshold": CALENDAR_BILLING_THRESHOLD,
            },
            "tasks": {"project": 40_000, "user": 5_000},
        },
    }


@pytest.mark.parametrize("days", [0, -1, 367])
def test_report_refuses_days_outside_a_year(settings: AppSettings, days: int) -> None:
    with pytest.raises(UsageRefused, match="1 to 366"):
        UsageService(settings.store, settings, today=lambda: TODAY).report(days)


def test_a_year_of_days(store: Store, settings: AppSettings) -> None:
    """366 days reach back to the same date a year and a day before (2024 is not in it)."""
    usage = UsageService(store, settings, today=lambda: TODAY).report(366)
    assert len(usage.days) == 366
    assert usage.days[0].day == date(2025, 11, 30) and usage.days[-1].day == TODAY
