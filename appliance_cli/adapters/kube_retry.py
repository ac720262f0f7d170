"""Retries of Kubernetes API calls on transient failures, bounded.

A plain loop, not tenacity: this runs on every call of every command (``appliance status``
included), and importing tenacity imports asyncio, about 15 ms of a command's start.

Transient: HTTP 429 (the server's ``Retry-After`` is honoured), 500/502/503/504, and a
connection that was refused, reset or dropped before the answer. Not transient: TLS and
name-resolution failures, and every 4xx but 429 — retrying cannot fix those.

A call is retried only where doing it twice is safe: reads, server-side apply and merge
patches (idempotent), deletes (``NotFound`` after a retry means the first attempt did it)
and creates (``AlreadyExists`` after a retry is success only when the object carries the
request id this client stamped on it; see ``KubeClient.create``). Watches, followed logs
and exec are never retried here: their callers decide.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

from appliance_cli.errors import KubeUnreachable

T = TypeVar("T")


class RetryClock(Protocol):
    """The time retries wait in (``appliance_cli.env.Clock`` is one)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. ``budget_seconds`` bounds the whole call, waits included."""

    attempts: int = 10
    initial_seconds: float = 0.2
    max_backoff_seconds: float = 4.0
    budget_seconds: float = 45.0
    retry_timeouts: bool = True  # a read that timed out is retried (the server may be hung)

    def backoff(self, attempt: int) -> float:
        """Exponential back-off after ``attempt`` failed attempts (1-based)."""
        return float(min(self.max_backoff_seconds, self.initial_seconds * 2 ** (attempt - 1)))


# Bootstrap, reset, upgrade, repair: ride through API outages of tens of seconds.
DEFAULT_RETRY = RetryPolicy()
# Status collection must show staleness within one refresh interval: a short try again
# on throttling or a dropped connection, never a wait on a hung server.
STATUS_RETRY = RetryPolicy(
    attempts=3, initial_seconds=0.1, max_backoff_seconds=0.5, budget_seconds=2.0, retry_timeouts=False
)
NO_RETRY = RetryPolicy(attempts=1, budget_seconds=0.0)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP-date); ``None`` when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        reason = getattr(cur, "reason", None)
        cur = reason if isinstance(reason, BaseException) else (cur.__cause__ or cur.__context__)


def transport_failure(exc: BaseException) -> tuple[bool, bool]:
    """``(transient, timed_out)`` for a socket/TLS/HTTP failure of one request."""
    chain = list(_chain(exc))
    if any(isinstance(e, ssl.SSLError | socket.gaierror) for e in chain):
        return False, False
    timed_out = any(isinstance(e, TimeoutError | socket.timeout) for e in chain)
    return True, timed_out


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, KubeUnreachable], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """``fn()`` until it returns, a non-transient error, or the policy's attempts or budget
    run out (the last error is raised). ``on_retry(attempt, error)`` runs before each retry.
    ``sleep`` and ``monotonic`` are the caller's time (the site's clock: a test's virtual
    clock lets an outage pass without waiting it out)."""
    deadline = monotonic() + policy.budget_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except KubeUnreachable as exc:
            if not exc.transient or (exc.timed_out and not policy.retry_timeouts):
                raise
            if attempt >= policy.attempts:
                raise
            pause = max(0.0, exc.retry_after) if exc.retry_after is not None else policy.backoff(attempt)
            if monotonic() + pause > deadline:
                raise  # the wait alone would overrun the call's budget
            if on_retry is not None:
                on_retry(attempt, exc)
            sleep(pause)
