"""Batch endpoint (`multipart/mixed` at /batch/calendar/v3 and /batch): split the parts, run each
as its own API call and answer one `application/http` part per call, with the Content-ID echo
the official Python client needs (`<response-...>`)."""

from __future__ import annotations

import re
import secrets
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from calsync.emulators.google.errors import ApiError
from calsync.emulators.google.runtime import Emulator
from calsync.emulators.google.wire import Req, Resp


def _boundary(content_type: str) -> str | None:
    m = re.search(r'boundary="?([^";]+)"?', content_type, flags=re.IGNORECASE)
    return m.group(1) if m else None


def _split_head(blob: str) -> tuple[str, str]:
    """Split headers from body at the first blank line (CRLF or LF style)."""
    positions = [(blob.find(sep), len(sep)) for sep in ("\r\n\r\n", "\n\n") if sep in blob]
    if not positions:
        return blob, ""
    pos, size = min(positions)
    return blob[:pos], blob[pos + size :]


def _headers(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def parse_parts(body: bytes, content_type: str) -> list[tuple[str | None, Req]]:
    """Return (Content-ID, inner request) for each part; raise 400 for a malformed batch."""
    boundary = _boundary(content_type)
    if not content_type.lower().startswith("multipart/") or not boundary:
        raise ApiError(400, "badRequest", "Invalid multipart request with 0 mime parts.")
    text = body.decode("utf-8", "replace")
    parts = []
    for chunk in text.split("--" + boundary)[1:]:
        if chunk.startswith("--"):
            break
        outer_head, inner = _split_head(chunk.lstrip("\r\n"))
        content_id = _headers(outer_head).get("content-id")
        request_line, _, rest = inner.lstrip("\r\n").partition("\n")
        head, payload = _split_head(rest)
        bits = request_line.strip().split(" ")
        if len(bits) < 2:
            raise ApiError(400, "badRequest", "Invalid batch part.")
        url = urlsplit(bits[1])
        req = Req(
            method=bits[0].upper(),
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=_headers(head),
            body=payload.rstrip("\r\n").encode(),
        )
        parts.append((content_id, req))
    if not parts:
        raise ApiError(400, "badRequest", "Invalid multipart request with 0 mime parts.")
    return parts


def _response_id(content_id: str | None) -> str | None:
    if content_id is None:
        return None
    inner = content_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    return f"<response-{inner}>"


def handle_batch(emu: Emulator, outer: Req) -> Resp:
    """Answer a batch request."""
    try:
        parts = parse_parts(outer.body, outer.headers.get("content-type", ""))
        cap = emu.store.config.batch_cap
        if len(parts) > cap:
            raise ApiError(
                400, "badRequest", f"Too many requests in batch: {len(parts)} (at most {cap})."
            )
    except ApiError as err:
        return Resp(err.status, err.body())
    emu.stats.batches += 1
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for content_id, req in parts:
        # Outer headers (Authorization, ...) apply to every part unless the part sets its own;
        # outer Content-* headers do not carry over.
        for name, value in outer.headers.items():
            if not name.startswith("content-") and name not in req.headers:
                req.headers[name] = value
        resp = emu.call(req, batch=True)
        reason = (
            HTTPStatus(resp.status).phrase if resp.status in HTTPStatus._value2member_map_ else ""
        )
        lines = [f"HTTP/1.1 {resp.status} {reason}"]
        payload = resp.payload()
        if resp.status != 204:
            lines.append(f"Content-Type: {resp.content_type}")
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        lines.append(f"Content-Length: {len(payload)}")
        head = [f"--{boundary}", "Content-Type: application/http"]
        rid = _response_id(content_id)
        if rid:
            head.append(f"Content-ID: {rid}")
        chunks.append(
            "\r\n".join(head)
            + "\r\n\r\n"
            + "\r\n".join(lines)
            + "\r\n\r\n"
            + payload.decode()
            + "\r\n"
        )
    text = "".join(chunks) + f"--{boundary}--\r\n"
    return Resp(200, raw=text.encode(), content_type=f"multipart/mixed; boundary={boundary}")
