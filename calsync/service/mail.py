"""Email through the administrator's SMTP server, with the standard library's smtplib.

Public API: `Security` (STARTTLS, TLS or none), `SmtpSettings` (the server, the account and
the addresses; the password is never shown in a repr), `send_mail(smtp, subject, body)`,
`MailError`.
"""

from __future__ import annotations

import enum
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from calsync.errors import CalsyncError

TIMEOUT = 15.0
"""Seconds to wait for the SMTP server at each step: an alert must not hold a round long."""


class MailError(CalsyncError):
    """The email could not be sent; the message says why (server, login, refused address)."""


class Security(enum.StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"
    """Plain connection upgraded with STARTTLS (submission port 587)."""
    TLS = "tls"
    """TLS from the first byte (port 465)."""
    NONE = "none"
    """No encryption: only for a relay on the same host or network."""

    @property
    def default_port(self) -> int:
        return {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}[self]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP server alerts go through, and to whom."""

    host: str = ""
    port: int = 587
    security: Security = Security.STARTTLS
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    recipients: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """True when there is a server, a sender and someone to write to."""
        return bool(self.host and self.sender and self.recipients)


def send_mail(smtp: SmtpSettings, subject: str, body: str, *, timeout: float = TIMEOUT) -> None:
    """Send one plain-text email to every recipient; raise MailError saying what failed."""
    if not smtp.configured:
        raise MailError("no SMTP server, sender or recipient is set")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(smtp.recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    msg.set_content(body)
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if smtp.security is Security.TLS:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security is Security.STARTTLS:
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password)
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as err:
        raise MailError(
            f"the SMTP server refused the login of {smtp.user!r}: {_reply(err)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as err:
        refused = ", ".join(sorted(err.recipients))
        raise MailError(f"the SMTP server refused the recipients {refused}") from None
    except smtplib.SMTPResponseException as err:
        raise MailError(f"the SMTP server answered {_reply(err)}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
        where = f"{smtp.host}:{smtp.port}"
        raise MailError(f"cannot send through {where} ({smtp.security}): {err}") from None


def _reply(err: smtplib.SMTPResponseException) -> str:
    text = err.smtp_error.decode(errors="replace") if isinstance(err.smtp_error, bytes) else ""
    return f"{err.smtp_code} {text}".strip()
