"""The `calsync` command (placeholder until the CLI issue lands)."""

import typer

app = typer.Typer()
