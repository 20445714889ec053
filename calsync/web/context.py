"""Everything a request handler may reach, built once by `create_app` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.templating import Jinja2Templates

from calsync.web.metrics import WebMetrics
from calsync.web.runner import SyncRunner
from calsync.web.services import (
    SETTING_CLIENT_ID,
    SETTING_CLIENT_SECRET,
    CrmAuthenticator,
    CrmProbe,
    GoogleGateway,
    WebStore,
)


def _secret(value: Any) -> str:
    """Return a plain string from a str or pydantic SecretStr (or None)."""
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if callable(getter) else value)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The part of calsync's Settings the web app reads."""

    public_url: str = ""
    """Base URL users reach the app at (for the OAuth redirect URI); empty: from the request."""
    google_client_id: str = ""
    google_client_secret: str = ""
    crm: str = "local"
    crm_url: str = ""
    crm_user: str = ""

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_settings(cls, settings: Any, public_url: str = "") -> WebConfig:
        """Return the web config from a calsync Settings object (or anything alike)."""
        return cls(
            public_url=(public_url or str(getattr(settings, "public_url", "") or "")).rstrip("/"),
            google_client_id=str(getattr(settings, "google_client_id", "") or ""),
            google_client_secret=_secret(getattr(settings, "google_client_secret", None)),
            crm=str(getattr(settings, "crm", "local") or "local"),
            crm_url=str(getattr(settings, "vtiger_url", "") or ""),
            crm_user=str(getattr(settings, "vtiger_user", "") or ""),
        )


@dataclass(slots=True)
class WebContext:
    """The app's collaborators, kept on `app.state.ctx`."""

    config: WebConfig
    store: WebStore
    runner: SyncRunner
    google: GoogleGateway
    crm_auth: CrmAuthenticator
    crm_probe: CrmProbe | None
    templates: Jinja2Templates
    metrics: WebMetrics

    def client_credentials(self) -> tuple[str, str]:
        """Return the Google OAuth client (id, secret): admin page first, then settings."""
        cid = self.store.get_setting(SETTING_CLIENT_ID) or self.config.google_client_id
        secret = self.store.get_setting(SETTING_CLIENT_SECRET) or self.config.google_client_secret
        return cid, secret
