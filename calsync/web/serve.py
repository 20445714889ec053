"""Build the web app from the wired application (`calsync serve`, `calsync demo`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from calsync.web.app import create_app

if TYPE_CHECKING:
    from calsync.wiring import App


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


def serve_app(app: App, host: str, port: int) -> None:
    """Serve the web UI with the in-process scheduler until interrupted."""
    from calsync.jobs.scheduler import Scheduler

    scheduler = Scheduler(app.service).start()
    try:
        uvicorn.run(web_app(app, public_url=f"http://{host}:{port}"), host=host, port=port)
    finally:
        scheduler.stop()
