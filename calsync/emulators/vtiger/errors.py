"""The error the emulator's operations raise: becomes vtiger's `success: false` envelope."""

from __future__ import annotations


class WsError(Exception):
    """A webservice error with vtiger's code and message (answered with HTTP 200)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


DENIED = "Permission to perform the operation is denied"
