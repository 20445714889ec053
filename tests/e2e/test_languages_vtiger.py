"""End to end in Chromium against the vtiger emulator as the CRM: marco, a vtiger user whose
language is `it_it`, signs in with his access key and reads the sync page, the preferences
form and its errors, and the log in Italian; anna (vtiger's default `en_us`) reads English.

vtiger users are never calsync administrators (the admin is calsync's own account), so the
admin page is shown in Italian to the admin whose browser asks for Italian (`Accept-Language`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from calsync.config import load_settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from calsync.web import create_admin
from calsync.web.app import create_app
from calsync.wiring import build
from tests.e2e.conftest import ADMIN_PASSWORD, CLIENT_ID, CLIENT_SECRET, shot, sign_in

pytestmark = pytest.mark.e2e


@dataclass
class VtigerStack:
    """The web app on a loopback port, syncing the vtiger emulator with the Google emulator."""

    url: str
    marco: EmulatedUser
    anna: EmulatedUser


@pytest.fixture
def vtiger_stack(tmp_path: Path) -> Iterator[VtigerStack]:
    """vtiger users admin (the sync account), marco (it_it, Rome) and anna (en_us)."""
    with VtigerEmulator() as vtiger, ServerThread(google_emulator()) as google:
        admin = vtiger.add_user("admin", is_admin=True)
        marco = vtiger.add_user("marco", time_zone="Europe/Rome", language="it_it")
        anna = vtiger.add_user("anna")
        for email in ("marco@example.com", "anna@example.com"):
            httpx.post(f"{google.url}/_emulator/accounts", json={"email": email}).raise_for_status()
        settings = load_settings(
            data_dir=tmp_path,
            crm="vtiger",
            vtiger_url=vtiger.url,
            vtiger_user="admin",
            vtiger_access_key=admin.access_key,
            google_api_url=google.url,
            google_auth_url=f"{google.url}/o/oauth2/auth",
            google_token_url=f"{google.url}/token",
            google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET,
        )
        app = build(settings)
        create_admin(app.store, "admin", ADMIN_PASSWORD)
        try:
            with ServerThread(create_app(app.application)) as web:
                yield VtigerStack(web.url, marco, anna)
        finally:
            app.store.close()


def test_an_italian_vtiger_user_sees_italian_and_an_english_one_english(
    vtiger_stack: VtigerStack, browser: Any, context: Any
) -> None:
    """marco signs in with his vtiger access key and gets Italian; anna gets English."""
    base = vtiger_stack.url
    page = context.new_page()
    sign_in(page, base, "marco", vtiger_stack.marco.access_key)
    page.wait_for_url(f"{base}/me")
    assert page.get_attribute("html", "lang") == "it"
    expect(page.locator("h1")).to_have_text("La mia sincronizzazione del calendario")
    expect(page.locator("#connect")).to_have_text("Collega l'account Google")
    expect(page.locator("#sync-now")).to_have_text("Sincronizza ora")
    expect(page.locator("#log h2")).to_have_text("Registro di sincronizzazione")

    # The preferences form, refused in Italian next to the fields.
    page.fill("input[name=hours]", "25:00-09:00")
    page.fill("input[name=days_future]", "mille")
    page.click("#save-prefs")
    page.locator("#hours-error").wait_for()
    assert "25:00 non è un'ora del giorno" in page.inner_text("#hours-error")
    assert "non è un numero intero di giorni" in page.inner_text("#days_future-error")
    expect(page.locator("#preferences")).to_contain_text(
        "Non è stato salvato nulla: correggi i campi evidenziati qui sotto."
    )
    expect(page.locator("#log h2")).to_have_text("Registro di sincronizzazione")
    shot(page, "me-it-vtiger")

    # anna, signed in elsewhere, reads English.
    other = browser.new_context()
    try:
        english = other.new_page()
        sign_in(english, base, "anna", vtiger_stack.anna.access_key)
        english.wait_for_url(f"{base}/me")
        assert english.get_attribute("html", "lang") == "en"
        expect(english.locator("h1")).to_have_text("My calendar sync")
        expect(english.locator("#sync-now")).to_have_text("Sync now")
        expect(english.locator("#log h2")).to_have_text("Sync log")
    finally:
        other.close()


def test_the_admin_page_follows_an_italian_browser(vtiger_stack: VtigerStack, browser: Any) -> None:
    """With vtiger as the CRM, calsync's admin whose browser asks for Italian reads the admin
    page and its form errors in Italian."""
    base = vtiger_stack.url
    ctx = browser.new_context(locale="it-IT", extra_http_headers={"Accept-Language": "it-IT,it"})
    try:
        page = ctx.new_page()
        sign_in(page, base, "admin", ADMIN_PASSWORD)
        page.wait_for_url(f"{base}/admin")
        assert page.get_attribute("html", "lang") == "it"
        expect(page.locator("h1")).to_have_text("Amministrazione")
        page.fill("input[name=daily_budget]", "tanto")
        with page.expect_navigation():
            page.click("form[action='/admin/google'] button[type=submit]")
        expect(page.locator("#daily_budget-error")).to_have_text(
            "Il limite giornaliero è un numero intero di chiamate API, almeno 1."
        )
    finally:
        ctx.close()
