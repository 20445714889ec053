"""The one object of a kind started in this process and not stopped yet (the scheduler, the
beat's queue), for the web app to hand requested rounds to.

Public API: `Running[T]()` with `get()`, `started(value)`, `stopped(value)`.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Running(Generic[T]):
    """Holds what was started last in this process, until it stops."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T | None:
        """Return the value started and not stopped, or None."""
        with self._lock:
            return self._value

    def started(self, value: T) -> None:
        with self._lock:
            self._value = value

    def stopped(self, value: T) -> None:
        """Forget `value`, unless something started since has taken its place."""
        with self._lock:
            if self._value is value:
                self._value = None
