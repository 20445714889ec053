"""The language of a vtiger user reaches the web app: users made on the vtiger emulator carry
`language` (default `en_us`), and a user whose language is `it_it` signs in with their access
key and gets Italian pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calsync.config import Settings
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.testing import VtigerEmulator
from calsync.service import AccountService, Application, AppSettings, RoundMetrics
from calsync.sides.crm import VtigerBackend
from calsync.sides.vtiger.client import VtigerClient
from calsync.state import Store
from calsync.web import create_app
from tests.web.conftest import CLIENT_ID, SignedIn, csrf_of
from tests.web.fakes import FakeGoogle, FakeRounds


@pytest.fixture(scope="module")
def vtiger() -> Iterator[VtigerEmulator]:
    with VtigerEmulator() as vt:
        yield vt


def test_emulated_users_carry_a_language(vtiger: VtigerEmulator) -> None:
    """`POST /_emulator/users` takes `language` (default `en_us`); the login profile and the
    Users records give it back, as vtiger's do."""
    vtiger.control("reset")
    made = vtiger.control("users", {"user_name": "marco", "language": "it_it"})
    assert made["language"] == "it_it"
    assert vtiger.control("users", {"user_name": "anna"})["language"] == "en_us"
    client = VtigerClient(vtiger.url, "marco", made["access_key"])
    try:
        client.login()
        assert client.profile["language"] == "it_it"
        # A user who is not an admin reads their own Users record only.
        languages = {str(u["user_name"]): u.get("language") for u in client.users()}
        assert languages == {"marco": "it_it"}
    finally:
        client.logout()


def test_a_vtiger_user_in_italian_gets_the_pages_in_italian(
    vtiger: VtigerEmulator, store: Store, tmp_path: Path
) -> None:
    """Signed in with the vtiger access key, marco (it_it) sees Italian and anna English."""
    vtiger.control("reset")
    admin = vtiger.control("users", {"user_name": "admin", "is_admin": True})
    marco = vtiger.control(
        "users", {"user_name": "marco", "language": "it_it", "time_zone": "Europe/Rome"}
    )
    anna = vtiger.control("users", {"user_name": "anna"})
    backend = VtigerBackend(vtiger.url, "admin", admin["access_key"])
    settings = AppSettings(
        store,
        Settings(
            data_dir=tmp_path,
            google_client_id=CLIENT_ID,
            crm="vtiger",
            vtiger_url=vtiger.url,
            vtiger_user="admin",
        ),
        backend,
    )
    accounts = AccountService(store, backend, FakeGoogle(), settings, lock_wait=0.2)
    app = Application(FakeRounds(store), accounts, settings, RoundMetrics(), store)
    with ServerThread(create_app(app, announce=lambda _: None)) as web:

        def sign_in(name: str, key: str) -> SignedIn:
            client = httpx.Client(base_url=web.url, timeout=20)
            token = csrf_of(client.get("/login").text)
            r = client.post("/login", data={"username": name, "password": key, "csrf_token": token})
            assert r.status_code == 303, r.text
            return SignedIn(client, name)

        page = sign_in("marco", marco["access_key"]).get("/me").text
        assert '<html lang="it">' in page
        assert "Sincronizza ora" in page and "Collega l'account Google" in page
        page = sign_in("anna", anna["access_key"]).get("/me").text
        assert '<html lang="en">' in page and "Sync now" in page
