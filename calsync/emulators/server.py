"""Run an ASGI app on a real loopback port in a background thread (tests, benchmarks, demo)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

KEEP_ALIVE_SECONDS = 610
"""How long an idle keep-alive connection stays open: Google's front ends keep one 610 s.
uvicorn's own default (5 s) closes it under clients that pool connections for longer; the
official client (httplib2) then writes its next request into a closed socket."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Serve `app` with uvicorn on `host:port` (a free port when 0) until stopped.

    Use as a context manager; `url` is the base URL without a trailing slash. Idle
    connections stay open `keep_alive` seconds (Google's front ends' 610 s by default).
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        keep_alive: int = KEEP_ALIVE_SECONDS,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any loopback
        # peer as the client's address; apps that care (the web UI) decide themselves.
        config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=keep_alive,
            proxy_headers=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Start serving and return once the port accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
