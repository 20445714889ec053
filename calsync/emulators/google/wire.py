"""Transport-neutral request/response types and the route table (direct and batched calls)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from calsync.emulators.google.errors import ApiError, invalid

if TYPE_CHECKING:
    from calsync.emulators.google.runtime import Emulator


@dataclass
class Req:
    """One API call as received (directly or as one part of a batch)."""

    method: str
    path: str
    """Raw (percent-encoded) path, without the query string."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes = b""

    def q(self, name: str) -> str | None:
        """Return the last value of query parameter `name`, or None."""
        values = self.query.get(name)
        return values[-1] if values else None

    def qall(self, name: str) -> list[str]:
        """Return every value of a repeatable query parameter."""
        return self.query.get(name, [])

    def qbool(self, name: str, default: bool) -> bool:
        """Return a boolean query parameter (`true`/`false`)."""
        value = self.q(name)
        if value is None or value == "":
            return default
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise invalid(f"Invalid boolean value for parameter {name}.", name)

    def qint(self, name: str) -> int | None:
        """Return an integer query parameter, or None when absent."""
        value = self.q(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise invalid("Invalid Value", name) from None

    def json(self) -> dict[str, Any]:
        """Return the body as a JSON object (empty body -> {})."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "parseError", "Parse Error", domain="global") from None
        if not isinstance(data, dict):
            raise ApiError(400, "parseError", "Parse Error", domain="global")
        return data


@dataclass
class Resp:
    """A response: JSON `body` (None = empty) or `raw` bytes with `content_type`."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    pretty: bool = True
    """Indent JSON (Google's default; `prettyPrint=false` turns it off)."""

    def payload(self) -> bytes:
        """Return the bytes to send."""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        if self.pretty:
            return json.dumps(self.body, indent=1).encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass
class Ctx:
    """What a handler needs: the emulator, the call and the authenticated account."""

    emu: Emulator
    req: Req
    account: str


Handler = Callable[..., Resp]


@dataclass
class Route:
    """One API method: verb, path template, Google's method id, scope family, read/write."""

    method: str
    template: str
    name: str
    handler: Handler
    family: str
    """`calendar` or `tasks`: the scope family the call needs."""
    write: bool
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        self.pattern = re.compile("^" + regex + "$")


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """Return the route for `method path` with its unquoted path parameters."""
    for route in routes:
        if route.method != method:
            continue
        m = route.pattern.match(path)
        if m:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def etag_headers(body: Any) -> dict[str, str]:
    """Return an ETag header for a resource body carrying an etag."""
    if isinstance(body, dict) and isinstance(body.get("etag"), str):
        return {"ETag": body["etag"]}
    return {}


def ok(body: Any, status: int = 200) -> Resp:
    """Return a JSON response with the resource's ETag header."""
    return Resp(status, body, etag_headers(body))


def no_content() -> Resp:
    """Return the empty 204 Google sends for a delete."""
    return Resp(204, None)
