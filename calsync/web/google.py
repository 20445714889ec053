"""The web app's Google gateway over plain HTTP: consent URL, code exchange, revoke, lists.

Only what the settings pages need; sync rounds use `calsync.sides.google`. Endpoints come from
the configuration, so the same code talks to Google or to the emulator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from calsync.web.services import CalendarInfo, GoogleError, Tokens

_LOGGER = logging.getLogger(__name__)

SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPE_TASKS = "https://www.googleapis.com/auth/tasks"


def scopes_for(sync_tasks: bool) -> list[str]:
    """Return the narrowest scopes: events and the calendar list, tasks only when wanted."""
    scopes = [SCOPE_EVENTS, SCOPE_CALENDAR_LIST]
    if sync_tasks:
        scopes.append(SCOPE_TASKS)
    return scopes


class HttpGoogleGateway:
    """GoogleGateway over httpx, pointed at Google or the emulator by URL."""

    def __init__(
        self,
        *,
        auth_url: str,
        token_url: str,
        api_url: str,
        revoke_url: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.auth_url = auth_url
        self.token_url = token_url
        self.api_url = api_url.rstrip("/")
        self.revoke_url = revoke_url or token_url.rsplit("/", 1)[0] + "/revoke"
        self._http = client or httpx.Client(timeout=20)

    def authorization_url(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
    ) -> str:
        """Return the consent URL (offline access, consent prompt, PKCE S256)."""
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes),
            "state": state,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "false",
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.auth_url}?{urlencode(query)}"

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str,
    ) -> Tokens:
        """Exchange an authorization code for tokens."""
        doc = self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": client_secret,
                "code_verifier": code_verifier,
            }
        )
        return Tokens(
            access_token=str(doc["access_token"]),
            refresh_token=doc.get("refresh_token"),
            scopes=tuple(str(doc.get("scope", "")).split()),
        )

    def account_email(self, access_token: str) -> str:
        """Return the email of the account: the id of its primary calendar."""
        doc = self._get(
            "/calendar/v3/users/me/calendarList", access_token, {"minAccessRole": "owner"}
        )
        for item in doc.get("items", []):
            if item.get("primary"):
                return str(item["id"])
        raise GoogleError("the account has no primary calendar")

    def revoke(self, token: str) -> None:
        """Revoke a refresh or access token."""
        try:
            r = self._http.post(self.revoke_url, data={"token": token})
        except httpx.HTTPError as err:
            raise GoogleError(f"revoke failed: {err}") from err
        if r.status_code >= 400 and r.status_code != 400:
            raise GoogleError(f"revoke failed: HTTP {r.status_code}")
        # 400 invalid_token: already revoked or expired, which is what we wanted.

    def calendars(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's calendarList entries, primary first."""
        access = self._refresh(client_id, client_secret, refresh_token)
        out: list[CalendarInfo] = []
        for item in self._pages("/calendar/v3/users/me/calendarList", access):
            out.append(
                CalendarInfo(
                    id=str(item["id"]),
                    summary=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
                    primary=bool(item.get("primary")),
                    writable=item.get("accessRole") in ("owner", "writer"),
                )
            )
        out.sort(key=lambda c: (not c.primary, c.summary.lower()))
        return out

    def tasklists(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> list[CalendarInfo]:
        """Return the account's task lists."""
        access = self._refresh(client_id, client_secret, refresh_token)
        return [
            CalendarInfo(id=str(i["id"]), summary=str(i.get("title") or i["id"]))
            for i in self._pages("/tasks/v1/users/@me/lists", access)
        ]

    # -- plumbing -------------------------------------------------------------------------

    def _refresh(self, client_id: str, client_secret: str, refresh_token: str) -> str:
        doc = self._token(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
                "client_secret": client_secret,
            }
        )
        return str(doc["access_token"])

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            r = self._http.post(self.token_url, data=form)
        except httpx.HTTPError as err:
            raise GoogleError(f"token endpoint unreachable: {err}") from err
        doc = _json(r)
        if r.status_code >= 400 or "access_token" not in doc:
            reason = str(doc.get("error", f"HTTP {r.status_code}"))
            raise GoogleError(f"token request refused: {reason}", reason)
        return doc

    def _get(self, path: str, access: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        _LOGGER.debug("request GET %s", path)
        try:
            r = self._http.get(
                self.api_url + path,
                params=params,
                headers={"Authorization": f"Bearer {access}"},
            )
        except httpx.HTTPError as err:
            raise GoogleError(f"Google unreachable: {err}") from err
        doc = _json(r)
        if r.status_code >= 400:
            err_doc = doc.get("error")
            message = err_doc.get("message", "") if isinstance(err_doc, dict) else str(err_doc)
            raise GoogleError(f"Google refused {path}: HTTP {r.status_code} {message}".strip())
        return doc

    def _pages(self, path: str, access: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {}
        for _ in range(50):
            doc = self._get(path, access, params)
            items.extend(doc.get("items", []))
            token = doc.get("nextPageToken")
            if not token:
                break
            params = {"pageToken": str(token)}
        return items


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        doc = r.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
