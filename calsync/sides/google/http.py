"""One user's HTTP client for Google APIs: auth, quotaUser, budget, retries, error mapping.

Public API: `GoogleHttp(auth, user=..., base_url=..., budget=..., backoff=..., sleep=...,
batch_size=...)` with `call()`, `json()`, `batch()`, `close()`; `api_of(path)`,
`check_batch_size(n)`.

Every try is counted through the budget before it is sent, against the API its path is for
(`api_of`; a batch's parts count one call each, as Google counts them). 401 invalidates the
access token and retries once. Rate limits (403/429 `rateLimitExceeded`/
`userRateLimitExceeded`), 5xx, timeouts and connection errors are retried by the one retry
policy (`Backoff.call`: capped exponential backoff, full jitter, `Retry-After` honoured); then
QuotaError / TransientError.
`quotaExceeded` and `dailyLimitExceeded` are not retried. Calls that are not idempotent are
retried only when Google surely did not apply them (connection refused, rate limited). Requests
are debug-logged without any token.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from calsync.errors import BudgetSpent, ConfigError, QuotaError, TransientError
from calsync.quota import Api, Backoff, CallBudget, retryable
from calsync.sides.google import endpoints
from calsync.sides.google.auth import TokenSource
from calsync.sides.google.batch import BatchCall, BatchReply, encode_batch, parse_batch
from calsync.sides.google.errors import GoogleError, parse_error

_LOGGER = logging.getLogger(__name__)

MAX_QUOTA_USER = 40
DEFAULT_BATCH_SIZE = 50
MAX_BATCH_SIZE = 1000
"""Google answers a batch of more calls with 400."""

_TASKS_PREFIXES = ("/tasks/", "/batch/tasks")
"""Paths of the Tasks API (and its batch endpoint); every other path is the Calendar API's."""


def check_batch_size(size: int) -> int:
    """Return `size` when a batch request may carry that many calls; ConfigError if not."""
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise ConfigError(
            f"the Google batch size must be between 1 and {MAX_BATCH_SIZE} calls, not {size}"
        )
    return size


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
        batch_size: int = DEFAULT_BATCH_SIZE,
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
        self.batch_size = check_batch_size(batch_size)
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

        def once() -> httpx.Response:
            # A 401 invalidates the access token and sends again at once, once per call.
            nonlocal refreshed
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
                    raise TransientError(f"{method} {path}: {type(err).__name__}") from err
                _LOGGER.debug("response[%s]=%s %s", self.user, resp.status_code, path)
                if resp.status_code < 400:
                    return resp
                error = parse_error(resp.status_code, resp.content, resp.headers)
                if error.status == 401 and not refreshed:
                    refreshed = True
                    self.auth.invalidate()
                    continue
                raise error.exception()

        def may_resend(err: BaseException) -> bool:
            # A call that is not idempotent goes again only when Google surely did not apply
            # it: rate limited, or the connection was refused (nothing was sent).
            return retryable(err) and (
                idempotent
                or isinstance(err, QuotaError)
                or isinstance(err.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
            )

        return self.backoff.call(once, retry_if=may_resend, sleep=self.sleep, rng=self.rng)

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

    # -- batches --------------------------------------------------------------------------

    def batch(self, batch_path: str, calls: Sequence[BatchCall]) -> list[BatchReply]:
        """Run `calls` in batches of `batch_size` and return one reply per call, in order.

        Calls answered with a rate limit or 5xx are sent again (in a later batch, after a
        backoff pause, alone with the others that failed) until the tries are spent; their
        final error is left in the reply. A call that is not idempotent is sent again only
        after a rate limit (Google did not apply it).
        """
        replies: list[BatchReply | None] = [None] * len(calls)
        pending = list(range(len(calls)))
        refreshed = False

        def send_pending() -> None:
            nonlocal pending, refreshed
            while True:
                for start in range(0, len(pending), self.batch_size):
                    chunk = pending[start : start + self.batch_size]
                    got = self._send_fitting(batch_path, [calls[i] for i in chunk])
                    for i, reply in zip(chunk, got, strict=True):
                        replies[i] = reply
                errors = {i: e for i in pending if (e := _error(replies[i])) is not None}
                unauthorized = [i for i, e in errors.items() if e.status == 401]
                if unauthorized and not refreshed:
                    # A 401 invalidates the access token and sends those calls again at once.
                    refreshed = True
                    self.auth.invalidate()
                    pending = unauthorized
                    continue
                # A part that may have been applied is sent again only when that is safe.
                pending = [
                    i
                    for i, e in errors.items()
                    if e.retryable and (calls[i].idempotent or e.rate_limited)
                ]
                if pending:
                    again = _PartsToRetry(f"{len(pending)} calls of a batch to send again")
                    again.retry_after = max((errors[i].retry_after or 0.0) for i in pending) or None
                    raise again
                return

        # When the tries are spent, the calls keep their last error. A failure of the whole
        # batch request was retried by `call` already and is raised as it is.
        with contextlib.suppress(_PartsToRetry):
            self.backoff.call(
                send_pending,
                retry_if=lambda err: isinstance(err, _PartsToRetry),
                sleep=self.sleep,
                rng=self.rng,
            )
        return [r or BatchReply(500, {}, GoogleError(500)) for r in replies]

    def _send_fitting(self, batch_path: str, calls: list[BatchCall]) -> list[BatchReply]:
        """Send `calls` in as few batches as the call budget lets through.

        A batch the budget refuses is halved until a part of it fits (a refusal costs no
        call); what never fits is answered `refused`, unsent, so a round stops at its budget
        having made every call the budget allowed.
        """
        size = len(calls)
        while True:
            try:
                head = self._send_batch(batch_path, calls[:size])
            except BudgetSpent as err:
                if size == 1:
                    return [BatchReply(0, {}, refused=err) for _ in calls]
                size = (size + 1) // 2
                continue
            if size == len(calls):
                return head
            return head + self._send_fitting(batch_path, calls[size:])

    def _send_batch(self, batch_path: str, calls: list[BatchCall]) -> list[BatchReply]:
        stamped = [
            BatchCall(
                c.method,
                c.path,
                {**c.params, "quotaUser": self.quota_user},
                c.body,
                c.headers,
                c.idempotent,
            )
            for c in calls
        ]
        content_type, body = encode_batch(stamped, self._path_prefix)
        resp = self.call(
            "POST",
            batch_path,
            headers={"Content-Type": content_type},
            content=body,
            # Sent again after a lost reply only when every part may go twice.
            idempotent=all(c.idempotent for c in calls),
            cost=len(calls),  # Google counts each call of a batch as one request
        )
        try:
            return parse_batch(resp.headers.get("content-type", ""), resp.content, len(calls))
        except ValueError as err:
            raise TransientError(f"batch reply unreadable: {err}") from err


class _PartsToRetry(TransientError):
    """Some calls of a batch were answered with a rate limit or 5xx and go in a later batch."""


def _error(reply: BatchReply | None) -> GoogleError | None:
    return reply.error if reply is not None else GoogleError(500)
