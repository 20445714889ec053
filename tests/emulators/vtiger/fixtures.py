"""Emulator fixtures shared by the vtiger emulator and side tests: one server per test module,
reset before each test, and three users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[VtigerEmulator]:
    with VtigerEmulator() as vt:
        yield vt


@pytest.fixture
def vt(server: VtigerEmulator) -> VtigerEmulator:
    server.control("reset")
    return server


@pytest.fixture
def alice(vt: VtigerEmulator) -> EmulatedUser:
    return vt.add_user("alice", time_zone="Europe/Rome")


@pytest.fixture
def bob(vt: VtigerEmulator) -> EmulatedUser:
    return vt.add_user("bob", time_zone="America/New_York")


@pytest.fixture
def admin(vt: VtigerEmulator) -> EmulatedUser:
    return vt.add_user("admin", is_admin=True)
