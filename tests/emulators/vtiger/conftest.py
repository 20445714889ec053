"""Fixtures: one emulator per test module, reset before each test, and a raw webservice caller."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from calsync.emulators.vtiger.testing import event_element as event
from tests.emulators.vtiger.fixtures import admin, alice, bob, server, vt


class Ws:
    """Raw calls to webservice.php as one user (no client library: the wire as it is)."""

    def __init__(self, vt: VtigerEmulator, user: EmulatedUser | None = None) -> None:
        self.vt = vt
        self.session = ""
        if user is not None:
            self.session = self.login(user)["sessionName"]

    def login(self, user: EmulatedUser) -> dict[str, Any]:
        token = self.get("getchallenge", username=user.user_name)["result"]["token"]
        key = hashlib.md5((token + user.access_key).encode()).hexdigest()
        answer = self.post("login", username=user.user_name, accessKey=key)
        assert answer["success"], answer
        return dict(answer["result"])

    def raw(self, method: str, op: str, **params: Any) -> httpx.Response:
        params = {"operation": op, **params}
        if self.session and "sessionName" not in params:
            params["sessionName"] = self.session
        if method == "GET":
            return self.vt.http.get(self.vt.endpoint, params=params)
        return self.vt.http.post(self.vt.endpoint, data=params)

    def get(self, op: str, **params: Any) -> Any:
        resp = self.raw("GET", op, **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def post(self, op: str, **params: Any) -> Any:
        resp = self.raw("POST", op, **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def ok(self, method: str, op: str, **params: Any) -> Any:
        answer = self.get(op, **params) if method == "GET" else self.post(op, **params)
        assert answer["success"], answer
        return answer["result"]

    def create(self, module: str = "Events", **fields: Any) -> dict[str, Any]:
        return dict(self.ok("POST", "create", elementType=module, element=json.dumps(fields)))

    def query(self, q: str) -> list[dict[str, Any]]:
        return list(self.ok("GET", "query", query=q))


__all__ = ["Ws", "admin", "alice", "bob", "event", "server", "vt"]
