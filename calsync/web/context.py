"""Everything a request handler may reach, built once by `create_app` (no globals)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from fastapi.templating import Jinja2Templates

from calsync.web.metrics import WebMetrics
from calsync.web.runner import SyncRunner
from calsync.web.security import IPNetwork, LoginThrottle
from calsync.web.services import (
    DEFAULT_DAILY_BUDGET,
    SETTING_CLIENT_ID,
    SETTING_CLIENT_SECRET,
    CrmAuthenticator,
    CrmProbe,
    GoogleGateway,
)
from calsync.web.store import AppStore


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
    daily_budget: int = DEFAULT_DAILY_BUDGET
    """Google API calls per day for the whole project, unless the admin page says otherwise."""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """Reverse proxies whose `X-Forwarded-For` names the client (none: the peer is)."""

    @property
    def https(self) -> bool:
        """True when users reach the app over https (the session cookie is then Secure)."""
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
            daily_budget=int(getattr(settings, "google_daily_budget", 0) or DEFAULT_DAILY_BUDGET),
            trusted_proxies=tuple(
                ipaddress.ip_network(p, strict=False)
                for p in getattr(settings, "trusted_proxies", ()) or ()
            ),
        )


class TtlCache:
    """A small thread-safe map whose entries expire after `ttl` seconds."""

    def __init__(self, ttl: float = 60.0, size: int = 1000) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._items: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable) -> object | None:
        """Return the live value under `key`, or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            return hit[1]

    def put(self, key: Hashable, value: object) -> None:
        """Keep `value` under `key` for `ttl` seconds."""
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl, value)


@dataclass(slots=True)
class WebContext:
    """The app's collaborators, kept on `app.state.ctx`."""

    config: WebConfig
    store: AppStore
    runner: SyncRunner
    google: GoogleGateway
    crm_auth: CrmAuthenticator
    crm_probe: CrmProbe | None
    templates: Jinja2Templates
    metrics: WebMetrics
    login_throttle: LoginThrottle
    """Failed sign-ins per (name, client address), counted in the state store."""
    lists_cache: TtlCache = field(default_factory=TtlCache)
    """The linked accounts' calendar and task lists, read for the settings page."""

    def client_credentials(self) -> tuple[str, str]:
        """Return the Google OAuth client (id, secret): admin page first, then settings."""
        cid = self.store.get_setting(SETTING_CLIENT_ID) or self.config.google_client_id
        secret = self.store.get_setting(SETTING_CLIENT_SECRET) or self.config.google_client_secret
        return cid, secret
