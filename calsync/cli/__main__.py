"""`python -m calsync.cli`: the `calsync` command, for where its script is not installed."""

from calsync.cli.app import app

app(prog_name="calsync")
