"""Retry policy shared by RPCs, log streams and downloads: bounded, full jitter, Retry-After.

Which failures are retried depends on whether repeating the request is safe:

- READ RPCs have no side effect, so anything transient is retried: connect errors,
  timeouts, dropped connections, 429, 5xx and bodies that arrived truncated or malformed.
- WRITE RPCs (create, schedule, publish, create token) are retried only when the server
  cannot have acted on the request: the connection was never established (nothing was
  sent), or the server said so explicitly with 429 (rate limited before processing) or 503
  (not serving). A read timeout or a 500 after sending might mean the write happened, so
  it is reported instead of repeated — the user refreshes and decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal, TypeVar

from kbench_tui.api.errors import (
    ApiError,
    HostNotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnreachableError,
)

RpcKind = Literal["read", "write"]
T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
RetryCallback = Callable[[int, float, ApiError], None]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    Attempt `n` (0 for the first retry) waits `rng() * min(cap, base * 2**n)` seconds, or
    the server's `Retry-After` when it sent one. A `Retry-After` longer than
    `max_retry_after` is not waited for: the error is raised at once so the UI can say so.
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base < 0 or self.cap < 0:
            raise ValueError("base and cap must not be negative")

    def backoff(self, retry_index: int, rng: Callable[[], float]) -> float:
        """The jittered delay before retry number `retry_index` (0-based)."""
        return rng() * min(self.cap, self.base * (2**retry_index))


class RetryableFailure(Exception):
    """Internal: an attempt failed with `error`; `sent` says whether the request left us."""

    def __init__(self, error: ApiError, *, sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = now or datetime.now(timezone.utc)
        seconds = (when - current).total_seconds()
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity
        return None
    return max(0.0, seconds)


def should_retry(error: ApiError, kind: RpcKind, *, sent: bool) -> bool:
    """Whether repeating the request is useful and safe (see the module docstring)."""
    if isinstance(error, HostNotFoundError):
        return False  # the name does not exist: asking again gets the same answer
    if kind == "read":
        return (
            isinstance(error, (UnreachableError, RateLimitedError, ServerError, ProtocolError))
            or error.status == 408
        )
    if not sent:
        return True  # never reached the server: nothing can have happened
    return isinstance(error, RateLimitedError) or error.status == 503


def retry_delay(
    error: ApiError, policy: RetryPolicy, retry_index: int, rng: Callable[[], float]
) -> float | None:
    """The wait before the next attempt; None when the server asks for more than we wait."""
    retry_after = error.retry_after
    if retry_after is not None:
        return retry_after if retry_after <= policy.max_retry_after else None
    return policy.backoff(retry_index, rng)


async def run_with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    kind: RpcKind,
    policy: RetryPolicy,
    sleep: Sleep,
    rng: Callable[[], float],
    on_retry: RetryCallback | None = None,
) -> T:
    """Run `operation` until it succeeds, fails for good, or the attempts are used up.

    `operation` raises `RetryableFailure` for failures that may be retried (anything else
    propagates at once). The last failure's `ApiError` is raised when giving up.
    """
    for attempt in range(policy.max_attempts):
        try:
            return await operation()
        except RetryableFailure as failure:
            error = failure.error
            last = attempt == policy.max_attempts - 1
            if last or not should_retry(error, kind, sent=failure.sent):
                raise error from None
            delay = retry_delay(error, policy, attempt, rng)
            if delay is None:
                raise error from None
            if on_retry is not None:
                on_retry(attempt + 1, delay, error)
            await sleep(delay)
    raise AssertionError("unreachable: the loop either returns or raises")
