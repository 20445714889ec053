"""The web app in Italian and English: the catalogs cover every message, and each page speaks
the language of the switcher, of the CRM user, or of the browser, with local dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from calsync.emulators.server import ServerThread
from calsync.sides.local.crm import LocalCrm
from calsync.state import Store
from calsync.state import tables as t
from calsync.web import create_app
from calsync.web.i18n import LANGUAGES, from_crm, from_header
from tests.web.conftest import CRM_USERS, SignedIn, WebEnv, application, csrf_of
from tests.web.fakes import FakeCrm, FakeGoogle, FakeRounds

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "calsync" / "web" / "locale"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _extract(tmp_path: Path) -> list[object]:
    """Run the extraction `script/i18n` runs and return the messages found."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(  # type: ignore[no-untyped-call]
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            *("-k", "N_", "-k", "_", "-k", "gettext", "-k", "ngettext:1,2"),
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def _key(message_id: object) -> str:
    return message_id if isinstance(message_id, str) else str(tuple(message_id))  # type: ignore[arg-type]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_of_the_code_and_templates_is_translated(
    tmp_path: Path, language: str
) -> None:
    """Each message the extraction finds has a translation in the language's catalog, with
    the same placeholders (a new or changed text fails until `script/i18n update` and a
    translation)."""
    found = _extract(tmp_path)
    assert len(found) > 150  # the templates and routes were read
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing, untranslated, mismatched = [], [], []
    for message in found:
        entry = catalog.get(message.id)  # type: ignore[attr-defined]
        if entry is None:
            missing.append(_key(message.id))  # type: ignore[attr-defined]
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings) or entry.fuzzy:
            untranslated.append(_key(entry.id))
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        wanted = set(_PLACEHOLDER.findall(str(ids[-1])))
        if any(set(_PLACEHOLDER.findall(str(s))) != wanted for s in strings):
            mismatched.append(_key(entry.id))
    assert missing == [], f"not in the {language} catalog: run script/i18n update"
    assert untranslated == [], f"untranslated in {language}"
    assert mismatched == [], f"placeholders differ in {language}"


def test_language_codes() -> None:
    """vtiger's codes and Accept-Language headers map to the languages the app speaks."""
    assert from_crm("it_it") == "it"
    assert from_crm("en_us") == "en"
    assert from_crm("de_de") is None
    assert from_crm("") is None
    assert from_header("it-IT,it;q=0.9,en;q=0.8") == "it"
    assert from_header("de-DE,de;q=0.9,it;q=0.5,en;q=0.7") == "en"
    assert from_header("de, it;q=0") is None
    assert from_header(None) is None


def test_the_browser_language_picks_the_sign_in_page_language(web: WebEnv) -> None:
    """Before anyone signs in, the page follows Accept-Language, else English."""
    with web.client() as c:
        italian = c.get("/login", headers={"accept-language": "it-IT,it;q=0.9"}).text
        assert '<html lang="it">' in italian
        assert "Nome utente" in italian and "Accedi" in italian
        english = c.get("/login", headers={"accept-language": "de-DE"}).text
        assert '<html lang="en">' in english and "User name" in english


def test_the_switcher_keeps_the_choice_and_needs_the_csrf_token(web: WebEnv) -> None:
    """The header's switcher sets a cookie the next pages follow; without the CSRF token it
    is refused."""
    alice = web.signed_in("alice")
    refused = alice.http.post("/language", data={"language": "it", "next": "/me"})
    assert refused.status_code == 403
    assert "calsync_lang" not in alice.http.cookies
    r = alice.post("/language", {"language": "it", "next": "/me"})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    page = alice.get("/me").text
    assert "Sincronizza ora" in page and "Collega l'account Google" in page
    alice.post("/language", {"language": "en", "next": "//evil.example"})
    assert "Sync now" in alice.get("/me").text
    # An unknown language changes nothing; an outside `next` is not followed.
    r = alice.post("/language", {"language": "xx", "next": "https://evil.example/"})
    assert r.headers["location"] == "/"
    assert "Sync now" in alice.get("/me").text


@pytest.fixture
def polyglot(store: Store, tmp_path: Path) -> Iterator[WebEnv]:
    """The web app over an embedded CRM where giulia speaks Italian (Rome) and alice English."""
    users = {**CRM_USERS, "giulia": "giulia-pass"}
    crm = LocalCrm(f"sqlite:///{tmp_path / 'crm.db'}")
    crm.create_user(
        "giulia",
        password=users["giulia"],
        email="giulia@example.com",
        time_zone="Europe/Rome",
        language="it_it",
    )
    crm.create_user("alice", password=users["alice"], email="alice@example.com")
    crm.close()
    service = FakeRounds(store)
    # Signed in by the CRM itself (no fake check): the user's zone and language come from it.
    app = create_app(
        application(store, tmp_path, service, FakeGoogle(), crm_users=tuple(users)),
        announce=lambda _: None,
    )
    with ServerThread(app) as server:
        yield WebEnv(server.url, store, service, FakeGoogle(), FakeCrm(users), [])


def _sign_in(env: WebEnv, name: str, password: str, **headers: str) -> SignedIn:
    client = httpx.Client(base_url=env.url, follow_redirects=False, timeout=20, headers=headers)
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text
    return SignedIn(client, name)


def test_a_crm_user_whose_language_is_italian_gets_italian_pages(polyglot: WebEnv) -> None:
    """giulia's CRM language is it_it: her page, its form errors and flashes are in Italian,
    whatever her browser says; alice's are in English."""
    giulia = _sign_in(polyglot, "giulia", "giulia-pass", **{"accept-language": "en-US"})
    page = giulia.get("/me").text
    assert '<html lang="it">' in page
    for text in ("Sincronizza ora", "Preferenze", "Registro di sincronizzazione", "Esci"):
        assert text in page
    r = giulia.post(
        "/me/prefs",
        {
            "direction": "both",
            "winner": "latest",
            "private": "all",
            "days_past": "dieci",
            "days_future": "0",
            "hours": "25:00-09:00",
        },
    )
    assert r.status_code == 400
    refused = r.text.replace("&#39;", "'")
    assert "Non è stato salvato nulla" in refused
    assert "giorni nel passato: 'dieci' non è un numero intero di giorni" in refused
    assert "giorni nel futuro: 0 non va bene, servono da 1 a 3650 giorni" in refused
    assert (
        "25:00 non è un&#39;ora del giorno" in r.text or "25:00 non è un'ora del giorno" in refused
    )
    giulia.post("/me/pause")
    assert "Sincronizzazione sospesa." in giulia.get("/me").text

    alice = _sign_in(polyglot, "alice", CRM_USERS["alice"])
    page = alice.get("/me").text
    assert '<html lang="en">' in page and "Sync now" in page


def test_dates_are_local_to_the_user_and_the_language(polyglot: WebEnv) -> None:
    """The last sync reads `30 nov 2026, 15:04` for giulia in Rome (UTC+1 in November)."""
    at = datetime(2026, 11, 30, 14, 4, tzinfo=UTC)
    giulia = _sign_in(polyglot, "giulia", "giulia-pass")
    run = polyglot.store.start_run("giulia", at)
    polyglot.store.finish_run(run, "ok", finished_at=at)
    page = giulia.get("/me").text
    assert "30 nov 2026, 15:04" in page
    assert "riuscita" in page


def test_admin_page_numbers_follow_the_language(web: WebEnv) -> None:
    """The admin's page groups digits the Italian way once Italian is chosen."""
    admin = web.signed_in("admin")
    web.store.set_setting("google_daily_budget", "1000000")
    admin.post("/language", {"language": "it", "next": "/admin"}, page="/admin")
    page = admin.get("/admin").text
    assert "Amministrazione" in page and "Salva le impostazioni Google" in page
    assert "1.000.000" in page


_TRANS_BLOCK = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
_WORD = re.compile(r"[A-Za-z]{2,}")
_TEXT_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "data-confirm"}
_NOT_WORDS = {"calsync"}
"""Texts shown untranslated on purpose: the product's name."""


class _BareText(HTMLParser):
    """Collects the words a template shows without passing them through gettext."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in _TEXT_ATTRIBUTES and value and _WORD.search(value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_data(self, data: str) -> None:
        words = {w for w in _WORD.findall(data) if w not in _NOT_WORDS}
        if words:
            self.found.append(data.strip())


@pytest.mark.parametrize(
    "template", sorted(p.name for p in (ROOT / "calsync/web/templates").glob("*.html"))
)
def test_templates_show_no_text_outside_gettext(template: str) -> None:
    """Every word a template shows (text, placeholders, labels, confirmations) goes through
    gettext, so the extraction, and with it the catalogs, see it."""
    source = (ROOT / "calsync/web/templates" / template).read_text()
    parser = _BareText()
    parser.feed(_JINJA.sub(" ", _TRANS_BLOCK.sub(" ", source)))
    assert parser.found == []


def test_the_password_policy_and_unusable_prefs_speak_italian(web: WebEnv) -> None:
    """The single password policy and the single prefs validation (English, marked) reach an
    Italian reader translated, with their values."""
    admin = web.signed_in("admin")
    admin.post("/language", {"language": "it", "next": "/admin"}, page="/admin")
    data = {"current": "admin-pass-1", "new": "short", "confirm": "short"}
    r = admin.post("/admin/password", data, page="/admin")
    assert r.status_code == 400 and "Usa almeno 10 caratteri." in r.text
    assert web.store.verify_password("admin", "admin-pass-1")

    alice = web.signed_in("alice")
    alice.post("/language", {"language": "it", "next": "/me"})
    with web.store.engine.begin() as conn:
        conn.execute(
            t.preferences.insert().values(
                user_name="alice", data={"days_past": 5000}, updated_at=datetime.now(UTC)
            )
        )
    page = alice.get("/me").text
    assert (
        "Le preferenze salvate non si possono usare (giorni nel passato: 5000 non va bene,"
        " servono da 0 a 3650 giorni): salvale di nuovo." in page
    )
