"""The simulator's single source of time.

Every state the simulator reports (task builds, run phases, which log lines exist) is
derived from one `Clock`, never from `time.time()` directly. Tests use `ManualClock` and
move it with `advance()` from the test thread; standalone and demo modes use
`ScaledClock`, real time multiplied by `--speed`.

Waiting: the server's handlers (SSE log streams) run on the server's event loop while
`advance()` may be called from any other thread. Each waiter registers an
`asyncio.Event` together with its loop; moving the clock sets every such event through
`loop.call_soon_threadsafe`, so a stream wakes at once instead of busy-polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time as _time
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1)
DEFAULT_START = datetime(2026, 3, 1, 12, 0, 0)


def to_epoch(moment: datetime) -> float:
    """Seconds since the epoch of a naive UTC datetime."""
    return (moment - EPOCH).total_seconds()


def from_epoch(seconds: float) -> datetime:
    """The naive UTC datetime of an epoch time."""
    return EPOCH + timedelta(seconds=seconds)


class Clock(ABC):
    """Base clock: subclasses implement `time()`; waiting and waking live here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._changes = 0

    @property
    def changes(self) -> int:
        """How many times the clock was moved by hand; read it before `time()`."""
        with self._lock:
            return self._changes

    @abstractmethod
    def time(self) -> float:
        """Current clock time in epoch seconds."""

    def now(self) -> datetime:
        """Current clock time as a naive UTC datetime."""
        return from_epoch(self.time())

    def real_seconds_until(self, clock_time: float) -> float | None:
        """Real seconds before the clock reaches `clock_time` on its own.

        None means "never by itself" (a frozen or manual clock only moves when told to).
        """
        return None

    @abstractmethod
    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` of clock time and wake waiters."""

    def _notify(self) -> None:
        """Wake every coroutine blocked in `wait_changed`, from any thread."""
        with self._lock:
            self._changes += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            # The loop may already be closed when the server is shutting down.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def wait_changed(self, timeout: float | None = None, *, since: int | None = None) -> bool:
        """Block until the clock is moved by hand or `timeout` real seconds pass.

        Returns True when woken by a clock change, False on timeout. A scaled clock
        moves continuously, so callers pass the real time until their next deadline
        (`real_seconds_until`) as the timeout. `since` is a `changes` value read before
        the caller looked at the time: if the clock moved after that, return at once.
        """
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        with self._lock:
            if since is not None and since != self._changes:
                return True
            self._waiters.add(entry)
        try:
            if timeout is None:
                await event.wait()
                return True
            try:
                await asyncio.wait_for(event.wait(), max(timeout, 0.0))
            except asyncio.TimeoutError:
                return False
            return True
        finally:
            with self._lock:
                self._waiters.discard(entry)


class ManualClock(Clock):
    """A clock that moves only when told to: `advance(seconds)` or `set(moment)`."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        super().__init__()
        self._now = to_epoch(start)

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
        self._notify()

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (naive UTC)."""
        with self._lock:
            self._now = to_epoch(moment)
        self._notify()


class ScaledClock(Clock):
    """Real time multiplied by `speed`, starting at `start` (default: the real now).

    `speed` 0 freezes the clock; `advance()` still moves it by hand.
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        super().__init__()
        if speed < 0:
            raise ValueError("clock speed must be >= 0")
        self.speed = speed
        origin = start if start is not None else datetime.now(timezone.utc).replace(tzinfo=None)
        self._origin = to_epoch(origin)
        self._real_origin = _time.monotonic()
        self._offset = 0.0

    def time(self) -> float:
        with self._lock:
            offset = self._offset
        return self._origin + (_time.monotonic() - self._real_origin) * self.speed + offset

    def real_seconds_until(self, clock_time: float) -> float | None:
        if self.speed <= 0:
            return None
        return max(0.0, (clock_time - self.time()) / self.speed)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
        self._notify()
