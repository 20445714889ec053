"""Fixtures: one Google emulator server per session (reset per test) and a World per test.

The CRM is the embedded calendar or vtiger. vtiger is its emulator in its default mode, a
stock vtiger 8.4 on PHP 8 (`sync` broken, emoji stored as `??`, reminders in seconds);
modules marked `vtiger_php7` also run against the kind mode (`--php7 --utf8mb4`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from calsync.emulators.google.app import create_app
from calsync.emulators.server import ServerThread
from calsync.emulators.vtiger.app import create_app as vtiger_emulator
from tests.scenarios.drivers import LocalDriver, VtigerDriver
from tests.scenarios.world import CrmDriver, World, make_world


@pytest.fixture(scope="session")
def google_url() -> Iterator[str]:
    with ServerThread(create_app()) as server:
        yield server.url


KIND_VTIGER = "vtiger-php7-utf8mb4"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "vtiger_php7: also run with vtiger on PHP 7 and a utf8mb4 database"
    )
    config.addinivalue_line("markers", "vtiger_only: run with vtiger as the CRM only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "crm" not in metafunc.fixturenames:
        return
    crms = (
        ["vtiger"] if metafunc.definition.get_closest_marker("vtiger_only") else ["local", "vtiger"]
    )
    if metafunc.definition.get_closest_marker("vtiger_php7"):
        crms.append(KIND_VTIGER)
    metafunc.parametrize("crm", crms, indirect=True)


@pytest.fixture(scope="session")
def vtiger_url() -> Iterator[str]:
    """A vtiger emulator answering as a stock vtiger 8.4 on PHP 8 does."""
    with ServerThread(vtiger_emulator()) as server:
        yield server.url


@pytest.fixture(scope="session")
def kind_vtiger_url() -> Iterator[str]:
    """A vtiger emulator on PHP 7 (`sync` works) with a utf8mb4 database (emoji kept)."""
    with ServerThread(vtiger_emulator(php7=True, utf8mb4=True)) as server:
        yield server.url


@pytest.fixture
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> CrmDriver:
    """The CRM side: the embedded calendar, or vtiger through its webservice emulator."""
    if request.param == "local":
        return LocalDriver(tmp_path)
    url = request.getfixturevalue(
        "kind_vtiger_url" if request.param == KIND_VTIGER else "vtiger_url"
    )
    httpx.post(f"{url}/_emulator/reset")
    return VtigerDriver(url)


@pytest.fixture
def world(google_url: str, crm: CrmDriver, tmp_path: Path) -> World:
    httpx.post(f"{google_url}/_emulator/reset")
    return make_world(google_url, crm, tmp_path)
