"""Google push channels on a calendar's events: `events.watch` opens one, `channels.stop` ends it.

Public API: `GoogleChannels(http)` with `watch(calendar_id, channel_id, address, token, ttl)`
and `stop(channel_id, resource_id)`; `OpenChannel`, what Google answered a watch with.

Google then POSTs a notification to `address` whenever the calendar's events change; it says
only "something changed" (the receiver reads the changes with its sync token as usual).
Errors are the error tree's, as every call of `GoogleHttp`: a 400 (e.g. an address that is not
https) is `InvalidItem`, a revoked grant `AuthError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from calsync.errors import NotFound, TransientError
from calsync.sides.google.http import GoogleHttp

API = "/calendar/v3"


@dataclass(frozen=True, slots=True)
class OpenChannel:
    """A channel Google opened."""

    id: str
    resource_id: str
    """Google's opaque id of the watched collection, needed to stop the channel."""
    expires_at: datetime


class GoogleChannels:
    """Watch channels of one user's Google account."""

    def __init__(self, http: GoogleHttp) -> None:
        self.http = http

    def watch(
        self,
        calendar_id: str,
        channel_id: str,
        address: str,
        token: str,
        ttl: timedelta | None = None,
    ) -> OpenChannel:
        """Open channel `channel_id` on `calendar_id`'s events, notifying `address`.

        `ttl` asks for a lifetime (Google may grant less); None takes Google's default.
        """
        body: dict[str, object] = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
        }
        if ttl is not None:
            body["params"] = {"ttl": str(int(ttl.total_seconds()))}
        path = f"{API}/calendars/{quote(calendar_id, safe='')}/events/watch"
        # Not idempotent: a resend after a lost reply would meet channelIdNotUnique.
        doc = self.http.json("POST", path, json=body, idempotent=False)
        try:
            expires_ms = int(doc["expiration"])
            resource_id = str(doc["resourceId"])
        except (KeyError, TypeError, ValueError) as err:
            raise TransientError(f"events.watch answered no channel: {doc!r:.200}") from err
        return OpenChannel(
            id=str(doc.get("id") or channel_id),
            resource_id=resource_id,
            expires_at=datetime.fromtimestamp(expires_ms / 1000, UTC),
        )

    def stop(self, channel_id: str, resource_id: str) -> bool:
        """Stop a channel; return False when Google no longer knew it (expired, stopped)."""
        try:
            self.http.call(
                "POST", f"{API}/channels/stop", json={"id": channel_id, "resourceId": resource_id}
            )
        except NotFound:
            return False
        return True
