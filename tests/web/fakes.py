"""In-memory stand-ins for the web app's collaborators: sync service, CRM, Google."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from calsync.engine.store import LogEntry
from calsync.sides.google.oauth import new_pkce
from calsync.state import Store
from calsync.web.services import AuthRequest, CalendarInfo, GoogleError, Tokens


@dataclass
class Report:
    """A sync report shaped like the service's: counts per side."""

    google: dict[str, int] = field(default_factory=lambda: {"created": 1})
    crm: dict[str, int] = field(default_factory=lambda: {"created": 0})
    api_calls: int = 3


class FakeService:
    """Runs a "round" by writing a log line; can be told to fail or to block."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[str] = []
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()

    def sync_user(self, user_name: str, progress: Callable[[str], None] | None = None) -> Report:
        self.calls.append(user_name)
        if progress is not None:
            progress(f"{user_name}: events (primary)")
        self.gate.wait(30)
        if self.fail is not None:
            raise self.fail
        run = self.store.start_run(user_name)
        self.store.add_log(
            LogEntry(
                user=user_name,
                at=datetime.now(UTC),
                action="create",
                side="google",
                title="Demo call",
            )
        )
        self.store.commit()
        report = Report()
        self.store.finish_run(run, "ok", {"google": report.google, "crm": report.crm})
        return report


class FakeCrm:
    """CRM users and their passwords."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def check(self, user: str, secret: str) -> bool:
        return user in self.users and self.users[user] == secret


class FakeGoogle:
    """A GoogleGateway that grants whatever code it issued; records revocations."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.revoked: list[str] = []
        self.exchanges: list[dict[str, str]] = []
        self.calendar_list = [
            CalendarInfo("a@example.com", "a@example.com", primary=True),
            CalendarInfo("team@example.com", "Team", writable=True),
            CalendarInfo("holidays", "Holidays", writable=False),
        ]
        self.refuse_refresh = False

    def authorization_request(
        self, *, client_id: str, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthRequest:
        verifier, code_challenge = new_pkce()
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "access_type": "offline",
            "prompt": "consent",
        }
        return AuthRequest("https://accounts.example/auth?" + urlencode(query), verifier)

    def issue_code(self, email: str) -> str:
        code = f"code-{len(self.codes)}"
        self.codes[code] = email
        return code

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> Tokens:
        self.exchanges.append({"code": code, "verifier": code_verifier})
        if code not in self.codes:
            raise GoogleError("token request refused: invalid_grant", "invalid_grant")
        return Tokens(access_token=f"at-{code}", refresh_token=f"rt-{code}")

    def account_email(self, access_token: str) -> str:
        return self.codes[access_token.removeprefix("at-")]

    def revoke(self, token: str) -> None:
        self.revoked.append(token)

    def calendars(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        if self.refuse_refresh:
            raise GoogleError("token request refused: invalid_grant", "invalid_grant")
        return list(self.calendar_list)

    def tasklists(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        return [CalendarInfo("@default", "My Tasks")]
