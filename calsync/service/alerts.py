"""Budget alerts: each threshold crossed is sent once per quota day and budget, to the log,
to the admin page's banner and by email through the administrator's SMTP server.

Public API: `AlertService(store, now=...)` with `notify(alert)` (the `Budget`'s callback; it
never raises), `thresholds()`, `smtp()`, `smtp_view()`, `save(...)`, `send_test()`,
`today()`; `SmtpView`; `parse_thresholds`.

Which alert went out is kept in the state store, so two processes that cross the same
threshold (the scheduler and a "sync now" of the web app) send it once between them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from calsync.model import utcnow
from calsync.quota import DEFAULT_THRESHOLDS, BudgetAlert, day_of, next_reset
from calsync.service.mail import MailError, Security, SmtpSettings, send_mail
from calsync.service.settings import SettingsRefused
from calsync.state.records import AlertRecord, SettingKey
from calsync.state.store import Store
from calsync.text import N_

_LOGGER = logging.getLogger(__name__)

API_NAMES = {"calendar": "Calendar API", "tasks": "Tasks API"}


@dataclass(frozen=True, slots=True)
class SmtpView:
    """The SMTP settings as the admin page shows them (never the password itself)."""

    host: str
    port: int
    security: Security
    user: str
    password_stored: bool
    sender: str
    recipients: tuple[str, ...]


def parse_thresholds(text: str) -> tuple[float, ...] | None:
    """Return the shares in `text` (percents, comma-separated, 1 to 100), or None if any is
    not one."""
    parts = [p.strip().removesuffix("%").strip() for p in text.replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    if not parts or not all(p.isdecimal() and 1 <= int(p) <= 100 for p in parts):
        return None
    return tuple(sorted({int(p) / 100 for p in parts}))


def _address(text: str) -> bool:
    _name, addr = parseaddr(text)
    local, at, domain = addr.partition("@")
    return bool(local and at and "." in domain and " " not in addr)


def _addresses(text: str) -> list[str]:
    return [a.strip() for a in text.replace(";", ",").replace("\n", ",").split(",") if a.strip()]


def subject_of(alert: BudgetAlert) -> str:
    """Return the email subject of `alert`."""
    whose = "project" if alert.scope == "project" else f"user {alert.user}"
    return (
        f"calsync: {API_NAMES.get(alert.api.value, alert.api.value)} {whose} budget at "
        f"{round(alert.threshold * 100)} % on {alert.day.isoformat()}"
    )


def body_of(alert: BudgetAlert) -> str:
    """Return the email text of `alert`: API, budget, calls used, share, quota day."""
    whose = "the whole project" if alert.scope == "project" else f"the user {alert.user}"
    share = alert.used / alert.limit if alert.limit else 0.0
    lines = [
        f"The daily {API_NAMES.get(alert.api.value, alert.api.value)} budget of {whose} has "
        f"reached {round(alert.threshold * 100)} %.",
        "",
        f"API:        {API_NAMES.get(alert.api.value, alert.api.value)}",
        f"Budget:     {alert.limit} calls a day ({whose})",
        f"Used:       {alert.used} calls ({share:.0%})",
        f"Quota day:  {alert.day.isoformat()} (midnight to midnight, Pacific time)",
        f"Resets at:  {next_reset(alert.day).isoformat()}",
        "",
    ]
    if alert.threshold >= 1:
        lines.append(
            "Rounds that would pass the budget stop before it and go on at the next quota day, "
            "or as soon as the budget is raised on the admin page."
        )
    return "\n".join(lines) + "\n"


class AlertService:
    """Sends budget alerts and keeps the settings they go out with."""

    def __init__(self, store: Store, *, now: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self._now = now

    # -- settings ---------------------------------------------------------------------------

    def thresholds(self) -> tuple[float, ...]:
        """Return the budget shares that send an alert (default 50 %, 90 %, 100 %)."""
        stored = self.store.get_setting(SettingKey.ALERT_THRESHOLDS)
        return (parse_thresholds(stored) if stored else None) or DEFAULT_THRESHOLDS

    def smtp(self) -> SmtpSettings:
        """Return the SMTP settings in force (the password decrypted)."""
        get = self.store.get_setting
        security = Security(get(SettingKey.SMTP_SECURITY) or Security.STARTTLS)
        port = get(SettingKey.SMTP_PORT)
        return SmtpSettings(
            host=get(SettingKey.SMTP_HOST) or "",
            port=int(port) if port else security.default_port,
            security=security,
            user=get(SettingKey.SMTP_USER) or "",
            password=get(SettingKey.SMTP_PASSWORD) or "",
            sender=get(SettingKey.SMTP_SENDER) or "",
            recipients=tuple(_addresses(get(SettingKey.SMTP_RECIPIENTS) or "")),
        )

    def smtp_view(self) -> SmtpView:
        """Return the SMTP settings for the admin page."""
        s = self.smtp()
        return SmtpView(
            s.host, s.port, s.security, s.user, bool(s.password), s.sender, s.recipients
        )

    def save(
        self,
        *,
        thresholds: str,
        host: str,
        port: str,
        security: str,
        user: str,
        password: str,
        sender: str,
        recipients: str,
    ) -> None:
        """Store the thresholds and the SMTP settings; SettingsRefused stores nothing.

        An empty host turns email off (alerts still reach the log and the admin page); an
        empty password keeps the stored one; an empty port means the security's usual one.
        """
        errors: dict[str, str] = {}
        shares = parse_thresholds(thresholds)
        if shares is None:
            errors["thresholds"] = N_(
                "Whole percentages from 1 to 100, separated by commas, e.g. 50, 90, 100."
            )
        host = host.strip()
        if host and (len(host) > 255 or any(c.isspace() or c in "/:@" for c in host)):
            errors["host"] = N_("A host name or IP address, without a scheme or a port.")
        mode = next((s for s in Security if s.value == security), None)
        if mode is None:
            errors["security"] = N_("Choose STARTTLS, TLS or none.")
        port = port.strip()
        number = int(port) if port.isdecimal() else 0
        if port and not 1 <= number <= 65535:
            errors["port"] = N_("A port is a whole number from 1 to 65535.")
        sender = sender.strip()
        if sender and not _address(sender):
            errors["sender"] = N_("An email address, e.g. calsync@example.com.")
        addresses = _addresses(recipients)
        if bad := [a for a in addresses if not _address(a)]:
            errors["recipients"] = N_(
                "Not an email address: %(address)s. Separate addresses with commas.",
                address=bad[0],
            )
        if host and not sender and "sender" not in errors:
            errors["sender"] = N_("The sender is required to send email.")
        if host and not addresses and "recipients" not in errors:
            errors["recipients"] = N_("At least one recipient is required to send email.")
        if errors:
            raise SettingsRefused(errors)
        assert shares is not None and mode is not None
        put = self.store.set_setting
        put(SettingKey.ALERT_THRESHOLDS, ",".join(str(round(s * 100)) for s in shares))
        put(SettingKey.SMTP_HOST, host or None)
        put(SettingKey.SMTP_PORT, str(number) if port else None)
        put(SettingKey.SMTP_SECURITY, mode.value)
        put(SettingKey.SMTP_USER, user.strip() or None)
        if password:
            put(SettingKey.SMTP_PASSWORD, password, secret=True)
        elif not user.strip():
            put(SettingKey.SMTP_PASSWORD, None)  # no account, no password to keep
        put(SettingKey.SMTP_SENDER, sender or None)
        put(SettingKey.SMTP_RECIPIENTS, ", ".join(addresses) or None)

    # -- sending ----------------------------------------------------------------------------

    def notify(self, alert: BudgetAlert) -> None:
        """Send `alert` unless it went out already this quota day: log it, keep it for the
        admin page's banner and email it. Never raises: a failure is logged, the round goes
        on."""
        try:
            self._notify(alert)
        except Exception:
            _LOGGER.exception("budget alert could not be handled: %s", subject_of(alert))

    def _notify(self, alert: BudgetAlert) -> None:
        record = AlertRecord(
            alert.day,
            alert.api.value,
            alert.scope,
            alert.user,
            round(alert.threshold * 100),
            alert.used,
            alert.limit,
            self._now(),
        )
        if not self.store.claim_alert(record):
            return  # another process sent it
        _LOGGER.warning("budget alert: %s (%d of %d calls)", subject_of(alert),
                        alert.used, alert.limit)  # fmt: skip
        smtp = self.smtp()
        if not smtp.configured:
            return
        try:
            send_mail(smtp, subject_of(alert), body_of(alert))
        except MailError as err:
            _LOGGER.error("budget alert email not sent: %s", err)
            return
        self.store.mark_alert_emailed(record)

    def send_test(self) -> Sequence[str]:
        """Send a test email; return its recipients. Raise MailError saying what failed."""
        smtp = self.smtp()
        send_mail(
            smtp,
            "calsync: test email",
            "This is a test email from calsync. Budget alerts will reach you this way.\n",
        )
        return smtp.recipients

    def today(self) -> list[AlertRecord]:
        """Return the alerts sent for the current quota day (the admin page's banner)."""
        return self.store.alerts_on(day_of(self._now()))
