"""Seconds from an edit on Google to the CRM: push notifications versus polling.

The whole path runs for real on loopback: the Google emulator (optionally with per-request
latency), calsync's web app receiving the notifications, the embedded scheduler running the
rounds, the embedded CRM. `--users` users are linked, each with `--events` events; each sample
edits one user's event on Google and waits until the CRM shows the new title.

- push: CALSYNC_PUBLIC_URL points at the web app, which opens one channel per user; the
  scheduler's poll interval is a day, so only notifications can bring the edit.
- poll: no public URL; the scheduler polls every `--poll-interval` seconds (a short interval
  keeps the run short; the expected wait for the default 900 s interval is about half of it
  plus one round, which the table prints beside the measured figure).

Usage: .venv/bin/python bench/push_latency.py [--users 20] [--events 5] [--samples 10]
       [--latency-ms 0] [--poll-interval 10] [--mode both|push|poll]
`measure_push_latency(...)` returns the samples of one mode (bench/scale.py imports it).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from calsync.config import isolated_settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.google.config import EmulatorConfig
from calsync.emulators.server import ServerThread, free_port
from calsync.jobs import enqueue_user_sync
from calsync.jobs.scheduler import Scheduler
from calsync.sides.local.crm import LocalCrm
from calsync.web.app import create_app
from calsync.wiring import build

DEFAULT_POLL = 900.0
"""The scheduler's default poll interval (`calsync serve`)."""


@dataclass
class Latency:
    """Seconds from a Google-side edit to the CRM, one per sample."""

    mode: str
    seconds: list[float] = field(default_factory=list)
    round_seconds: float = 0.0
    """How long one quiet round of every user took (added to polling's wait)."""

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds) if self.seconds else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def worst(self) -> float:
        return max(self.seconds) if self.seconds else float("nan")


@contextmanager
def _google(url: str | None, latency_ms: int) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with ServerThread(google_emulator(EmulatorConfig(latency_ms=latency_ms))) as server:
        yield server.url


def _wait(check: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def measure_push_latency(
    *,
    mode: str = "push",
    users: int = 20,
    events: int = 5,
    samples: int = 10,
    latency_ms: int = 0,
    poll_interval: float = 10.0,
    google_url: str | None = None,
    timeout: float = 120.0,
) -> Latency:
    """Return the seconds each of `samples` Google-side edits took to reach the CRM.

    `mode` is `push` (notifications, no polling) or `poll` (polling every `poll_interval`
    seconds, no notifications). A Google emulator is started unless `google_url` names one
    (it is then reset).
    """
    if mode not in ("push", "poll"):
        raise ValueError("mode must be push or poll")
    result = Latency(mode)
    with _google(google_url, latency_ms) as url, tempfile.TemporaryDirectory() as tmp:
        httpx.post(f"{url}/_emulator/reset")
        port = free_port()
        public = f"http://127.0.0.1:{port}" if mode == "push" else ""
        settings = isolated_settings(
            data_dir=Path(tmp),
            google_api_url=url,
            google_token_url=f"{url}/token",
            google_client_id="bench.apps.example",
            google_client_secret="bench",
            public_url=public,
        )
        app = build(settings)
        crm = LocalCrm(settings.local_crm_url)
        names = [f"user{u:03d}" for u in range(users)]
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        tokens: dict[str, str] = {}
        for name in names:
            crm.create_user(name, email=f"{name}@example.com")
            acct = httpx.post(
                f"{url}/_emulator/accounts", json={"email": f"{name}@example.com"}
            ).json()
            tokens[name] = acct["access_token"]
            for i in range(events):
                at = start + timedelta(hours=i)
                httpx.post(
                    f"{url}/calendar/v3/calendars/primary/events",
                    headers={"Authorization": f"Bearer {acct['access_token']}"},
                    json={
                        "summary": f"{name} event {i}",
                        "start": {"dateTime": at.isoformat()},
                        "end": {"dateTime": (at + timedelta(minutes=30)).isoformat()},
                    },
                )
            app.service.known_user(name)
            app.store.set_link(name, f"{name}@example.com", acct["refresh_token"])
        app.service.sync_all()  # the first round links every event
        t0 = time.perf_counter()
        app.service.sync_all()
        result.round_seconds = time.perf_counter() - t0

        push = app.application.push
        if push is not None and mode == "push":
            push.use_queue(enqueue_user_sync)
        web = ServerThread(
            create_app(app.application, public_url=public, bootstrap_admin=False), port=port
        ).start()
        scheduler = Scheduler(
            app.service,
            interval=poll_interval if mode == "poll" else 86400.0,
            push=push if mode == "push" else None,
        ).start()
        try:
            if mode == "push" and not _wait(
                lambda: len(app.store.channels()) >= users, timeout, 0.05
            ):
                raise RuntimeError("the channels were not opened")
            for k in range(samples):
                name = names[k % users]
                token = tokens[name]
                listed = httpx.get(
                    f"{url}/calendar/v3/calendars/primary/events",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()["items"]
                event = listed[0]
                title = f"{name} sample {k}"
                crm_id = next(
                    r.id for r in crm.list_events(name) if r.item.title == event["summary"]
                )
                if mode == "poll":
                    # Edits land at any moment of the interval, not just after a round.
                    time.sleep((k * 0.37 % 1.0) * poll_interval / 2)
                began = time.perf_counter()
                httpx.patch(
                    f"{url}/calendar/v3/calendars/primary/events/{event['id']}",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"summary": title},
                )

                def arrived(user: str = name, cid: str = crm_id, want: str = title) -> bool:
                    got = crm.get_event(user, cid)
                    return got is not None and got.item.title == want

                if not _wait(arrived, timeout):
                    raise RuntimeError(f"sample {k} did not reach the CRM within {timeout} s")
                result.seconds.append(time.perf_counter() - began)
        finally:
            scheduler.stop()
            web.stop()
            crm.close()
            app.service.connections.close()
            app.store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--mode", choices=("both", "push", "poll"), default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    modes = ["push", "poll"] if args.mode == "both" else [args.mode]
    results = [
        measure_push_latency(
            mode=m,
            users=args.users,
            events=args.events,
            samples=args.samples,
            latency_ms=args.latency_ms,
            poll_interval=args.poll_interval,
        )
        for m in modes
    ]
    table = Table(
        title=f"Google edit -> CRM: {args.users} users x {args.events} events, "
        f"{args.latency_ms} ms API latency, {args.samples} samples"
    )
    for col in ("mode", "mean s", "median s", "worst s", "quiet round of all users s"):
        table.add_column(col, justify="right")
    for r in results:
        label = r.mode if r.mode == "push" else f"poll every {args.poll_interval:g} s"
        table.add_row(
            label, f"{r.mean:.2f}", f"{r.median:.2f}", f"{r.worst:.2f}", f"{r.round_seconds:.2f}"
        )
    by = {r.mode: r for r in results}
    if "poll" in by:
        expected = DEFAULT_POLL / 2 + by["poll"].round_seconds
        table.add_row(f"poll every {DEFAULT_POLL:g} s (expected)", f"{expected:.0f}", "", "", "")
    console = Console()
    console.print(table)
    if "push" in by:
        verdict = "met" if by["push"].worst < 5 else "missed"
        console.print(f"push target (< 5 s, worst sample): {verdict}")
        if "poll" in by:
            console.print(
                f"push is {by['poll'].mean / by['push'].mean:.0f}x faster than polling every "
                f"{args.poll_interval:g} s, ~{(DEFAULT_POLL / 2) / by['push'].mean:.0f}x faster "
                f"than the default {DEFAULT_POLL:g} s interval"
            )


if __name__ == "__main__":
    main()
