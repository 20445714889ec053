"""Serve the web app with uvicorn (`calsync serve`, `calsync demo`)."""

from __future__ import annotations

import logging

import uvicorn

from calsync.service import Application
from calsync.web.app import create_app

_LOGGER = logging.getLogger(__name__)

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def public_base_url(configured: str, host: str, port: int) -> str:
    """Return the base URL users reach the app at: the configured public URL, else the bind
    address (a demo on http://127.0.0.1), else "" (each request's own, for a wildcard bind).
    """
    if configured:
        return configured.rstrip("/")
    if host in ("", "0.0.0.0", "::"):
        return ""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_web(
    application: Application, host: str, port: int, public_url: str | None = None
) -> None:
    """Serve the web UI over `application` until interrupted.

    The public URL (OAuth redirect URI, Secure cookie when https) is `public_url` when given,
    else CALSYNC_PUBLIC_URL, else the bind address. uvicorn's own `X-Forwarded-For` handling
    is off: it would trust any local peer, while the app believes the header only from
    CALSYNC_TRUSTED_PROXIES.
    """
    if public_url is None:
        public_url = public_base_url(application.settings.config.public_url, host, port)
    if not public_url.startswith("https://") and host not in _LOOPBACK:
        _LOGGER.warning(
            "serving on %s without an https CALSYNC_PUBLIC_URL: the session cookie is not"
            " marked Secure and the OAuth redirect URI is %s",
            host,
            f"{public_url}/oauth/callback" if public_url else "taken from each request",
        )
    app = create_app(application, public_url=public_url)
    uvicorn.run(app, host=host, port=port, proxy_headers=False)
