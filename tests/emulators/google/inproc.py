"""Drive an emulator in process (no HTTP) for bulk set-up and property tests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from calsync.emulators.google.app import build_emulator, handle
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.google.wire import Req


class InProc:
    """An emulator with one account, answering calls as (status, JSON body)."""

    def __init__(self, emu: Emulator | None = None, email: str = "p@example.com") -> None:
        self.emu = emu or build_emulator()
        status, acct = self.call("POST", "/_emulator/accounts", {"email": email}, auth=False)
        assert status == 200
        self.token = acct["access_token"]

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Run one call through the emulator's pipeline."""
        parts = urlsplit(url)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        if auth:
            hdrs["authorization"] = "Bearer " + self.token
        req = Req(
            method,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            hdrs,
            json.dumps(body).encode() if body is not None else b"",
        )
        resp = handle(self.emu, req)
        payload = resp.payload()
        return resp.status, json.loads(payload) if payload else None
