"""`calsync demo`: everything on embedded defaults, for a first run.

Starts the Google emulator with two accounts, the embedded CRM with two sample users and
their events, the scheduler, and the web UI; prints what to open and how to sign in.
The demo uses its own data dir only: `CALSYNC_*` variables and `calsync.toml` are ignored,
so a demo started beside a real installation can never read or change it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from calsync.config import configured_names, isolated_settings
from calsync.emulators.google.app import create_app as google_emulator
from calsync.emulators.server import ServerThread
from calsync.files import private_dir
from calsync.jobs.scheduler import Scheduler
from calsync.sides.local.crm import LocalCrm
from calsync.sides.local.demo import seed_demo
from calsync.wiring import App, build

out = Console()

DEMO_CLIENT_ID = "calsync-demo.apps.example.com"
DEMO_CLIENT_SECRET = "calsync-demo-secret"
DEMO_ACCOUNTS = ("alice@example.com", "bob@example.com")


def demo_app(data_dir: Path, emulator_url: str) -> App:
    """Return the demo's application on fresh data in `data_dir`, with the emulator as Google.

    Built from the demo's own values only: a `CALSYNC_DATABASE_URL` or `CALSYNC_SECRET_KEY`
    meant for a real installation must not lead the demo (and its scheduler, whose rounds
    would mark real links "needs reconnecting") into that installation's database.
    """
    ignored = configured_names()
    if ignored:
        out.print(
            f"[yellow]demo:[/] ignoring {', '.join(ignored)}: the demo uses only {data_dir}",
            highlight=False,
        )
    # The emulator keeps its state in memory, so the demo's databases start fresh with it.
    shutil.rmtree(data_dir, ignore_errors=True)
    private_dir(data_dir)
    settings = isolated_settings(
        data_dir=data_dir,
        crm="local",
        google_api_url=emulator_url,
        google_auth_url=f"{emulator_url}/o/oauth2/auth",
        google_token_url=f"{emulator_url}/token",
        google_client_id=DEMO_CLIENT_ID,
        google_client_secret=DEMO_CLIENT_SECRET,
    )
    seed_demo(LocalCrm(settings.local_crm_url))
    return build(settings)


def run_demo(
    host: str, port: int, data_dir: Path = Path("data/demo"), interval: float = 60
) -> None:
    """Run the demo until interrupted (Ctrl-C). Each run starts from fresh demo data."""
    emulator = ServerThread(google_emulator(), host="127.0.0.1").start()
    accounts = [
        httpx.post(f"{emulator.url}/_emulator/accounts", json={"email": e}).json()
        for e in DEMO_ACCOUNTS
    ]
    app = demo_app(data_dir, emulator.url)
    scheduler = Scheduler(app.service, interval=interval).start()

    table = Table(title="calsync demo", show_header=False)
    table.add_row("web UI", f"http://{host}:{port}/")
    table.add_row("CRM users", "alice / alice (admin of the CRM), bob / bob")
    table.add_row("Google emulator", emulator.url)
    table.add_row("Google accounts", ", ".join(a["email"] for a in accounts))
    table.add_row("scheduler", f"every {interval:.0f} s; or press 'Sync now' on your page")
    out.print(table)
    for acc in accounts:
        # Printed whole (not in the table, which would cut them) for `calsync users link`.
        out.print(f"{acc['email']} refresh token: {acc['refresh_token']}", soft_wrap=True)
        out.print(f"{acc['email']} access token: {acc['access_token']}", soft_wrap=True)
    out.print(
        "Sign in as alice, press 'Connect Google account', choose alice@example.com on the "
        "emulator's consent page, then 'Sync now'."
    )
    try:
        from calsync.web.serve import public_base_url, serve_web

        # The demo's own address, whatever CALSYNC_PUBLIC_URL a production setup beside it has.
        serve_web(app.application, host, port, public_url=public_base_url("", host, port))
    finally:
        scheduler.stop()
        emulator.stop()
