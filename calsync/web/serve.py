"""Serve the web app with uvicorn (`calsync serve`, `calsync demo`)."""

from __future__ import annotations

import uvicorn

from calsync.service import Application
from calsync.web.app import create_app


def serve_web(application: Application, host: str, port: int, public_url: str = "") -> None:
    """Serve the web UI over `application` until interrupted."""
    app = create_app(application, public_url=public_url or f"http://{host}:{port}")
    uvicorn.run(app, host=host, port=port)
