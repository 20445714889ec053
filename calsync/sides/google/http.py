"""One user's HTTP client for Google APIs: auth, quotaUser, budget, retries, error mapping.

Public API: `GoogleHttp(auth, user=..., base_url=..., budget=..., backoff=..., sleep=...)` with
`call()`, `json()`, `batch()`, `close()`; `api_of(path)`.

Every try is counted through the budget before it is sent, against the API its path is for
(`api_of`; a batch's parts count one call each, as Google counts them). 401 invalidates the
access token and retries once. Rate limits (403/429 `rateLimitExceeded`/
`userRateLimitExceeded`), 5xx, timeouts and connection errors are retried with capped
exponential backoff and full jitter, honouring `Retry-After`; then QuotaError / TransientError.
`quotaExceeded` and `dailyLimitExceeded` are not retried. Calls that are not idempotent are
retried only when Google surely did not apply them (connection refused, rate limited). Requests
are debug-logged without any token.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from calsync.errors import AdapterError, TransientError
from calsync.quota import Api, Backoff, CallBudget
from calsync.sides.google import endpoints
from calsync.sides.google.auth import TokenSource
from calsync.sides.google.batch import BatchCall, BatchReply, encode_batch, parse_batch
from calsync.sides.google.errors import GoogleError, parse_error

_LOGGER = logging.getLogger(__name__)

MAX_QUOTA_USER = 40

_TASKS_PREFIXES = ("/tasks/", "/batch/tasks")
"""Paths of the Tasks API (and its batch endpoint); every other path is the Calendar API's."""


def api_of(path: str) -> Api:
    """Return the Google API whose quota a call to `path` (relative to the base URL) spends."""
    return Api.TASKS if path.startswith(_TASKS_PREFIXES) else Api.CALENDAR


class GoogleHttp:
    """An httpx.Client bound to one user's Google account."""

    def __init__(
        self,
        auth: TokenSource,
        *,
        user: str,
        base_url: str = endpoints.API_URL,
        budget: CallBudget | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timeout: float = 30.0,
        quota_user: str | None = None,
        batch_size: int = 50,
        client: httpx.Client | None = None,
    ) -> None:
        self.auth = auth
        self.user = user
        self.base_url = base_url.rstrip("/")
        self.budget = budget
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.quota_user = (quota_user or user)[:MAX_QUOTA_USER]
        self.batch_size = batch_size
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout)
        self._path_prefix = urlsplit(self.base_url).path

    def close(self) -> None:
        """Close the connection pool (unless the client was handed in)."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> GoogleHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- single calls ---------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        idempotent: bool = True,
        cost: int = 1,
    ) -> httpx.Response:
        """Make one API call and return its 2xx response, or raise the mapped calsync error.

        `cost` is the number of calls the budget counts per try (a batch of n costs n).
        """
        query = {**(params or {}), "quotaUser": self.quota_user}
        url = self.base_url + path
        api = api_of(path)
        refreshed = False
        attempt = 0
        while True:
            if self.budget is not None:
                self.budget.spend(self.user, cost, api)
            _LOGGER.debug("request[%s]=%s %s %s", self.user, method, path, query)
            send_headers = {**(headers or {}), "Authorization": self._bearer()}
            try:
                resp = self._client.request(
                    method, url, params=query, json=json, content=content, headers=send_headers
                )
            except httpx.HTTPError as err:
                # Connection refused: nothing was sent, always safe to retry.
                safe = idempotent or isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
                failure = TransientError(f"{method} {path}: {type(err).__name__}")
                attempt = self._pause_or_raise(attempt, None, failure, retry=safe, cause=err)
                continue
            _LOGGER.debug("response[%s]=%s %s", self.user, resp.status_code, path)
            if resp.status_code < 400:
                return resp
            error = parse_error(resp.status_code, resp.content, resp.headers)
            if error.status == 401 and not refreshed:
                refreshed = True
                self.auth.invalidate()
                continue
            retry = error.retryable and (idempotent or error.rate_limited)
            attempt = self._pause_or_raise(attempt, error.retry_after, error.exception(), retry)

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Make one API call and return its JSON object ({} for an empty body)."""
        resp = self.call(method, path, **kwargs)
        if not resp.content:
            return {}
        try:
            doc = resp.json()
        except ValueError as err:
            raise TransientError(f"{method} {path}: the reply is not JSON") from err
        return doc if isinstance(doc, dict) else {}

    def _bearer(self) -> str:
        return f"Bearer {self.auth.get_access_token()}"

    def _pause_or_raise(
        self,
        attempt: int,
        retry_after: float | None,
        failure: AdapterError,
        retry: bool,
        cause: BaseException | None = None,
    ) -> int:
        """Sleep before the next try and return its number, or raise `failure`."""
        delay = self.backoff.delay(attempt, retry_after, self.rng) if retry else None
        if delay is None:
            if attempt:
                _LOGGER.info("giving up after %d tries: %s", attempt + 1, failure)
            raise failure from cause
        _LOGGER.info("retrying in %.2fs after: %s", delay, failure)
        self.sleep(delay)
        return attempt + 1

    # -- batches --------------------------------------------------------------------------

    def batch(self, batch_path: str, calls: Sequence[BatchCall]) -> list[BatchReply]:
        """Run `calls` in batches of `batch_size` and return one reply per call, in order.

        Calls answered with a rate limit or 5xx are sent again (in a later batch, after a
        backoff pause) until the tries are spent; their final error is left in the reply.
        """
        replies: list[BatchReply | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        attempt = 0
        refreshed = False
        while pending:
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start : start + self.batch_size]
                got = self._send_batch(batch_path, [calls[i] for i in chunk])
                for i, reply in zip(chunk, got, strict=True):
                    replies[i] = reply
            errors = {i: e for i in pending if (e := _error(replies[i])) is not None}
            unauthorized = [i for i, e in errors.items() if e.status == 401]
            if unauthorized and not refreshed:
                refreshed = True
                self.auth.invalidate()
                pending = unauthorized
                continue
            again = [i for i, e in errors.items() if e.retryable]
            if not again:
                break
            retry_after = max((errors[i].retry_after or 0.0) for i in again) or None
            delay = self.backoff.delay(attempt, retry_after, self.rng)
            if delay is None:
                break
            self.sleep(delay)
            attempt += 1
            pending = again
        return [r or BatchReply(500, {}, GoogleError(500)) for r in replies]

    def _send_batch(self, batch_path: str, calls: list[BatchCall]) -> list[BatchReply]:
        stamped = [
            BatchCall(
                c.method, c.path, {**c.params, "quotaUser": self.quota_user}, c.body, c.headers
            )
            for c in calls
        ]
        content_type, body = encode_batch(stamped, self._path_prefix)
        resp = self.call(
            "POST",
            batch_path,
            headers={"Content-Type": content_type},
            content=body,
            idempotent=all(c.method == "GET" for c in calls),
            cost=len(calls),  # Google counts each call of a batch as one request
        )
        try:
            return parse_batch(resp.headers.get("content-type", ""), resp.content, len(calls))
        except ValueError as err:
            raise TransientError(f"batch reply unreadable: {err}") from err


def _error(reply: BatchReply | None) -> GoogleError | None:
    return reply.error if reply is not None else GoogleError(500)
