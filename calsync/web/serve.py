"""Build the web app from the wired application (`calsync serve`, `calsync demo`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from calsync.web.app import create_app

if TYPE_CHECKING:
    from calsync.wiring import App

_LOGGER = logging.getLogger(__name__)


class _CrmAuth:
    """Signs CRM users in with their CRM credentials (password or vtiger access key)."""

    def __init__(self, app: App) -> None:
        self._app = app

    def check(self, user: str, secret: str) -> bool:
        if not self._app.crm.authenticate(user, secret):
            return False
        self._app.service.known_user(user)  # registers the CRM user in the state store
        return True


def web_app(app: App, public_url: str = "") -> FastAPI:
    """Return the web UI for the wired application."""
    return create_app(
        app.settings,
        app.store,
        app.service,
        crm_auth=_CrmAuth(app),
        crm_probe=app.crm.check,
        public_url=public_url,
    )


def public_base_url(configured: str, host: str, port: int) -> str:
    """Return the base URL users reach the app at: the configured public URL, else the bind
    address (a demo on http://127.0.0.1), else "" (each request's own, for a wildcard bind).
    """
    if configured:
        return configured.rstrip("/")
    if host in ("", "0.0.0.0", "::"):
        return ""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_web(web: FastAPI, host: str, port: int) -> None:
    """Serve `web` with uvicorn until interrupted.

    uvicorn's own `X-Forwarded-For` handling is off: it would trust any local peer, while the
    app believes the header only from the configured trusted proxies.
    """
    uvicorn.run(web, host=host, port=port, proxy_headers=False)


def serve_app(app: App, host: str, port: int) -> None:
    """Serve the web UI with the in-process scheduler until interrupted."""
    from calsync.jobs.scheduler import Scheduler

    public_url = public_base_url(app.settings.public_url, host, port)
    if not public_url.startswith("https://") and host not in ("127.0.0.1", "::1", "localhost"):
        _LOGGER.warning(
            "serving on %s without an https CALSYNC_PUBLIC_URL: the session cookie is not"
            " marked Secure and the OAuth redirect URI is %s",
            host,
            f"{public_url}/oauth/callback" if public_url else "taken from each request",
        )
    scheduler = Scheduler(app.service).start()
    try:
        run_web(web_app(app, public_url=public_url), host, port)
    finally:
        scheduler.stop()
