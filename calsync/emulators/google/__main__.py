"""`python -m calsync.emulators.google`: serve the Google Calendar/Tasks/OAuth2 emulator."""

from __future__ import annotations

import argparse

import uvicorn

from calsync.emulators.google.app import create_app
from calsync.emulators.google.config import EmulatorConfig
from calsync.emulators.server import KEEP_ALIVE_SECONDS


def main(argv: list[str] | None = None) -> None:
    """Parse the flags and serve until interrupted."""
    p = argparse.ArgumentParser(prog="python -m calsync.emulators.google", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--db", default=None, help="SQLite file keeping the state across restarts")
    p.add_argument("--token-ttl", type=int, default=3600, help="access-token lifetime, seconds")
    p.add_argument("--rate-limit-user", type=int, default=None, help="calls per user per minute")
    p.add_argument(
        "--rate-limit-project", type=int, default=None, help="calls per project per minute"
    )
    p.add_argument("--rate-limit-status", type=int, choices=(403, 429), default=403)
    p.add_argument("--batch-cap", type=int, default=1000, help="most calls in one batch")
    p.add_argument(
        "--sync-token-max-age",
        type=int,
        default=None,
        help="seconds before a sync token answers 410 (default: never)",
    )
    p.add_argument(
        "--lenient-sync-tokens",
        action="store_true",
        help="accept a syncToken with other singleEvents/showDeleted values",
    )
    p.add_argument("--no-scope-check", action="store_true", help="do not enforce OAuth scopes")
    p.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="milliseconds every API request waits before it is answered (control API: none)",
    )
    args = p.parse_args(argv)
    config = EmulatorConfig(
        access_token_ttl=args.token_ttl,
        rate_limit_per_user=args.rate_limit_user,
        rate_limit_per_project=args.rate_limit_project,
        rate_limit_status=args.rate_limit_status,
        batch_cap=args.batch_cap,
        sync_token_max_age=args.sync_token_max_age,
        lenient_sync_token_params=args.lenient_sync_tokens,
        enforce_scopes=not args.no_scope_check,
        latency_ms=args.latency_ms,
    )
    uvicorn.run(
        create_app(config, args.db),
        host=args.host,
        port=args.port,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
