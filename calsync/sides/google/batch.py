"""Google batch requests: encode calls as multipart/mixed, parse the multipart reply.

Public API: `BatchCall`, `BatchReply`, `encode_batch`, `parse_batch`. Transport and retries
live in `http.py`; this module only knows Google's batch format: one
`application/http` part per call with a `Content-ID`, answered by parts whose `Content-ID` is
`<response-{the request's id}>`.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from calsync.sides.google.errors import GoogleError, parse_error


@dataclass(frozen=True, slots=True)
class BatchCall:
    """One call inside a batch; `path` is the API path, e.g. `/calendar/v3/calendars/...`."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchReply:
    """The answer to one call of a batch."""

    status: int
    body: dict[str, Any]
    error: GoogleError | None = None
    """Set when `status` is not 2xx/304."""


def encode_batch(calls: list[BatchCall], path_prefix: str = "") -> tuple[str, bytes]:
    """Return (content type, body) of a batch request; part i has Content-ID `<item-i>`."""
    boundary = f"batch_{secrets.token_hex(12)}"
    out: list[str] = []
    for i, call in enumerate(calls):
        target = path_prefix + call.path
        if call.params:
            target += "?" + urlencode(call.params)
        lines = [f"{call.method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in call.headers.items()]
        payload = ""
        if call.body is not None:
            payload = json.dumps(call.body)
            lines.append("Content-Type: application/json; charset=UTF-8")
        out.append(
            f"--{boundary}\r\nContent-Type: application/http\r\n"
            f"Content-ID: <item-{i}>\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n" + payload + "\r\n"
        )
    out.append(f"--{boundary}--\r\n")
    return f"multipart/mixed; boundary={boundary}", "".join(out).encode()


def _split_head(block: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in block:
            head, rest = block.split(sep, 1)
            return head, rest
    return block, b""


def _headers(head: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            found[name.strip().lower()] = value.strip()
    return found


def parse_batch(content_type: str, content: bytes, count: int) -> list[BatchReply]:
    """Return the replies of a batch response in request order (missing ones as 500s)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError(f"batch reply is not multipart: {content_type!r}")
    delimiter = b"--" + match.group(1).encode()
    replies: dict[int, BatchReply] = {}
    for order, raw in enumerate(content.split(delimiter)[1:]):
        if raw.startswith(b"--"):
            break
        part_head, http = _split_head(raw.lstrip(b"\r\n"))
        cid = _headers(part_head).get("content-id", "")
        idx = re.search(r"item-(\d+)>?$", cid)
        index = int(idx.group(1)) if idx else order
        status_line, _, rest = http.partition(b"\n")
        head, body = _split_head(rest)
        fields = status_line.decode("latin-1").split()
        status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 500
        body = body.rstrip(b"\r\n")
        if 200 <= status < 300 or status == 304:
            try:
                doc = json.loads(body) if body.strip() else {}
            except ValueError:
                doc = {}
            replies[index] = BatchReply(status, doc if isinstance(doc, dict) else {})
        else:
            replies[index] = BatchReply(status, {}, parse_error(status, body, _headers(head)))
    missing = GoogleError(500, "backendError", "no reply for this call in the batch")
    return [replies.get(i) or BatchReply(500, {}, missing) for i in range(count)]
