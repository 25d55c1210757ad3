"""Whose download body is read now: one at a time while that keeps the machine busy.

Many runs' outputs are downloaded at once, and every request (the RPC, its redirect, the
storage GET) still goes out at once, so their latency is paid once; reading the bodies is
what takes turns. On a fast link the bottleneck is this machine (copying into the page
cache, then checking and extracting each archive): bodies read all together finish all
together, and all their extractions then run at the end, competing. Read one at a time,
the runs finish one after another and each extraction overlaps the next transfer (8 runs
of 20 MB over loopback, 50 ms latency: 0.62 -> 0.50 s, medians of 10 alternating runs).

On a slow or distant link one stream does not fill the machine: whenever the bodies being
read received less than `floor` bytes per second over the last `window` (a stalled or
throttled stream receives little or nothing), one more may be read at a time from then on,
until none is being read; so downloads bound by the network still run side by side, and
one stalled body holds up the others for one window, not one window each. A body waiting
for its turn is held by TCP flow control once its connection's first MiB is buffered; it
waits at most `patience` seconds, so that a server with a send timeout (nginx: 60 s) does
not cut it while large outputs go first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

LIMIT = 1
WINDOW = 0.05  # seconds
FLOOR = 64 * 1024 * 1024  # bytes per second: more than one stream over most links
PATIENCE = 10.0  # seconds a body waits at most


class BodyTurns:
    """Admits body reads: `limit` at once, one more whenever together they are slow."""

    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW,
        floor: float = FLOOR,
        patience: float = PATIENCE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self.floor = floor
        self.patience = patience
        self._clock = clock
        self._sleep = sleep
        self.reading = 0
        """How many bodies are being read now."""
        self.allowed = limit
        """How many may be read at once now: `limit`, raised by each slow window."""
        self._since = clock()  # when the current measuring window began
        self._bytes = 0  # received by the bodies being read since then
        # Futures of the reads waiting for a turn, in the order they came (woken in that
        # order, so the first to wait is the first let in); made on the loop that waits.
        self._waiting: dict[asyncio.Future[None], None] = {}

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Callable[[int], None]]:
        """Wait for a turn; yields `received(n)`, to call as each piece of n bytes arrives."""
        deadline = self._clock() + self.patience
        while not self._admissible() and self._clock() < deadline:
            await self._wait()
        self.reading += 1
        self._restart()

        def received(count: int) -> None:
            self._bytes += count

        try:
            yield received
        finally:
            self.reading -= 1
            if self.reading == 0:
                self.allowed = self.limit  # the next batch starts one at a time again
            self._restart()
            for waiter in self._waiting:
                if not waiter.done():
                    waiter.set_result(None)

    def _restart(self) -> None:
        self._since, self._bytes = self._clock(), 0

    def _admissible(self) -> bool:
        if self.reading < self.allowed:
            return True
        elapsed = self._clock() - self._since
        if elapsed < self.window:
            return False
        slow = self._bytes < self.floor * elapsed
        self._restart()
        if slow:
            self.allowed = self.reading + 1
        return slow

    async def _wait(self) -> None:
        """Until a read ends or a window passed (then the readers' rate is known)."""
        released: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[released] = None
        nap = asyncio.ensure_future(self._sleep(self.window))
        try:
            await asyncio.wait((released, nap), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiting.pop(released, None)
            released.cancel()
            nap.cancel()
