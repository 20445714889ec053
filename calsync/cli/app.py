"""The `calsync` command: demo, serve, sync, users, usage, worker.

Commands only wire settings, the state store and the CRM, then call the service layer.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    help="Keep a CRM calendar and Google Calendar/Tasks in sync.", no_args_is_help=True
)
users_app = typer.Typer(help="CRM users known to calsync: list, link, preferences.")
app.add_typer(users_app, name="users")

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error and exit with `code`; nothing has been changed."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to serve the web UI on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 8080,
) -> None:
    """Run everything on embedded defaults: Google emulator, embedded CRM, web UI, scheduler."""
    from calsync.demo import run_demo

    run_demo(host, port)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8080,
) -> None:
    """Serve the web UI and run the scheduler as configured."""
    from calsync.cli.commands import serve as run_serve

    run_serve(host, port)


@app.command()
def sync(
    user: Annotated[str | None, typer.Option("--user", help="Sync this CRM user only.")] = None,
    all_users: Annotated[bool, typer.Option("--all", help="Sync every linked user.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan, write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply a round the mass-delete guard blocked.")
    ] = False,
    pool_size: Annotated[
        int | None,
        typer.Option(
            "--pool-size",
            min=1,
            help="With --all: users synced at once (default CALSYNC_POOL_SIZE; 1: in turn).",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            max=64,
            help="With --all: processes sharing the users, each with its own pool "
            "(default CALSYNC_PROCESSES; 1: this process only).",
        ),
    ] = None,
) -> None:
    """Run one sync round now; exit status 0 only when every user synced."""
    from calsync.cli.commands import run_sync

    if bool(user) == all_users:
        fail("give either --user NAME or --all")
    if pool_size is not None and not all_users:
        fail("--pool-size goes with --all")
    if processes is not None and not all_users:
        fail("--processes goes with --all")
    code = run_sync(
        user=user, dry_run=dry_run, force=force, pool_size=pool_size, processes=processes
    )
    raise typer.Exit(code)


@users_app.command("list")
def users_list() -> None:
    """List CRM users with their Google link, preferences and last sync."""
    from calsync.cli.commands import list_users

    list_users()


@users_app.command("link")
def users_link(
    name: Annotated[str, typer.Argument(help="CRM user name.")],
    refresh_token: Annotated[
        str, typer.Option("--refresh-token", help="A Google refresh token obtained elsewhere.")
    ],
    email: Annotated[str | None, typer.Option(help="The Google account's email.")] = None,
) -> None:
    """Link a CRM user to a Google account with a refresh token obtained elsewhere."""
    from calsync.cli.commands import link_user

    link_user(name, refresh_token, email)


@users_app.command("prefs")
def users_prefs(
    name: Annotated[str, typer.Argument(help="CRM user name.")],
    direction: Annotated[
        str | None, typer.Option("--direction", help="both | to-google | to-crm")
    ] = None,
    conflict: Annotated[
        str | None, typer.Option("--conflict", help="Who wins a conflict: crm | google | latest")
    ] = None,
    hours: Annotated[
        str | None, typer.Option("--hours", help="Hours of the day to sync, HH:MM-HH:MM")
    ] = None,
    private: Annotated[
        str | None,
        typer.Option("--private", help="Private events: all | to-google | to-crm | none | busy"),
    ] = None,
    calendar: Annotated[
        list[str] | None, typer.Option("--calendar", help="Google calendar id (repeatable).")
    ] = None,
    tasklist: Annotated[
        str | None, typer.Option("--tasklist", help="Google task list for to-dos ('' = off).")
    ] = None,
    days_past: Annotated[int | None, typer.Option(help="Days back to sync.")] = None,
    days_future: Annotated[int | None, typer.Option(help="Days ahead to sync.")] = None,
    edit_beats_delete: Annotated[
        bool | None,
        typer.Option(
            "--edit-beats-delete/--delete-beats-edit", help="Who wins an edit against a deletion."
        ),
    ] = None,
) -> None:
    """Show or change a user's sync preferences (no option: show them)."""
    from calsync.cli.commands import set_prefs

    set_prefs(
        name,
        direction=direction,
        conflict=conflict,
        hours=hours,
        private=private,
        calendars=calendar,
        tasklist=tasklist,
        days_past=days_past,
        days_future=days_future,
        edit_beats_delete=edit_beats_delete,
    )


@users_app.command("create-admin")
def users_create_admin(
    name: Annotated[str, typer.Argument(help="Admin user name.")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="Password (a one-time one is printed when omitted).")
    ] = None,
) -> None:
    """Create (or reset) the web admin account."""
    from calsync.cli.commands import create_admin

    create_admin(name, password)


@app.command()
def usage(
    # Parsed here, not by Typer: a wrong value gets calsync's one-line error, not a usage box.
    days: Annotated[
        str,
        typer.Option("--days", metavar="N", help="Quota days to show, today included (1 to 366)."),
    ] = "7",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Show Google API calls per quota day, per API and per user, against the budgets."""
    from calsync.cli.commands import show_usage

    if not days.strip().isdecimal():
        fail(f"--days must be a whole number of days from 1 to 366, not {days!r}")
    show_usage(int(days), as_json=as_json)


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Rounds this worker runs at once (in threads).")
    ] = 1,
    beat: Annotated[
        bool,
        typer.Option("--beat", help="Also enqueue every linked user's round at each interval."),
    ] = False,
) -> None:
    """Run a Celery worker (needs CALSYNC_BROKER_URL and a PostgreSQL state store)."""
    from calsync.cli.commands import run_worker

    raise typer.Exit(run_worker(concurrency=concurrency, beat=beat))


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
