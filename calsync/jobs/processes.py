"""A round of every user shared by several processes on one machine (`CALSYNC_PROCESSES`).

The threads of one process use one core, and a quiet round is CPU-bound when Google answers
fast. `ProcessRounds` keeps `processes` child processes, started with "spawn" (the parent has
threads and open database pools, which a fork would copy in whatever state they were); each
builds the application once from the parent's settings and syncs the users it is handed with
`SyncService.sync_all(users=...)`, `pool_size` of them at once in its own threads. The users
go out in small chunks: each child has its share, the same from one round to the next (its
caches of Google connections and tokens stay warm), and helps with the others' once its own
is done, so a slow user holds up no one.
Rounds stay safe across processes as they are across threads: each user's lock (a `flock`
beside a SQLite database, an advisory lock on PostgreSQL) and lease hold across them.

A child that dies (killed, out of memory) fails only the users of the chunk it was running:
their reports say so; the users not handed out yet go to the other children, and the dead
child is replaced at the next round. Nothing is lost or done twice: each action's state is
committed right after the action, so the next round converges from wherever the killed one
stopped, and the kernel released the dead round's lock.

Progress cannot cross processes: `sync_all` reports it per finished chunk ("12/40 users").

Without Redis, the per-minute Google rate limits are counted in each process: each child keeps
to its part of the project's limit (`child_settings`).

Public API: `ProcessRounds(settings, service, processes=None)` with `sync_all(...)` (as
`SyncService.sync_all`), `pids()` and `close()` (also a context manager); `CHILD_DIED`;
`child_settings(settings, processes)`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from calsync.config import Settings
from calsync.engine.store import LogEntry
from calsync.service import SyncService, UserReport, UserStatus
from calsync.service.rounds import Progress
from calsync.wiring import build

_LOGGER = logging.getLogger(__name__)

START_METHOD = "spawn"
"""How children start: a fresh interpreter, never a fork of the parent's threads and pools."""
CHUNKS_PER_THREAD = 4
"""Users handed to a child at a time, per thread of its pool: enough to keep its threads busy
between two hand-outs, few enough that a dead child fails few users and the shares even out."""
CHILD_DIED = "the process syncing this user died"

_service: SyncService | None = None
"""The child's round service, built once by `_start_child`."""


def child_settings(settings: Settings, processes: int) -> Settings:
    """Return the settings each of `processes` children runs with.

    Without Redis the per-minute rate limits are counted in each process: each child then
    keeps to its part of the project's limit, so together they stay under it. (A user's round
    runs in one child, which keeps to the user's own limit.)
    """
    if processes <= 1 or settings.rate_redis_url() is not None:
        return settings
    project = max(1, settings.google_project_calls_per_minute // processes)
    return settings.model_copy(
        update={
            "google_project_calls_per_minute": project,
            "google_user_calls_per_minute": min(settings.google_user_calls_per_minute, project),
        }
    )


def _start_child(settings: Settings) -> None:
    """Build the child's application (the pool's initializer, once per child)."""
    global _service
    # Ctrl-C reaches every process of the terminal: the parent decides what stops, and a
    # chunk under way finishes as a thread of `sync_all` would.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _service = build(settings).service


def _sync_chunk(
    users: list[str], dry_run: bool, force: bool, pool_size: int | None
) -> list[UserReport]:
    """Run the rounds of `users` in this child and return their reports in their order."""
    assert _service is not None, "the child's initializer did not run"
    return _service.sync_all(users=users, dry_run=dry_run, force=force, pool_size=pool_size)


class _Child:
    """One child process, in a pool of its own: `concurrent.futures` stops every worker of a
    pool once one of them dies, and one pool per child keeps a death to that child's chunk."""

    def __init__(self, settings: Settings) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context(START_METHOD),
            initializer=_start_child,
            initargs=(settings,),
        )
        self.dead = False
        self._pid: int | None = None

    def submit(
        self, users: list[str], dry_run: bool, force: bool, pool_size: int | None
    ) -> Future[list[UserReport]]:
        return self._pool.submit(_sync_chunk, users, dry_run, force, pool_size)

    def pid(self) -> int:
        """Return the child's process id, starting it (and building its app) if need be."""
        if self._pid is None:
            self._pid = self._pool.submit(os.getpid).result()
        return self._pid

    def close(self) -> None:
        # A chunk under way finishes; the child then exits.
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessRounds:
    """Runs the round of every linked user in `processes` child processes (default: the
    setting), kept alive from one round to the next; close it to stop them."""

    def __init__(
        self, settings: Settings, service: SyncService, processes: int | None = None
    ) -> None:
        count = settings.processes if processes is None else processes
        if count < 1:
            raise ValueError("processes must be at least 1")
        self.settings = child_settings(settings, count)
        """What the children run with (`child_settings`)."""
        self.service = service
        """The parent's service: it lists the users, and syncs them itself with 1 process."""
        self.processes = count
        self._children: list[_Child] = []

    def __enter__(self) -> ProcessRounds:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the children (after the chunks they are running)."""
        children, self._children = self._children, []
        for child in children:
            child.close()

    def pids(self) -> list[int]:
        """Return the children's process ids, starting the children if need be."""
        return [child.pid() for child in self._alive()]

    def _alive(self) -> list[_Child]:
        """Return `processes` children, a dead one replaced in its place (its share too)."""
        for i, child in enumerate(self._children):
            if child.dead:
                child.close()
                self._children[i] = _Child(self.settings)
        while len(self._children) < self.processes:
            self._children.append(_Child(self.settings))
        return list(self._children)

    def sync_all(
        self,
        *,
        dry_run: bool = False,
        force: bool = False,
        progress: Progress | None = None,
        pool_size: int | None = None,
    ) -> list[UserReport]:
        """Run a round for every linked user and return their reports in the users' order,
        as `SyncService.sync_all` does; each child syncs `pool_size` users at once (default:
        the setting). With 1 process, or a store only this process can open (in-memory
        SQLite), the service syncs them in this process."""
        if pool_size is not None and pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        in_memory = not self.service.store.parallel_safe
        if self.processes > 1 and in_memory:
            _LOGGER.info("the state store is in memory: syncing every user in this process")
        if self.processes <= 1 or in_memory:
            return self.service.sync_all(
                dry_run=dry_run, force=force, progress=progress, pool_size=pool_size
            )
        names = self.service.store.linked_users(status=None)
        threads = self.service.pool_size if pool_size is None else pool_size
        size = max(1, min(threads * CHUNKS_PER_THREAD, -(-len(names) // self.processes)))
        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        children = self._alive()
        # Each child has its share (every n-th chunk, the same from round to round while the
        # users stay, so it finds their Google connections and tokens cached) and takes from
        # the longest other share once its own is done.
        shares = [deque(chunks[i :: len(children)]) for i in range(len(children))]
        reports: dict[str, UserReport] = {}
        running: dict[Future[list[UserReport]], tuple[int, list[str]]] = {}

        def hand_out(i: int) -> None:
            """Give child `i` its next chunk, unless none is left or the child is dead."""
            child = children[i]
            longest = max(shares, key=len)
            if child.dead or not longest:
                return
            own = shares[i]
            chunk = own.popleft() if own else longest.pop()
            try:
                running[child.submit(chunk, dry_run, force, pool_size)] = (i, chunk)
            except BrokenProcessPool:
                # It died between two chunks: this one goes to another child.
                child.dead = True
                own.appendleft(chunk)

        for i in range(len(children)):
            hand_out(i)
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    i, chunk = running.pop(future)
                    for report in self._reports(future, children[i], chunk):
                        reports[report.user] = report
                    hand_out(i)
                if progress is not None:
                    progress(f"{len(reports)}/{len(names)} users synced")
        finally:
            # Interrupted (Ctrl-C): chunks under way finish, the waiting ones never start.
            for future in running:
                future.cancel()
        # Users still waiting here saw every child die: they fail this round, and the next
        # one has new children.
        for share in shares:
            for chunk in share:
                for name in chunk:
                    reports[name] = self._died(name, "no sync process was left for this round")
        return [reports[name] for name in names]

    def _reports(
        self, future: Future[list[UserReport]], child: _Child, chunk: Sequence[str]
    ) -> list[UserReport]:
        """Return the reports of a finished chunk, or its users' failure."""
        try:
            return future.result()
        except BrokenProcessPool as err:
            child.dead = True
            _LOGGER.error("a sync process died during the rounds of %s: %s", chunk, err)
            return [self._died(name, CHILD_DIED) for name in chunk]
        except Exception as err:
            # Raised around the rounds (each round's own failure is already its report).
            _LOGGER.error("a sync process failed the rounds of %s: %r", chunk, err)
            return [self._died(name, f"internal error: {err!r}") for name in chunk]

    def _died(self, name: str, message: str) -> UserReport:
        """Return the failed report of `name`, with a line in the user's sync log."""
        store = self.service.store
        try:
            store.add_log(
                LogEntry(name, self.service.now(), "failed", message=message, level="error")
            )
            store.commit()
        except Exception:
            _LOGGER.exception("could not record the failed round of %s", name)
        return UserReport(name, UserStatus.FAILED, message)
