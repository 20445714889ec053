"""What one process's Google adapters share: one HTTP client and each user's access token.

Public API: `GoogleConnections(timeout=..., max_connections=..., max_tokens=...)` with
`client()`, `token_source(refresh_token, client_id, client_secret, token_url)`, `close()`.

A quiet round makes a handful of calls; building an httpx client for it (an SSL context, the CA
bundle) and refreshing the access token each time cost more than the calls themselves. So the
process keeps one client, whose pool keeps connections to Google open between rounds, and one
token source per grant, which refreshes only when its token is about to expire (google-auth
counts a token expired 3 min 45 s early) or after Google answered 401. Token refreshes go
through the same client. Safe to use from the scheduler's worker threads: httpx clients may be
shared between threads, and each token source refreshes under its own lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import httpx

from calsync.sides.google.auth import HttpxRequest, RefreshTokenAuth


class GoogleConnections:
    """The shared HTTP client and token sources of one process (build one per process)."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_connections: int = 100,
        max_tokens: int = 10_000,
    ) -> None:
        self._timeout = timeout
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._max_tokens = max_tokens
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._tokens: OrderedDict[tuple[str, str, str, str], RefreshTokenAuth] = OrderedDict()

    def client(self) -> httpx.Client:
        """Return the process's HTTP client, built on first use."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout, limits=self._limits)
            return self._client

    def token_source(
        self, refresh_token: str, client_id: str, client_secret: str, token_url: str
    ) -> RefreshTokenAuth:
        """Return the token source of this grant, the same one every round.

        Keyed by the OAuth client too: new client settings (the admin page) start afresh.
        The least recently used sources are dropped past `max_tokens` (a reconnected user's
        old grant is never asked for again).
        """
        key = (token_url, client_id, client_secret, refresh_token)
        client = self.client()
        with self._lock:
            auth = self._tokens.get(key)
            if auth is None:
                auth = RefreshTokenAuth(
                    refresh_token,
                    client_id,
                    client_secret,
                    token_url,
                    request=HttpxRequest(client),
                )
                self._tokens[key] = auth
                while len(self._tokens) > self._max_tokens:
                    self._tokens.popitem(last=False)
            else:
                self._tokens.move_to_end(key)
            return auth

    def close(self) -> None:
        """Close the client's connections and forget every token."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._tokens.clear()
