"""The per-user lock holds across processes and threads; quota counts survive concurrency."""

from __future__ import annotations

import multiprocessing as mp
import threading
from datetime import date
from multiprocessing.synchronize import Event as MpEvent

import pytest

from calsync.state import Store, UserBusy

KEY = "-3T2DkL6O2fSPiCDWo1E2TwOKLOk5Yjyo5KxC3KDZkA="
CTX = mp.get_context("fork")  # Linux only, like the flock it tests; far quicker than spawn


def _hold_lock(url: str, user: str, held: MpEvent, release: MpEvent) -> None:
    store = Store.open(url, KEY)
    try:
        with store.user_lock(user):
            held.set()
            release.wait(30)
    finally:
        store.close()


def _count_calls(url: str, n: int, day: date) -> None:
    store = Store.open(url, KEY)
    try:
        for _ in range(n):
            store.add_calls("alice", 1, day)
    finally:
        store.close()


def test_user_lock_is_exclusive_within_a_process(store: Store) -> None:
    with store.user_lock("alice") as info:
        assert info.owner and store.lock_holder("alice") is not None
        with pytest.raises(UserBusy, match="alice"), store.user_lock("alice"):
            pass
        # Another thread is refused too; another user is not.
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with store.user_lock("alice"):
                    pass
            except UserBusy as err:
                errors.append(err)

        th = threading.Thread(target=other)
        th.start()
        th.join()
        assert len(errors) == 1 and errors[0].holder == info.owner  # type: ignore[attr-defined]
        with store.user_lock("bob"):
            pass
    assert store.lock_holder("alice") is None
    with store.user_lock("alice"):
        pass


def test_user_lock_is_released_when_the_block_fails(store: Store) -> None:
    with pytest.raises(RuntimeError), store.user_lock("alice"):
        raise RuntimeError("sync failed")
    with store.user_lock("alice"):
        pass


def test_user_lock_holds_across_processes(store: Store, db_url: str) -> None:
    held, release = CTX.Event(), CTX.Event()
    proc = CTX.Process(target=_hold_lock, args=(db_url, "alice", held, release))
    proc.start()
    try:
        assert held.wait(30), "the other process never took the lock"
        with pytest.raises(UserBusy), store.user_lock("alice"):
            pass
        with store.user_lock("bob"):
            pass
        release.set()
        # Waiting takes the lock as soon as the other process lets go.
        with store.user_lock("alice", wait=20):
            pass
    finally:
        release.set()
        proc.join(30)
    assert proc.exitcode == 0


def test_lock_of_a_killed_process_is_released(store: Store, db_url: str) -> None:
    held, release = CTX.Event(), CTX.Event()
    proc = CTX.Process(target=_hold_lock, args=(db_url, "alice", held, release))
    proc.start()
    assert held.wait(30)
    proc.kill()
    proc.join(30)
    with store.user_lock("alice", wait=20):
        pass


def test_quota_counter_under_concurrent_processes(store: Store, db_url: str) -> None:
    day = date(2026, 4, 1)
    procs = [CTX.Process(target=_count_calls, args=(db_url, 20, day)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert store.calls_on(day, "alice") == 80
