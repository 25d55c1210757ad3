"""Run logs: deterministic generation and the live SSE stream (API reference §6).

A run's log is a pure function of the run row and `--rng-seed`: `log_lines` entries
`{"stream_name", "time", "data"}` whose `time` (seconds from the run's start) is spread
over the run's duration. An entry "exists" once the clock has passed `start + time`.

Streaming: only `data: {json}\\n\\n` frames, because the kaggle CLI prints every other
non-empty line verbatim (§6.3). When the request says `Accept: text/event-stream` (our
client does; the CLI sends `*/*`) each event also gets an `id: <n>` line, n = 1-based
entry number, and `Last-Event-ID: n` resumes after entry n. Frames due at the same
moment are batched into writes of up to ~64 KiB, so a 200k-line backlog streams in a
few writes per megabyte instead of one write per line.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kbench_tui.sim.clock import Clock
from kbench_tui.sim.outputs import error_message
from kbench_tui.sim.store import RunRow

_BATCH_BYTES = 64 * 1024
_VERDICTS = ("ok", "ok", "ok", "ok", "mismatch", "ok (retried)")


@dataclass(frozen=True)
class RunLog:
    """A run's whole log: entry times and their pre-encoded JSON payloads."""

    times: list[float]
    payloads: list[str]

    def as_json_array(self) -> bytes:
        return ("[" + ",".join(self.payloads) + "]").encode()


def _lines(run: RunRow, outcome: str, rng_seed: int, rng: random.Random) -> list[tuple[str, str]]:
    count = run.log_lines
    head = [("stdout", f"Running {run.task_name} against {run.model}\n")]
    if outcome == "ERRORED":
        tail = [("stderr", line + "\n") for line in error_message(run, rng_seed).split("\n")]
    else:
        tail = [
            ("stdout", "All prompts answered; computing the result\n"),
            ("stdout", f"Wrote {run.task_name} run file (Run #1)\n"),
        ]
    body_count = max(count - len(head) - len(tail), 0)
    body = []
    for index in range(body_count):
        if rng.random() < 0.05:
            body.append(("stderr", f"WARNING: model call {index + 1} slow, retrying (2/3)\n"))
        else:
            millis = rng.randint(80, 4000)
            verdict = rng.choice(_VERDICTS)
            body.append(
                (
                    "stdout",
                    f"[{index + 1}/{body_count}] prompt {index + 1}: {verdict} ({millis} ms)\n",
                )
            )
    lines = head + body + tail
    # Very short logs keep their end (the traceback or the result) rather than their start.
    return lines[-count:] if count else []


def generate_log(run: RunRow, outcome: str, rng_seed: int) -> RunLog:
    """The full log of a run whose final outcome is `outcome`."""
    rng = random.Random(f"{rng_seed}:log:{run.id}")
    lines = _lines(run, outcome, rng_seed, rng)
    count = len(lines)
    times: list[float] = []
    payloads: list[str] = []
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    for index, (stream, data) in enumerate(lines):
        # Entry i lands somewhere in the i-th slice of the run: increasing, within the run.
        moment = round(run.run_seconds * (index + rng.random()) / count, 3)
        if times and moment < times[-1]:
            moment = times[-1]
        times.append(moment)
        payloads.append(dumps({"stream_name": stream, "time": moment, "data": data}))
    return RunLog(times, payloads)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue


class LogStream(Response):
    """The `text/event-stream` answer for a RUNNING run, following the clock.

    Ends cleanly (final empty chunk) once the run has ended and every entry was sent;
    ends abruptly (connection closed, no final chunk) when an `sse-drop-after` fault
    fires, when the client goes away, or when the simulator shuts down.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        run: RunRow,
        log: RunLog,
        clock: Clock,
        *,
        start_index: int,
        with_ids: bool,
        drop_after: int | None,
        shutdown: Callable[[], Awaitable[object]],
    ) -> None:
        super().__init__()
        # Set by hand: the base class would add `Content-Length: 0`; a stream has none
        # (uvicorn then uses chunked transfer encoding, one chunk per send).
        self.raw_headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        self.run = run
        self.log = log
        self.clock = clock
        self.index = min(max(start_index, 0), len(log.times))
        self.with_ids = with_ids
        self.drop_after = drop_after
        self.shutdown = shutdown
        self.sent = 0

    def _frames(self, stop: int) -> list[bytes]:
        """Encode entries [index, stop) into chunks of at most ~64 KiB."""
        chunks: list[bytes] = []
        parts: list[str] = []
        size = 0
        for number in range(self.index, stop):
            payload = self.log.payloads[number]
            frame = (
                f"id: {number + 1}\ndata: {payload}\n\n"
                if self.with_ids
                else f"data: {payload}\n\n"
            )
            parts.append(frame)
            size += len(frame)
            if size >= _BATCH_BYTES:
                chunks.append("".join(parts).encode())
                parts, size = [], 0
        if parts:
            chunks.append("".join(parts).encode())
        return chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        disconnect = asyncio.ensure_future(_wait_disconnect(receive))
        stopping = asyncio.ensure_future(self.shutdown())
        try:
            await self._pump(send, disconnect, stopping)
        finally:
            for task in (disconnect, stopping):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _pump(self, send: Send, disconnect: asyncio.Future, stopping: asyncio.Future) -> None:
        total = len(self.log.times)
        while True:
            # Read the clock's change counter before the time, so an advance() that lands
            # after this read still wakes the wait below (no lost wake-up).
            seen = self.clock.changes
            now = self.clock.time()
            ended = now >= self.run.end_time
            due = total if ended else bisect.bisect_right(self.log.times, now - self.run.start_time)
            if self.drop_after is not None:
                due = min(due, self.index + self.drop_after - self.sent)
            if due > self.index:
                for chunk in self._frames(due):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self.sent += due - self.index
                self.index = due
            if self.drop_after is not None and self.sent >= self.drop_after:
                return  # abrupt: uvicorn closes the connection without the final chunk
            if ended and self.index >= total:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if disconnect.done() or stopping.done():
                return
            deadline = self.run.end_time
            if self.index < total:
                deadline = min(deadline, self.run.start_time + self.log.times[self.index])
            timeout = self.clock.real_seconds_until(deadline)
            waiter = asyncio.ensure_future(self.clock.wait_changed(timeout, since=seen))
            await asyncio.wait({waiter, disconnect, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
