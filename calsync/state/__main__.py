"""Developer commands for the state database: `python -m calsync.state upgrade|current|revision`."""

from __future__ import annotations

import argparse

from calsync.state.migrate import current_revision, make_engine, migrate, new_revision


def main(argv: list[str] | None = None) -> None:
    """Run a developer command: upgrade URL [REV], current URL, or revision MESSAGE."""
    parser = argparse.ArgumentParser(prog="python -m calsync.state")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade", help="upgrade a database")
    up.add_argument("url")
    up.add_argument("revision", nargs="?", default="head")
    cur = sub.add_parser("current", help="print a database's revision")
    cur.add_argument("url")
    rev = sub.add_parser("revision", help="autogenerate a new revision from tables.py")
    rev.add_argument("message")
    args = parser.parse_args(argv)
    if args.cmd == "upgrade":
        migrate(args.url, args.revision)
    elif args.cmd == "current":
        engine = make_engine(args.url)
        try:
            print(current_revision(engine) or "(none)")
        finally:
            engine.dispose()
    else:
        new_revision(args.message)


if __name__ == "__main__":
    main()
