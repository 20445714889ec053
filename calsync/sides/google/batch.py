"""Google batch requests: encode calls as multipart/mixed, parse the multipart reply.

Public API: `BatchCall`, `BatchReply`, `encode_batch`, `parse_batch`. Transport and retries
live in `http.py`; this module only knows Google's batch format: one
`application/http` part per call with a `Content-ID`, answered by parts whose `Content-ID` is
`<response-{the request's id}>`. The reply is split at its boundary lines and each part's
short HTTP response read by `_reply` (the `email` package's parsers cost more than the rest of
a round for a large batch).
"""

from __future__ import annotations

import email.message
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from calsync.errors import AdapterError
from calsync.sides.google.errors import GoogleError, parse_error


@dataclass(frozen=True, slots=True)
class BatchCall:
    """One call inside a batch; `path` is the API path, e.g. `/calendar/v3/calendars/...`."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True
    """False for a call that must not be sent twice when Google may have applied it (an
    insert whose id Google picks): it is sent again only after a rate limit."""


@dataclass(frozen=True, slots=True)
class BatchReply:
    """The answer to one call of a batch."""

    status: int
    body: dict[str, Any]
    error: GoogleError | None = None
    """Set when `status` is not 2xx/304."""
    refused: AdapterError | None = None
    """Set when our own call budget refused the call: it was never sent."""

    def failure(self) -> AdapterError | None:
        """Return the calsync error of a call that failed or was refused, else None."""
        if self.refused is not None:
            return self.refused
        return self.error.exception() if self.error is not None else None


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


def _reply(data: bytes) -> BatchReply:
    """Read one part's embedded HTTP response: status line, headers, body.

    Read directly rather than by `http.client`, whose header parser (the `email` package's)
    costs more than the rest of a batch reply together; a part's response is a plain
    HTTP/1.1 message, never chunked.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    bits = lines[0].split(None, 2) if lines else []
    if len(bits) < 2 or not bits[0].startswith("HTTP/") or not bits[1].isdigit():
        shown = lines[0][:60] if lines else "empty"
        return BatchReply(500, {}, GoogleError(500, "backendError", f"unreadable part: {shown}"))
    status = int(bits[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if length.isdigit():
        body = body[: int(length)]
    body = body.rstrip(b"\r\n")
    if 200 <= status < 300 or status == 304:
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError:
            doc = {}
        return BatchReply(status, doc if isinstance(doc, dict) else {})
    return BatchReply(status, {}, parse_error(status, body, headers))


def parse_batch(content_type: str, content: bytes, count: int) -> list[BatchReply]:
    """Return the replies of a batch response in request order (missing ones as 500s).

    The boundary comes from the content type (read by the standard library's header
    parser); the body is split at lines holding only the boundary (text that merely quotes
    it is content), and each part's HTTP response is read by `_reply`. A part goes to the
    call its `Content-ID` names (`<response-item-i>`), else to the call at its position.
    """
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_maintype() != "multipart" or not isinstance(boundary, str):
        raise ValueError(f"batch reply is not multipart: {content_type!r}")
    delimiter = re.compile(rb"(?m)^--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*\r?$")
    chunks = delimiter.split(content)
    # split() yields: preamble, then (closing marker, part) pairs; a part after the closing
    # delimiter is the epilogue.
    replies: dict[int, BatchReply] = {}
    for i in range(1, len(chunks) - 1, 2):
        if chunks[i] is not None:
            break  # the closing delimiter
        part = chunks[i + 1].lstrip(b"\r\n")
        head, sep, payload = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = part.partition(b"\n\n")
        cid = re.search(rb"(?im)^content-id:.*item-(\d+)>?[ \t]*\r?$", head)
        replies[int(cid.group(1)) if cid else (i - 1) // 2] = _reply(payload)
    missing = GoogleError(500, "backendError", "no reply for this call in the batch")
    return [replies.get(i) or BatchReply(500, {}, missing) for i in range(count)]
