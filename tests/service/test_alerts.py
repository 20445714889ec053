"""Budget alerts by email through a real SMTP server: each threshold once per quota day and
budget with the right figures, again the next day, never breaking a round when sending
fails; the SMTP settings validated and the password kept encrypted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from calsync.errors import BudgetSpent
from calsync.quota import Api, Budget, BudgetAlert, Limits, day_of
from calsync.service import AlertService, MailError, Security, SettingsRefused
from calsync.state import Store
from calsync.state import tables as t
from tests.smtp import SmtpServer, free_port

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
# 10:00 in Los Angeles on 2 March 2026.
MORNING = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", KEY) as store:
        store.migrate()
        yield store


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(user="calsync", password="s3cret-smtp") as server:
        yield server


def configure(alerts: AlertService, smtp_port: int, **changes: str) -> None:
    values = {
        "thresholds": "50, 90, 100",
        "host": "127.0.0.1",
        "port": str(smtp_port),
        "security": "none",
        "user": "calsync",
        "password": "s3cret-smtp",
        "sender": "calsync@example.com",
        "recipients": "ops@example.com, boss@example.com",
    }
    alerts.save(**(values | changes))


def project_budget(store: Store, alerts: AlertService, clock: Clock, limit: int) -> Budget:
    return Budget(
        store,
        limits={Api.CALENDAR: Limits(project=limit), Api.TASKS: Limits(project=limit)},
        thresholds=alerts.thresholds(),
        on_alert=alerts.notify,
        today=lambda: day_of(clock()),
    )


def test_each_threshold_is_emailed_once_with_its_figures(store: Store, smtp: SmtpServer) -> None:
    """A project budget of 20 Calendar calls spent call by call sends three emails, at 10, 18
    and 20 calls (50, 90 and 100 %), each with the API, the budget, the calls used, the
    percentage and the quota day, to both recipients after logging in."""
    clock = Clock(MORNING)
    alerts = AlertService(store, now=clock)
    configure(alerts, smtp.port)
    budget = project_budget(store, alerts, clock, 20)
    for _ in range(20):
        budget.spend("alice", 1, Api.CALENDAR)
    with pytest.raises(BudgetSpent):
        budget.spend("alice", 1, Api.CALENDAR)

    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [
        "calsync: Calendar API project budget at 50 % on 2026-03-02",
        "calsync: Calendar API project budget at 90 % on 2026-03-02",
        "calsync: Calendar API project budget at 100 % on 2026-03-02",
    ]
    assert smtp.logins == ["calsync"] * 3
    assert smtp.recipients == [["ops@example.com", "boss@example.com"]] * 3
    body = smtp.messages[1].get_content()
    assert "API:        Calendar API" in body
    assert "Budget:     20 calls a day (the whole project)" in body
    assert "Used:       18 calls (90%)" in body
    assert "Quota day:  2026-03-02" in body
    assert "Resets at:  2026-03-03T00:00:00-08:00" in body
    assert smtp.messages[0]["From"] == "calsync@example.com"
    # The banner's records: all three, emailed.
    shown = sorted((a.percent, a.used, a.limit, a.emailed) for a in alerts.today())
    assert shown == [(50, 10, 20, True), (90, 18, 20, True), (100, 20, 20, True)]


def test_not_resent_the_same_day_but_again_the_next(store: Store, smtp: SmtpServer) -> None:
    """Another process crossing the same threshold the same quota day sends nothing; the next
    quota day (after midnight Pacific) the same threshold is emailed again."""
    clock = Clock(MORNING)
    alerts = AlertService(store, now=clock)
    configure(alerts, smtp.port, thresholds="50")
    project_budget(store, alerts, clock, 4).spend("alice", 2, Api.TASKS)
    assert len(smtp.messages) == 1

    # A second process (its own Budget and AlertService) hears of the same crossing.
    other = AlertService(store, now=clock)
    other.notify(BudgetAlert("project", None, day_of(MORNING), 2, 4, 0.5, Api.TASKS))
    assert len(smtp.messages) == 1

    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # midnight in Los Angeles
    project_budget(store, alerts, clock, 4).spend("alice", 2, Api.TASKS)
    assert [m["Subject"] for m in smtp.messages] == [
        "calsync: Tasks API project budget at 50 % on 2026-03-02",
        "calsync: Tasks API project budget at 50 % on 2026-03-03",
    ]


def test_a_user_budget_alert_names_the_user(store: Store, smtp: SmtpServer) -> None:
    """A user's own budget sends its alert naming the user."""
    clock = Clock(MORNING)
    alerts = AlertService(store, now=clock)
    configure(alerts, smtp.port, thresholds="100")
    budget = Budget(
        store,
        limits={Api.CALENDAR: Limits(project=1000, user=3)},
        thresholds=alerts.thresholds(),
        on_alert=alerts.notify,
        today=lambda: day_of(clock()),
    )
    budget.spend("bob", 3)
    (msg,) = smtp.messages
    assert msg["Subject"] == "calsync: Calendar API user bob budget at 100 % on 2026-03-02"
    assert "Budget:     3 calls a day (the user bob)" in msg.get_content()


def test_a_sending_failure_is_logged_and_the_calls_go_on(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """With the SMTP server down, crossing a threshold logs the failure, the call is counted
    as usual, and the alert still shows on the admin page (not emailed)."""
    clock = Clock(MORNING)
    alerts = AlertService(store, now=clock)
    configure(alerts, free_port(), thresholds="50")
    budget = project_budget(store, alerts, clock, 2)
    with caplog.at_level(logging.ERROR, logger="calsync.service.alerts"):
        budget.spend("alice", 1)
        budget.spend("alice", 1)
    assert store.calls_on(day_of(MORNING)) == 2
    assert "budget alert email not sent" in caplog.text
    (shown,) = alerts.today()
    assert (shown.percent, shown.emailed) == (50, False)


def test_test_email_and_its_failures(store: Store, smtp: SmtpServer) -> None:
    """The test email reaches the recipients; a wrong password says the login was refused."""
    alerts = AlertService(store)
    configure(alerts, smtp.port)
    assert list(alerts.send_test()) == ["ops@example.com", "boss@example.com"]
    assert smtp.messages[-1]["Subject"] == "calsync: test email"
    configure(alerts, smtp.port, password="wrong")
    with pytest.raises(MailError, match="refused the login of 'calsync'"):
        alerts.send_test()


def test_smtp_settings_are_validated_and_the_password_encrypted(store: Store) -> None:
    """Bad values are refused field by field and nothing is stored; the password is stored
    encrypted, never shown, and kept when the form leaves it empty."""
    alerts = AlertService(store)
    with pytest.raises(SettingsRefused) as refused:
        configure(
            alerts,
            25,
            thresholds="50, 150",
            host="smtp://mail",
            port="70000",
            security="ssl",
            sender="nobody",
            recipients="ops@example.com, not an address",
        )
    assert set(refused.value.errors) == {
        "thresholds",
        "host",
        "port",
        "security",
        "sender",
        "recipients",
    }
    assert alerts.smtp_view().host == ""
    assert alerts.thresholds() == (0.5, 0.9, 1.0)

    configure(alerts, 2525, thresholds="80,50")
    assert alerts.thresholds() == (0.5, 0.8)
    view = alerts.smtp_view()
    assert (view.host, view.port, view.security, view.password_stored) == (
        "127.0.0.1",
        2525,
        Security.NONE,
        True,
    )
    with store.engine.connect() as conn:
        raw = conn.execute(
            sa.select(t.app_settings.c.value).where(t.app_settings.c.key == "smtp_password")
        ).scalar_one()
    assert "s3cret-smtp" not in raw
    configure(alerts, 2525, password="")
    assert alerts.smtp().password == "s3cret-smtp"


def test_default_port_follows_the_security() -> None:
    assert [s.default_port for s in Security] == [587, 465, 25]


def test_no_email_without_a_server(store: Store) -> None:
    """Without an SMTP host, alerts still reach the log and the banner."""
    clock = Clock(MORNING)
    alerts = AlertService(store, now=clock)
    budget = project_budget(store, alerts, clock, 2)
    budget.spend("alice", 2)
    assert sorted(a.percent for a in alerts.today()) == [50, 90, 100]
    assert not any(a.emailed for a in alerts.today())
    assert day_of(MORNING) == date(2026, 3, 2)
    assert day_of(MORNING + timedelta(hours=14)) == date(2026, 3, 3)


def test_starttls_is_required_when_chosen(store: Store, smtp: SmtpServer) -> None:
    """With STARTTLS chosen, a server that does not offer it gets nothing (no password sent
    in clear); the error says why."""
    alerts = AlertService(store)
    configure(alerts, smtp.port, security="starttls")
    with pytest.raises(MailError, match=r"(?i)starttls"):
        alerts.send_test()
    assert smtp.messages == [] and smtp.logins == []
