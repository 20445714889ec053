"""A real SMTP server for tests (aiosmtpd on a loopback port) that keeps what it receives.

`SmtpServer` is a context manager: `with SmtpServer(user="u", password="p") as smtp:` serves
until the block ends; `smtp.messages` holds each message received, parsed, in order;
`smtp.logins` the logins it accepted.
"""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.received = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        msg = message_from_bytes(content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.received:
            self.messages.append(msg)
            self.recipients.append(list(envelope.rcpt_tos))
            self.received.notify_all()
        return "250 Message accepted"


class SmtpServer:
    """An SMTP server on 127.0.0.1 with no encryption, with AUTH when a user is given."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.user, self.password = user, password
        self.logins: list[str] = []
        self._keeper = _Keeper()
        kwargs: dict[str, Any] = {}
        if user is not None:
            kwargs = {"authenticator": self._auth, "auth_require_tls": False}
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port, **kwargs)

    def _auth(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        if ok:
            self.logins.append(data.login.decode())
        # handled=False: the server itself answers 535 to a refused login.
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._keeper.messages)

    @property
    def recipients(self) -> list[list[str]]:
        return list(self._keeper.recipients)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
