"""Fixtures: one vtiger emulator per test module (reset per test), users and clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from calsync.sides.vtiger.client import VtigerClient


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(vt: VtigerEmulator, alice: EmulatedUser, sleeps: Sleeps) -> Iterator[VtigerClient]:
    c = VtigerClient(vt.url, alice.user_name, alice.access_key, sleep=sleeps)
    yield c
    c.logout()
