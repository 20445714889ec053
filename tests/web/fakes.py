"""Stand-ins for the web app's collaborators, shaped like the real ones: the round service
(`RoundService`: returns a real `UserReport`), the CRM sign-in check, Google accounts
(`GoogleAccounts`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from calsync.engine.pairs import Kind
from calsync.engine.run import RoundResult, SideCounts
from calsync.engine.store import LogEntry
from calsync.errors import AuthError
from calsync.service import ListEntry, RoundService, UserReport, UserStatus
from calsync.service.google import GoogleAccounts
from calsync.service.rounds import Progress
from calsync.sides.google.factory import GoogleSettings
from calsync.sides.google.oauth import AuthorizationRequest, TokenGrant, new_pkce
from calsync.state import Store


class FakeRounds:
    """Runs a "round" by writing a log line; can be told to fail or to block."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[str] = []
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()

    def sync_user(
        self,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        new_round: bool = True,
    ) -> UserReport:
        self.calls.append(name)
        if progress is not None:
            progress(f"{name}: events (primary)")
        self.gate.wait(30)
        if self.fail is not None:
            raise self.fail
        run = self.store.start_run(name)
        self.store.add_log(
            LogEntry(
                user=name, at=datetime.now(UTC), action="create", side="google", title="Demo call"
            )
        )
        self.store.commit()
        result = RoundResult(name, Kind.EVENT, google=SideCounts(created=1))
        report = UserReport(name, UserStatus.OK, rounds=[result], api_calls=3)
        self.store.finish_run(run, "ok", report.counts())
        return report


class FakeCrm:
    """CRM users and their passwords (the sign-in check)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def check(self, user: str, secret: str) -> bool:
        return user in self.users and self.users[user] == secret


class FakeGoogle:
    """GoogleAccounts that grants whatever code it issued; records revocations."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.revoked: list[str] = []
        self.exchanges: list[dict[str, str]] = []
        self.calendar_list = [
            ListEntry("a@example.com", "a@example.com", primary=True),
            ListEntry("team@example.com", "Team", writable=True),
            ListEntry("holidays", "Holidays", writable=False),
        ]
        self.refuse_refresh = False

    def consent_request(
        self, client: GoogleSettings, *, redirect_uri: str, scopes: Sequence[str], state: str
    ) -> AuthorizationRequest:
        verifier, code_challenge = new_pkce()
        query = {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "access_type": "offline",
            "prompt": "consent",
        }
        url = "https://accounts.example/auth?" + urlencode(query)
        return AuthorizationRequest(url, state, verifier)

    def issue_code(self, email: str) -> str:
        code = f"code-{len(self.codes)}"
        self.codes[code] = email
        return code

    def exchange_code(
        self, client: GoogleSettings, *, code: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        self.exchanges.append({"code": code, "verifier": code_verifier})
        if code not in self.codes:
            raise AuthError("code exchange refused: invalid_grant")
        return TokenGrant(f"at-{code}", f"rt-{code}", 3600, ())

    def account_email(self, client: GoogleSettings, access_token: str) -> str:
        return self.codes[access_token.removeprefix("at-")]

    def calendars(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        if self.refuse_refresh:
            raise AuthError("Google refused the refresh token (invalid_grant)")
        return list(self.calendar_list)

    def tasklists(self, client: GoogleSettings, refresh_token: str) -> list[ListEntry]:
        return [ListEntry("@default", "My Tasks")]

    def revoke(self, client: GoogleSettings, token: str) -> None:
        self.revoked.append(token)


def _fits(rounds: FakeRounds, google: FakeGoogle) -> tuple[RoundService, GoogleAccounts]:
    # mypy checks here that the fakes have the shapes of the real protocols.
    return rounds, google
