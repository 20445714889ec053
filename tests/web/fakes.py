"""In-memory stand-ins for the web app's collaborators: store, sync service, CRM, Google."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from calsync.engine.store import Conflict, LogEntry
from calsync.prefs import Prefs
from calsync.web.services import CalendarInfo, GoogleError, LinkInfo, RunInfo, Tokens, UserRecord


class MemoryStore:
    """A WebStore in memory (secrets are kept as given; the real store encrypts them)."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.links: dict[str, LinkInfo] = {}
        self.prefs: dict[str, Prefs] = {}
        self.settings: dict[str, tuple[str, bool]] = {}
        self.runs: dict[str, RunInfo] = {}
        self.logs: dict[str, list[LogEntry]] = {}
        self.conflict_rows: dict[str, list[Conflict]] = {}
        self.resets: list[str] = []
        self.healthy = True

    def ping(self) -> None:
        if not self.healthy:
            raise RuntimeError("database down")

    def get_user(self, name: str) -> UserRecord | None:
        return self.users.get(name)

    def put_user(self, user: UserRecord) -> None:
        self.users[user.name] = user

    def list_users(self) -> list[UserRecord]:
        return sorted(self.users.values(), key=lambda u: u.name)

    def get_link(self, user: str) -> LinkInfo | None:
        return self.links.get(user)

    def put_link(self, link: LinkInfo) -> None:
        self.links[link.user] = link

    def set_link_status(self, user: str, status: str) -> None:
        if user in self.links:
            self.links[user] = replace(self.links[user], status=status)

    def delete_link(self, user: str) -> None:
        self.links.pop(user, None)

    def get_prefs(self, user: str) -> Prefs:
        return self.prefs.get(user, Prefs())

    def set_prefs(self, user: str, prefs: Prefs) -> None:
        self.prefs[user] = prefs

    def get_setting(self, key: str) -> str | None:
        row = self.settings.get(key)
        return row[0] if row else None

    def set_setting(self, key: str, value: str, *, secret: bool = False) -> None:
        self.settings[key] = (value, secret)

    def last_run(self, user: str) -> RunInfo | None:
        return self.runs.get(user)

    def sync_log(self, user: str, limit: int = 100) -> list[LogEntry]:
        return list(reversed(self.logs.get(user, [])))[:limit]

    def conflicts(self, user: str, limit: int = 50) -> list[Conflict]:
        return list(reversed(self.conflict_rows.get(user, [])))[:limit]

    def reset_sync_state(self, user: str) -> None:
        self.resets.append(user)


@dataclass
class Report:
    """A sync report shaped like the service's: counts per side."""

    google: dict[str, int] = field(default_factory=lambda: {"created": 1})
    crm: dict[str, int] = field(default_factory=lambda: {"created": 0})
    api_calls: int = 3


class FakeService:
    """Runs a "round" by writing a log line; can be told to fail or to block."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.calls: list[str] = []
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()

    def sync_user(self, user_name: str) -> Report:
        self.calls.append(user_name)
        self.gate.wait(30)
        if self.fail is not None:
            raise self.fail
        now = datetime.now(UTC)
        self.store.logs.setdefault(user_name, []).append(
            LogEntry(user=user_name, at=now, action="create", side="google", title="Demo call")
        )
        self.store.runs[user_name] = RunInfo(
            user=user_name, started=now, finished=now, status="ok", summary="google created 1"
        )
        return Report()


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

    def authorization_url(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
    ) -> str:
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
        return "https://accounts.example/auth?" + urlencode(query)

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
