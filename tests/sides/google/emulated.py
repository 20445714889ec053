"""A handle on the Google emulator for the adapter tests: control API, sides, request log."""

from __future__ import annotations

from typing import Any

import httpx

from calsync.quota import Backoff, CallBudget
from calsync.sides.google.auth import RefreshTokenAuth
from calsync.sides.google.calendar import GoogleCalendarSide
from calsync.sides.google.http import GoogleHttp
from calsync.sides.google.oauth import scopes_for
from calsync.sides.google.tasks import GoogleTasksSide
from tests.sides.google.scripted import Sleeps

CLIENT_ID = "calsync-test.apps.googleusercontent.com"
CLIENT_SECRET = "test-secret"


class Google:
    """The emulator at `url`, with alice's account once the fixture made it."""

    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url
        self.client = client
        self.account: dict[str, Any] = {}

    def control(self, method: str, path: str, json: Any = None) -> Any:
        resp = self.client.request(method, f"{self.url}/_emulator/{path}", json=json)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Call the API as another client would (alice's access token, no calsync code)."""
        headers = {"Authorization": "Bearer " + self.account["access_token"]}
        return self.client.request(method, self.url + path, headers=headers, **kw)

    def auth(self, refresh_token: str | None = None) -> RefreshTokenAuth:
        return RefreshTokenAuth(
            refresh_token or self.account["refresh_token"],
            CLIENT_ID,
            CLIENT_SECRET,
            self.url + "/token",
            scopes_for(tasks=True),
        )

    def http(self, budget: CallBudget | None = None, **kw: Any) -> GoogleHttp:
        kw.setdefault("auth", self.auth())
        return GoogleHttp(
            user="alice",
            base_url=self.url,
            budget=budget,
            backoff=kw.pop("backoff", Backoff(base=0.1, cap=2, max_tries=4)),
            sleep=Sleeps(),
            client=self.client,
            **kw,
        )

    def calendar(self, **kw: Any) -> GoogleCalendarSide:
        http = self.http(kw.pop("budget", None))
        return GoogleCalendarSide(http, "primary", "acme", **kw)

    def tasks(self, **kw: Any) -> GoogleTasksSide:
        return GoogleTasksSide(self.http(), self.account["default_tasklist"], **kw)

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.control("GET", f"requests?{query}")["requests"]  # type: ignore[no-any-return]
