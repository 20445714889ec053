"""Command line: `python -m calsync.emulators.vtiger --host H --port P [--db F] [flags]`.

Flags: `--php7` (`sync` works), `--utf8mb4` (characters outside the BMP survive).

Without flags the emulator answers as a stock vtiger 8.4 on PHP 8 (`--php8`, accepted).
"""

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
    php = parser.add_mutually_exclusive_group()
    php.add_argument(
        "--php8",
        dest="php7",
        action="store_false",
        help="vtiger on PHP 8, the default: `sync` answers HTTP 500 with an empty body",
    )
    php.add_argument(
        "--php7", dest="php7", action="store_true", help="vtiger on PHP 7: `sync` works"
    )
    parser.add_argument(
        "--utf8mb4",
        action="store_true",
        help="a utf8mb4 database: keep characters outside the BMP (default: stored as ??)",
    )
    parser.set_defaults(php7=False)  # store_false would default to True
    args = parser.parse_args(argv)
    app = create_app(args.db, php7=args.php7, utf8mb4=args.utf8mb4)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
