"""End to end in Chromium: a CRM user whose language is Italian gets the sync page, the
preferences form and its errors, the sync log in Italian; the admin's page switches to Italian
with the header's switcher; an English user keeps English.

The CRM is the embedded one (its users carry a vtiger-style `language`); that a vtiger user's
language reaches the web app is tested against the vtiger emulator in tests/web."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from calsync.model import Event, When, utcnow
from tests.e2e.conftest import ADMIN_PASSWORD, USERS, Stack, shot, sign_in

pytestmark = pytest.mark.e2e


def test_an_italian_crm_user_sees_italian_and_an_english_one_english(
    stack: Stack, browser: Any, context: Any
) -> None:
    """giulia (CRM language it_it, Rome) connects Google, is refused a bad hours window and
    syncs, all in Italian; alice, in the same app, reads English."""
    stack.crm.create_user(
        "giulia",
        password="giulia-pw",
        email="giulia@example.com",
        time_zone="Europe/Rome",
        language="it_it",
    )
    r = httpx.post(f"{stack.google_url}/_emulator/accounts", json={"email": "giulia@example.com"})
    r.raise_for_status()

    page = context.new_page()
    sign_in(page, stack.url, "giulia", "giulia-pw")
    page.wait_for_url(f"{stack.url}/me")
    assert page.get_attribute("html", "lang") == "it"
    expect(page.locator("h1")).to_have_text("La mia sincronizzazione del calendario")
    assert "non collegato" in page.inner_text("#google-account").lower()
    expect(page.locator("#connect")).to_have_text("Collega l'account Google")
    expect(page.locator("#sync-now")).to_have_text("Sincronizza ora")

    page.click("#connect")
    page.wait_for_url(f"{stack.google_url}/o/oauth2/auth*")
    page.click('[id="allow-giulia@example.com"]')
    page.wait_for_url(f"{stack.url}/me")
    expect(page.locator("main")).to_contain_text("Account giulia@example.com collegato.")

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
    assert "Se entrambi i lati sono cambiati, mantieni" in page.inner_text("#preferences")
    shot(page, "me-it-errors")

    # A sync: its result, its date (Rome time, Italian style) and the log in Italian.
    start = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    stack.crm.add_event(
        "giulia", Event("Riunione di budget", When.timed(start, start + timedelta(hours=1), "UTC"))
    )
    page.goto(f"{stack.url}/me")
    with page.expect_navigation():
        page.click("#sync-now")
    expect(page.locator("#sync-status")).to_contain_text("riuscita")
    expect(page.locator("#sync-status")).to_contain_text("Google: 1 creato")
    expect(page.locator("#sync-status")).to_contain_text("Ultima sincronizzazione:")
    log = page.inner_text("#log")
    assert "Registro di sincronizzazione" in log
    assert "Riunione di budget" in log and "creato" in log
    when = page.inner_text("#log tbody tr td.nowrap")
    months = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")
    assert any(f" {m} " in when for m in months), when
    shot(page, "me-it")

    # alice, signed in elsewhere, reads English.
    other = browser.new_context()
    try:
        english = other.new_page()
        sign_in(english, stack.url, "alice", USERS["alice"])
        english.wait_for_url(f"{stack.url}/me")
        assert english.get_attribute("html", "lang") == "en"
        expect(english.locator("#sync-now")).to_have_text("Sync now")
        expect(english.locator("h1")).to_have_text("My calendar sync")
    finally:
        other.close()


def test_the_admin_switches_the_admin_page_to_italian(stack: Stack, context: Any) -> None:
    """The administrator (no CRM language) reads English, picks Italiano in the header, and
    the admin page and its form errors are in Italian from then on."""
    page = context.new_page()
    sign_in(page, stack.url, "admin", ADMIN_PASSWORD)
    page.wait_for_url(f"{stack.url}/admin")
    expect(page.locator("h1")).to_have_text("Administration")
    with page.expect_navigation():
        page.click("#language-switcher button[value=it]")
    expect(page.locator("h1")).to_have_text("Amministrazione")
    assert page.get_attribute("html", "lang") == "it"
    page.fill("input[name=daily_budget]", "tanto")
    with page.expect_navigation():
        page.click("form[action='/admin/google'] button[type=submit]")
    expect(page.locator("#daily_budget-error")).to_have_text(
        "Il limite giornaliero è un numero intero di chiamate API, almeno 1."
    )
    assert "Utilizzo delle API Google" in page.inner_text("#usage")
    shot(page, "admin-it")
    # The choice stays with the browser.
    page.goto(f"{stack.url}/admin")
    expect(page.locator("h1")).to_have_text("Amministrazione")
