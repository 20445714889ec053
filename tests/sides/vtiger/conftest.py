"""Fixtures: one vtiger emulator per test module (reset per test), users and clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.emulators.vtiger.testing import EmulatedUser, VtigerEmulator
from calsync.sides.vtiger.client import VtigerClient
from tests.emulators.vtiger.fixtures import admin, alice, bob, server, vt


class Sleeps(list[float]):
    """Records the delays the client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(vt: VtigerEmulator, alice: EmulatedUser, sleeps: Sleeps) -> Iterator[VtigerClient]:
    c = VtigerClient(vt.url, alice.user_name, alice.access_key, sleep=sleeps)
    yield c
    c.logout()


__all__ = ["Sleeps", "admin", "alice", "bob", "server", "vt"]
