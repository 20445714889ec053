"""Opaque sync and page tokens: signed so a tampered token is recognised (and answered 410)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from calsync.emulators.google.errors import full_sync_required, invalid

# Fixed key: tokens need to survive restarts with --db, and secrecy is not the point here,
# only detecting edits.
_KEY = b"calsync-google-emulator"


def _sign(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_KEY, raw, hashlib.sha256).digest()[:8]
    return base64.b64encode(mac + raw).decode()


def _unsign(token: str) -> dict[str, Any] | None:
    try:
        blob = base64.b64decode(token.encode(), validate=True)
    except ValueError:
        return None
    mac, raw = blob[:8], blob[8:]
    if not hmac.compare_digest(mac, hmac.new(_KEY, raw, hashlib.sha256).digest()[:8]):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@dataclass
class SyncToken:
    """What a `nextSyncToken` remembers: the calendar, the change number it covers, when it was
    issued, the calendar's token epoch and the listing mode it was issued for."""

    calendar: str
    generation: str
    counter: int
    epoch: int
    issued: float
    single: bool
    deleted: bool

    def encode(self) -> str:
        """Return the opaque token string."""
        return _sign(
            {
                "c": self.calendar,
                "g": self.generation,
                "n": self.counter,
                "e": self.epoch,
                "t": self.issued,
                "s": self.single,
                "d": self.deleted,
            }
        )


def decode_sync(token: str) -> SyncToken:
    """Decode a sync token; raise 410 fullSyncRequired for anything undecodable."""
    data = _unsign(token)
    try:
        assert data is not None
        return SyncToken(
            str(data["c"]),
            str(data["g"]),
            int(data["n"]),
            int(data["e"]),
            float(data["t"]),
            bool(data["s"]),
            bool(data["d"]),
        )
    except (AssertionError, KeyError, TypeError, ValueError):
        raise full_sync_required() from None


def encode_page(data: dict[str, Any]) -> str:
    """Return an opaque page token for a listing cursor."""
    return _sign(data)


def decode_page(token: str) -> dict[str, Any]:
    """Decode a page token; raise 400 for a tampered one."""
    data = _unsign(token)
    if data is None:
        raise invalid("Invalid page token value.", "pageToken")
    return data
