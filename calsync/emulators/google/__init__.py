"""Google Calendar v3 + Tasks v1 + OAuth2 emulator: `create_app()` and `python -m` entry point."""

from __future__ import annotations

from calsync.emulators.google.app import build_emulator, create_app
from calsync.emulators.google.config import EmulatorConfig

__all__ = ["EmulatorConfig", "build_emulator", "create_app"]
