"""Command line entry: `python -m calsync.emulators.vtiger --host H --port P [--db F] [--php8]`."""

from __future__ import annotations

import argparse

import uvicorn

from calsync.emulators.vtiger.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve the emulator until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m calsync.emulators.vtiger")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    parser.add_argument(
        "--php8", action="store_true", help="behave like vtiger on PHP 8: `sync` answers HTTP 500"
    )
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.db, php8=args.php8), host=args.host, port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
