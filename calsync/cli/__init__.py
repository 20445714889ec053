"""The `calsync` command: `app` parses arguments (`cli.app`), `cli.commands` holds the bodies."""

from calsync.cli.app import app

__all__ = ["app"]
