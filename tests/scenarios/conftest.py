"""Fixtures: one Google emulator server per session (reset per test) and a World per test."""

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


@pytest.fixture(scope="session")
def vtiger_url() -> Iterator[str]:
    with ServerThread(vtiger_emulator()) as server:
        yield server.url


@pytest.fixture(params=["local", "vtiger"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> CrmDriver:
    """The CRM side: the embedded calendar, or vtiger through its webservice emulator."""
    if request.param == "local":
        return LocalDriver(tmp_path)
    url = request.getfixturevalue("vtiger_url")
    httpx.post(f"{url}/_emulator/reset")
    return VtigerDriver(url)


@pytest.fixture
def world(google_url: str, crm: CrmDriver, tmp_path: Path) -> World:
    httpx.post(f"{google_url}/_emulator/reset")
    return make_world(google_url, crm, tmp_path)
