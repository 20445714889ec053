"""Fixtures: the web app on a loopback port over the real account and settings services (with a
fake round service and fake Google accounts), and signed-in clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from calsync.config import Settings
from calsync.emulators.server import ServerThread
from calsync.service import AccountService, Application, AppSettings, RoundMetrics, RoundService
from calsync.sides.crm import LocalBackend
from calsync.sides.local.crm import LocalCrm
from calsync.state import Store
from calsync.web import create_admin, create_app
from tests.web.fakes import FakeCrm, FakeGoogle, FakeRounds

ADMIN_PASSWORD = "admin-pass-1"
CRM_USERS = {"alice": "alice-pass", "bob": "bob-pass"}

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form in `html`."""
    m = _CSRF.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


@dataclass
class WebEnv:
    url: str
    store: Store
    service: FakeRounds
    google: FakeGoogle
    crm: FakeCrm
    announced: list[str]

    def client(self) -> httpx.Client:
        """Return a client with its own cookie jar (a browser of its own)."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=20)

    def signed_in(self, name: str, password: str | None = None) -> SignedIn:
        """Return a client signed in as `name`."""
        client = self.client()
        password = password or (ADMIN_PASSWORD if name == "admin" else CRM_USERS[name])
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login", data={"username": name, "password": password, "csrf_token": token}
        )
        assert r.status_code == 303, r.text
        return SignedIn(client, name)


class SignedIn:
    """A signed-in client that knows how to post forms with its CSRF token."""

    def __init__(self, client: httpx.Client, name: str) -> None:
        self.http = client
        self.name = name

    def token(self, page: str = "/me") -> str:
        return csrf_of(self.http.get(page).text)

    def post(
        self, path: str, data: Mapping[str, object] | None = None, page: str = "/me"
    ) -> httpx.Response:
        body: dict[str, object] = {"csrf_token": self.token(page), **(data or {})}
        return self.http.post(path, data=body)

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.http.get(path, **kw)  # type: ignore[arg-type]


STORE_KEY = "test-secret-key"


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated SQLite state database, made once and copied by each test."""
    path = tmp_path_factory.mktemp("state") / "template.db"
    with Store.open(f"sqlite:///{path}", STORE_KEY) as store:
        store.migrate()
        # argon2 is slow on purpose: hash the admin's password once for the whole session.
        create_admin(store, "admin", ADMIN_PASSWORD)
    return path


@pytest.fixture
def store(tmp_path: Path, migrated_db: Path) -> Iterator[Store]:
    """A migrated state store on SQLite in the test's directory, with the admin account."""
    db = tmp_path / "state.db"
    shutil.copyfile(migrated_db, db)
    with Store.open(f"sqlite:///{db}", STORE_KEY) as store:
        yield store


CLIENT_ID = "cid.apps.example"


def application(
    store: Store,
    folder: Path,
    rounds: RoundService | None = None,
    google: FakeGoogle | None = None,
    crm_users: tuple[str, ...] = tuple(CRM_USERS),
    **config: Any,
) -> Application:
    """Return the application layer over `store`: the real account and settings services on
    an embedded CRM (in `folder`) holding `crm_users`, with fake rounds and
    fake Google accounts unless given; `config` overrides settings (e.g. trusted_proxies)."""
    crm = LocalCrm(f"sqlite:///{folder / 'crm.db'}")
    for name in crm_users:
        if crm.get_user(name) is None:
            crm.create_user(name, email=f"{name}@example.com")
    backend = LocalBackend(crm)
    settings = AppSettings(
        store, Settings(data_dir=folder, google_client_id=CLIENT_ID, **config), backend
    )
    accounts = AccountService(store, backend, google or FakeGoogle(), settings, lock_wait=0.2)
    return Application(rounds or FakeRounds(store), accounts, settings, RoundMetrics(), store)


@pytest.fixture
def web(store: Store, tmp_path: Path) -> Iterator[WebEnv]:
    """The web app served on a free loopback port, with an admin and two CRM users."""
    service = FakeRounds(store)
    google = FakeGoogle()
    crm = FakeCrm(dict(CRM_USERS))
    announced: list[str] = []
    store.set_setting("google_client_secret", "s3cret", secret=True)
    app = create_app(
        application(store, tmp_path, service, google),
        crm_auth=crm,
        announce=announced.append,
    )
    with ServerThread(app) as server:
        yield WebEnv(server.url, store, service, google, crm, announced)


def snapshot(store: Store) -> dict[str, object]:
    """Return everything a web action could change, to assert that nothing did."""
    names = [u.name for u in store.list_users()]
    return {
        "settings": {i.key: (store.get_setting(i.key), i.secret) for i in store.settings_info()},
        "users": [(u.name, u.role, u.has_password) for u in store.list_users()],
        "links": {n: store.get_link(n) for n in names},
        "prefs": {n: store.get_prefs(n) for n in names},
    }
