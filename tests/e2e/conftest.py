"""Browser fixtures: Debian's Chromium through Playwright, and the whole calsync stack on
loopback ports (Google emulator, embedded CRM, the real sync service, the web app)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.config import load_settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.sides.local.crm import LocalCrm
from calsync.web import create_admin
from calsync.web.app import create_app
from calsync.wiring import App, build

CHROMIUM = Path(os.environ.get("CALSYNC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN_PASSWORD = "admin-e2e-pass"
CLIENT_ID = "calsync-e2e.apps.example.com"
CLIENT_SECRET = "calsync-e2e-secret"
USERS = {"alice": "alice-pw", "bob": "bob-pw"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (skipped when Debian's chromium is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Stack:
    """Everything running for one browser scenario."""

    url: str
    google_url: str
    app: App
    crm: LocalCrm
    accounts: dict[str, dict[str, str]]

    def google_events(self, email: str) -> list[dict[str, Any]]:
        """Return the events on the primary calendar of `email`, read through the API."""
        token = self.accounts[email]["access_token"]
        r = httpx.get(
            f"{self.google_url}/calendar/v3/calendars/primary/events",
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        return list(r.json().get("items", []))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The Google emulator with two accounts, the embedded CRM with alice and bob, the web app."""
    with ServerThread(google_emulator()) as emulator:
        accounts = {}
        for email in ("alice@example.com", "bob@example.com"):
            r = httpx.post(f"{emulator.url}/_emulator/accounts", json={"email": email})
            r.raise_for_status()
            accounts[email] = r.json()
        settings = load_settings(
            data_dir=tmp_path,
            crm="local",
            google_api_url=emulator.url,
            google_auth_url=f"{emulator.url}/o/oauth2/auth",
            google_token_url=f"{emulator.url}/token",
            google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET,
        )
        crm = LocalCrm(settings.local_crm_url)
        for name, password in USERS.items():
            crm.create_user(name, password=password, email=f"{name}@example.com")
        app = build(settings)
        create_admin(app.store, "admin", ADMIN_PASSWORD)
        with ServerThread(create_app(app.application)) as web:
            yield Stack(web.url, emulator.url, app, crm, accounts)
        app.store.close()
        crm.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (own cookies)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot to artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, user: str, password: str) -> None:
    """Sign in through the login form."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
