"""Liveness (`/healthz`, with a database write probe) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from calsync.web.deps import Ctx
from calsync.web.metrics import CONTENT_TYPE_LATEST

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


PROBE_TIMEOUT = 2.0
"""Seconds the health check waits for a write before it calls the database unusable."""


@router.get("/healthz")
def healthz(ctx: Ctx) -> JSONResponse:
    """Return `{"ok": true, "database": true}`, or 503 when the database cannot take a write
    (unreachable, read-only, or locked by another writer for longer than PROBE_TIMEOUT)."""
    try:
        ctx.app.settings.database_ok(PROBE_TIMEOUT)
        database = True
    except Exception as err:  # any failure means "not healthy"; the reason goes to the log
        _LOGGER.warning("health check: database unusable: %s", err)
        database = False
    return JSONResponse(
        {"ok": database, "database": database}, status_code=200 if database else 503
    )


@router.get("/metrics")
def metrics(ctx: Ctx) -> Response:
    """Return this app's metrics in Prometheus text format."""
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
