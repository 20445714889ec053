"""Everything a request handler may reach, built once by `create_app` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi.templating import Jinja2Templates

from calsync.service import Application
from calsync.web.i18n import Catalogs
from calsync.web.metrics import WebMetrics
from calsync.web.runner import SyncRunner
from calsync.web.security import IPNetwork, LoginThrottle
from calsync.web.store import AppStore


class CrmAuthenticator(Protocol):
    """Checks a CRM user's credentials (embedded CRM password, or vtiger access key)."""

    def check(self, user: str, secret: str) -> bool:
        """Return True when `secret` signs `user` in."""
        ...


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What the web app is told about where it runs."""

    public_url: str = ""
    """Base URL users reach the app at (for the OAuth redirect URI); empty: from the request."""
    crm: str = "local"
    """The CRM kind, for the sign-in page's wording."""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """Reverse proxies whose `X-Forwarded-For` names the client (none: the peer is)."""

    @property
    def https(self) -> bool:
        """True when users reach the app over https (the session cookie is then Secure)."""
        return self.public_url.startswith("https://")


@dataclass(slots=True)
class WebContext:
    """The app's collaborators, kept on `app.state.ctx`."""

    config: WebConfig
    app: Application
    """The application layer: every page action goes through it."""
    store: AppStore
    """Users, passwords, sessions, sign-in failures and OAuth states: for sign-in only."""
    runner: SyncRunner
    crm_auth: CrmAuthenticator
    templates: Jinja2Templates
    metrics: WebMetrics
    login_throttle: LoginThrottle
    """Failed sign-ins per (name, client address), counted in the state store or Redis."""
    catalogs: Catalogs
    """The web app's message catalogs, one per language."""
