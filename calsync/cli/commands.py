"""The bodies of the `calsync` commands: build the application, call it, print the outcome.

`calsync.cli` parses the arguments and calls these; nothing is built at import time.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from calsync.config import load_settings
from calsync.errors import CalsyncError
from calsync.passwords import password_problem
from calsync.prefs import (
    Direction,
    HoursWindow,
    Prefs,
    PrefsError,
    PrivateMode,
    Winner,
    parse_enum,
)
from calsync.quota import Api
from calsync.service import Usage, UserReport
from calsync.state.records import UnknownUser
from calsync.wiring import build

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error; return the Exit to raise (nothing has been changed)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command body so that an error calsync raises on purpose (a setting it cannot
    use, an unreadable calsync.toml, a database that does not open, a CRM that does not
    answer) ends it with one line on stderr and exit status 2, not a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CalsyncError as e:
            raise fail(str(e)) from None

    return run


def summary_table(reports: list[UserReport]) -> Table:
    """Return the per-user, per-side summary of a round."""
    table = Table(title="calsync sync")
    for col in ("user", "status", "side", "created", "updated", "deleted", "conflicts"):
        table.add_column(col)
    table.add_column("skipped")
    table.add_column("errors")
    for rep in reports:
        for side in ("crm", "google"):
            c = rep.total(side)
            table.add_row(
                rep.user if side == "crm" else "",
                rep.status.value if side == "crm" else "",
                side,
                *(str(v) for v in (c.created, c.updated, c.deleted, c.conflicts, c.skipped)),
                str(c.errors),
            )
    return table


def _of(calls: int, limit: int | None) -> str:
    if limit is None:
        return f"{calls:,}"
    return f"{calls:,} / {limit:,} ({calls / limit:.0%})"


def usage_tables(report: Usage) -> list[Table]:
    """Return today's calls against the budgets, the calls per day, and today's users."""
    today = Table(title=f"Google API calls today ({report.today}, Pacific time)")
    for col in ("api", "project", "per user", "left today"):
        today.add_column(col, justify="right" if col != "api" else "left")
    for api in Api:
        limits = report.budgets.get(api)
        used = report.today_calls(api)
        project = limits.project if limits else None
        today.add_row(
            api.value,
            _of(used, project),
            f"{limits.user:,}" if limits and limits.user is not None else "-",
            f"{max(0, project - used):,}" if project is not None else "-",
        )
    today.caption = (
        f"Google bills Calendar API calls past {report.billing_threshold:,} a day:"
        f" {report.billing_left():,} to go today."
    )
    days = Table(title="calls per quota day")
    for col in ("day", "calendar", "tasks"):
        days.add_column(col, justify="left" if col == "day" else "right")
    for d in report.days:
        days.add_row(d.day.isoformat(), f"{d.calendar:,}", f"{d.tasks:,}")
    users = Table(title="calls per user today")
    for col in ("user", "calendar", "tasks"):
        users.add_column(col, justify="left" if col == "user" else "right")
    cal = report.budgets.get(Api.CALENDAR)
    tasks = report.budgets.get(Api.TASKS)
    for u in report.users:
        users.add_row(
            u.name,
            _of(u.calendar, cal.user if cal else None),
            _of(u.tasks, tasks.user if tasks else None),
        )
    return [today, days, users] if report.users else [today, days]


def show_usage(days: int, *, as_json: bool = False) -> None:
    """Print the Google API usage of the last `days` quota days: tables, or one JSON object."""
    try:
        app = build()
        report = app.application.usage.report(days)
    except CalsyncError as e:  # UsageRefused among them: a bad --days
        raise fail(str(e)) from None
    if as_json:
        # Plain print: rich would wrap and colour the JSON, and scripts read it.
        print(json.dumps(report.to_json(), indent=2))
        return
    for table in usage_tables(report):
        out.print(table)
    if not report.users:
        out.print("No user is linked to Google and no user made calls today.")


@reported
def run_sync(
    user: str | None,
    dry_run: bool = False,
    force: bool = False,
    pool_size: int | None = None,
    processes: int | None = None,
) -> int:
    """Run one round (one user or all); print progress and the summary; return the exit code.

    The round of every user runs in `processes` child processes (default: the setting) when
    there are more than one."""
    from calsync.jobs.processes import ProcessRounds

    app = build()
    if user is not None:
        try:
            app.service.known_user(user)
        except UnknownUser:
            raise fail(f"unknown user {user!r} (see `calsync users list`)") from None
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
    ) as bar:
        task = bar.add_task("syncing", total=None)

        def progress(message: str) -> None:
            bar.update(task, description=message)

        if user is not None:
            reports = [app.service.sync_user(user, dry_run=dry_run, force=force, progress=progress)]
        else:
            with ProcessRounds(app.settings, app.service, processes) as every:
                reports = every.sync_all(
                    dry_run=dry_run, force=force, progress=progress, pool_size=pool_size
                )
    out.print(summary_table(reports))
    for rep in reports:
        if rep.message:
            style = "green" if rep.status.success else "red"
            out.print(f"[{style}]{rep.user}: {rep.status.value}[/] {rep.message}", highlight=False)
        if dry_run:
            for r in rep.rounds:
                for line in r.planned:
                    out.print(f"  {rep.user} {r.kind.value}: {line}", highlight=False)
    if not reports:
        out.print("no linked users to sync")
    return 0 if all(r.status.success for r in reports) else 1


@reported
def list_users() -> None:
    """Print the CRM's users with their link, direction and last sync."""
    app = build()
    table = Table(title="users")
    for col in ("user", "zone", "google", "link", "direction", "last sync", "status"):
        table.add_column(col)
    for info in app.crm.users():
        rec = app.store.get_user(info.name)
        link = app.store.get_link(info.name)
        prefs = app.accounts.prefs(info.name) if rec else None
        table.add_row(
            info.name,
            info.time_zone,
            link.google_email if link else "-",
            link.status.value if link else "not linked",
            prefs.direction.value if prefs else "-",
            f"{rec.last_sync_at:%Y-%m-%d %H:%M}" if rec and rec.last_sync_at else "never",
            (rec.last_sync_status or "-") if rec else "-",
        )
    out.print(table)


@reported
def link_user(name: str, refresh_token: str, email: str | None) -> None:
    """Link `name` to a Google account with a refresh token obtained elsewhere."""
    app = build()
    if not refresh_token.strip():
        raise fail("the refresh token is empty")
    try:
        app.service.known_user(name)
    except UnknownUser:
        raise fail(f"unknown user {name!r} (see `calsync users list`)") from None
    app.accounts.link_token(name, refresh_token, email or "")
    out.print(f"linked {name} to Google{f' account {email}' if email else ''}")


@reported
def set_prefs(name: str, **given: object) -> None:
    """Validate every given preference first, then store them all (or nothing)."""
    app = build()
    try:
        app.service.known_user(name)
    except UnknownUser:
        raise fail(f"unknown user {name!r} (see `calsync users list`)") from None
    try:
        prefs = app.store.get_prefs(name)
    except PrefsError as e:
        # Saved before today's limits: the options given now start again from the defaults.
        err.print(f"[yellow]warning:[/] stored preferences of {name} unusable ({e}); starting over")
        prefs = Prefs()
    changes: dict[str, object] = {}
    try:
        if given["direction"] is not None:
            changes["direction"] = parse_enum(Direction, str(given["direction"]), "direction")
        if given["conflict"] is not None:
            changes["winner"] = parse_enum(Winner, str(given["conflict"]), "conflict winner")
        if given["hours"] is not None:
            changes["hours"] = HoursWindow.parse(str(given["hours"]))
        if given["private"] is not None:
            changes["private"] = parse_enum(PrivateMode, str(given["private"]), "private mode")
        calendars = given["calendars"]
        if isinstance(calendars, list) and calendars:
            changes["calendars"] = tuple(calendars)
        if given["tasklist"] is not None:
            changes["tasklist"] = str(given["tasklist"]) or None
        for field in ("days_past", "days_future", "edit_beats_delete"):
            if given[field] is not None:
                changes[field] = given[field]
        new = prefs.with_(**changes)
        if changes:
            app.store.set_prefs(name, new)
    except PrefsError as e:
        raise fail(str(e)) from None
    table = Table(title=f"preferences of {name}", show_header=False)
    for key, value in new.to_dict().items():
        table.add_row(key, str(value))
    out.print(table)


@reported
def create_admin(name: str, password: str | None) -> None:
    """Create or reset the web admin account; print a one-time password when none is given."""
    from calsync.web.security import create_admin as make_admin

    if password is not None and (problem := password_problem(password)):
        raise fail(f"password refused: {problem}")
    app = build()
    try:
        chosen = make_admin(app.store, name, password)
    except ValueError as e:
        raise fail(str(e)) from None
    out.print(f"admin account {name!r} ready")
    if password is None:
        out.print(f"one-time password: [bold]{chosen}[/] (change it after signing in)")


@reported
def serve(host: str, port: int) -> None:
    """Serve the web UI with the in-process scheduler, or, with a broker, the beat that
    enqueues every user's round for the Celery workers; with CALSYNC_PUBLIC_URL, Google's
    push notifications queue the user's round on either."""
    from calsync.jobs import enqueue_user_sync
    from calsync.jobs.processes import ProcessRounds
    from calsync.jobs.scheduler import Scheduler
    from calsync.web.serve import serve_web

    app = build()
    settings = app.settings
    push = app.application.push
    if push is not None:
        push.use_queue(enqueue_user_sync)
    runner: Scheduler | Beat
    if settings.broker_url:
        from calsync.jobs.celery_app import Beat, CeleryQueue

        queue = CeleryQueue.for_settings(settings)
        runner = Beat(queue, app.store, settings.sync_interval, push=push)
    else:
        processes = ProcessRounds(settings, app.service) if settings.processes > 1 else None
        runner = Scheduler(app.service, settings.sync_interval, push=push, processes=processes)
    runner.start()
    try:
        serve_web(app.application, host, port)
    finally:
        runner.stop()


@reported
def run_worker(concurrency: int = 1, beat: bool = False) -> int:
    """Run a Celery worker on the configured broker; return its exit status."""
    from calsync.jobs.worker import check_worker_settings, run_worker

    # Checked before anything is built: a worker on SQLite must not even migrate it.
    settings = load_settings()
    check_worker_settings(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # One line per job is what an operator reads; every HTTP request would drown it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return run_worker(build(settings), concurrency=concurrency, beat=beat)
