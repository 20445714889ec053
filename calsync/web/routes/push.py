"""Google's push notifications (`POST /google/notify`): a calendar a user syncs changed.

No session and no CSRF token: Google sends them. A notification counts only when its channel
id and token match a channel calsync opened (the service checks, in constant time); anything
else is answered 404 and starts nothing. Google wants a quick 2xx, so the round is only
queued here, never run.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from calsync.service.push import NOTIFY_PATH, Notice
from calsync.web.deps import Ctx

router = APIRouter(tags=["push"])


@router.post(NOTIFY_PATH, include_in_schema=False)
def google_notify(request: Request, ctx: Ctx) -> Response:
    """Check one notification and queue its user's round; 404 for an unknown channel."""
    push = ctx.app.push
    if push is None:
        return Response(status_code=404)
    headers = request.headers
    notice = push.notified(
        headers.get("x-goog-channel-id", ""),
        headers.get("x-goog-channel-token", ""),
        headers.get("x-goog-resource-state", ""),
        headers.get("x-goog-resource-id"),
    )
    # The same answer for an unknown channel and a wrong token: no way to probe for ids.
    return Response(status_code=404 if notice is Notice.UNKNOWN else 200)
