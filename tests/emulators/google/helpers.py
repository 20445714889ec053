"""Builders of event bodies and readers of Google's error envelope for the emulator suite."""

from __future__ import annotations

from typing import Any

import httpx


def timed(
    summary: str = "Meeting",
    start: str = "2025-03-10T09:00:00Z",
    end: str = "2025-03-10T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """Return a timed event body."""
    return {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def all_day(
    summary: str = "Holiday", day: str = "2025-03-10", end: str = "2025-03-11", **extra: Any
) -> dict[str, Any]:
    """Return an all-day event body (end date exclusive)."""
    return {"summary": summary, "start": {"date": day}, "end": {"date": end}, **extra}


def error_of(resp: httpx.Response) -> dict[str, Any]:
    """Return the first entry of Google's error envelope with code and message."""
    err = resp.json()["error"]
    return {"code": err["code"], "message": err["message"], **err["errors"][0]}
