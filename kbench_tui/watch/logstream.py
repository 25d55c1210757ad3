"""Log sessions: follow one run's log (or all runs of a task) into lines, batches and a spool.

No Textual import. A `LogSession` consumes `stream_run_logs` for each of its runs:

- QUEUED runs answer 404 ("no logs yet"): the session reports WAITING and asks again
  every `waiting_poll` seconds, switching to the stream by itself once the run starts.
- RUNNING runs stream over SSE; finished runs return the persisted log in one answer.
  Either way the session reports STREAMING while entries arrive and ENDED at the end.
- Entries are fragments that concatenate until a newline (as the kaggle CLI prints them),
  so each run keeps its own partial line; only complete lines are handed on.

Lines go into a `LogSpool`: batched for at most `batch_seconds` (or `batch_lines` lines,
whichever comes first) before `on_lines` is called once, so a fast stream costs one UI
update per batch, not one per line, and no single update is long enough to hold up a key
press; written in full to a temporary file (save and search see the whole log) and kept
as a bounded in-memory tail.

A 200,000-line backlog arrives as network reads of ~600 entries each: the session takes
them a read at a time (`stream_run_log_batches`), turns them into lines column by column
(`LogLines`: no object per line, see `loglines.py`), and lets the event loop run between
reads.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import repeat
from pathlib import Path
from typing import Any

from kbench_tui.api.errors import ApiError, NotFoundError
from kbench_tui.api.logs import LogRecords, LogsNotReady, stream_run_log_batches
from kbench_tui.watch.loglines import LogLine, LogLines
from kbench_tui.watch.poller import TRANSIENT_ERRORS

__all__ = [
    "LogLine",
    "LogLines",
    "LogPhase",
    "LogSession",
    "LogSpool",
    "LogStatus",
    "LogTarget",
    "spool_text",
]

# Entries handled between two turns of the event loop while a backlog streams in (a
# batch from the network is one turn whatever its size: ~600 entries).
_YIELD_EVERY = 200

# `stream_run_log_batches(client, run_id)`, or a stand-in in tests: it yields
# `LogRecords`, single entries (anything with `stream_name`, `time`, `data`) or
# `LogsNotReady`.
StreamLogs = Callable[[Any, int], AsyncIterator[Any]]


@dataclass
class _Pending:
    """Lines of one run waiting for the next batch, column by column."""

    rank: int
    source: str | None
    texts: list[str]
    times: list[float | None]
    streams: list[str]


class LogPhase(Enum):
    """Where a run's log is."""

    CONNECTING = "connecting"
    WAITING = "waiting for logs"
    STREAMING = "streaming"
    ENDED = "ended"
    RETRYING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True)
class LogStatus:
    """A run's log changed phase."""

    run_id: int
    source: str | None
    phase: LogPhase
    lines: int
    error: ApiError | None = None
    retry_in: float | None = None


@dataclass(frozen=True)
class LogTarget:
    """One run to follow, and the label its lines carry in an all-runs session."""

    run_id: int
    label: str | None = None


class LogSpool:
    """Batches lines for the UI, spools all of them to disk, keeps a bounded tail."""

    def __init__(
        self,
        on_lines: Callable[[LogLines], None],
        *,
        tail_lines: int = 5000,
        batch_seconds: float = 0.1,
        batch_lines: int = 10_000,
        directory: str | os.PathLike[str] | None = None,
        prefix: str = "kbench-log-",
    ) -> None:
        self._on_lines = on_lines
        self.batch_seconds = batch_seconds
        self.batch_lines = batch_lines
        """A batch is handed on early once it holds this many lines: appending a 100 ms
        batch of a fast stream (~20,000 lines) in one go would keep a key press waiting."""
        self.tail_lines = tail_lines
        self.tail = LogLines()
        """The last `tail_lines` lines."""
        self.line_count = 0
        self._pending: list[_Pending] = []
        self._pending_lines = 0
        self._timer: asyncio.TimerHandle | None = None
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=directory)
        self.path = Path(name)
        # Line-buffered text mode is not needed: the spool is flushed once per batch.
        self._file = os.fdopen(handle, "w", encoding="utf-8", newline="\n")

    def add(
        self, text: str, time: float | None, stream: str, source: str | None, rank: int = 0
    ) -> None:
        """Queue one complete line; it reaches `on_lines` within `batch_seconds`.

        `rank` orders the runs of an all-runs session inside one batch: lines that arrive
        together are grouped run by run (each run's own order kept), so a batch reads the
        same whichever answer happened to come first.
        """
        self.extend([text], [time], [stream], source, rank)

    def extend(
        self,
        texts: list[str],
        times: list[float | None],
        streams: list[str],
        source: str | None,
        rank: int = 0,
    ) -> None:
        """Queue several complete lines of one run (the lists are taken over, not copied)."""
        if not texts:
            return
        pending = self._pending
        last = pending[-1] if pending else None
        if last is not None and last.rank == rank and last.source == source:
            last.texts += texts
            last.times += times
            last.streams += streams
        else:
            pending.append(_Pending(rank, source, texts, times, streams))
        self._pending_lines += len(texts)
        if self.batch_seconds <= 0 or self._pending_lines >= self.batch_lines:
            self.flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.batch_seconds, self.flush)

    def flush(self) -> None:
        """Hand pending lines on now (one callback for the whole batch)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._file.closed:
            return
        pending, self._pending = self._pending, []
        self._pending_lines = 0
        if len(pending) > 1:
            pending.sort(key=lambda part: part.rank)  # stable: each run keeps its order
        batch = LogLines(self.line_count + 1)
        for part in pending:
            batch.texts += part.texts
            batch.times += part.times
            batch.streams += part.streams
            batch.sources += [part.source] * len(part.texts)
            self._file.write(_spool_block(part.texts, part.source))
        self.line_count += len(batch)
        self._file.flush()
        self.tail.extend(batch)
        self.tail.drop_first(len(self.tail) - self.tail_lines)
        self._on_lines(batch)

    def iter_text(self) -> Iterator[str]:
        """Every line of the full log, as saved (blocking disk IO: call from a thread)."""
        with open(self.path, encoding="utf-8", newline="\n") as handle:
            for raw in handle:
                yield raw.rstrip("\n")

    def search(self, pattern: re.Pattern[str]) -> list[int]:
        """Numbers of every line of the full log matching `pattern` (blocking)."""
        return [n for n, text in enumerate(self.iter_text(), start=1) if pattern.search(text)]

    def save_to(self, target: str | os.PathLike[str]) -> Path:
        """Copy the spooled log to `target` (blocking); returns the absolute path.

        Meant for a worker thread, so it does not flush: pending lines are handed to the
        UI by `flush`, which belongs on the event loop (call it there first).
        """
        destination = Path(target).expanduser().resolve()
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, destination)
        return destination

    def close(self) -> None:
        """Drop pending lines and delete the spool file."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
        self._pending_lines = 0
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


def spool_text(line: LogLine) -> str:
    """A line as saved to disk: prefixed by its model in an all-runs session."""
    return f"[{line.source}] {line.text}" if line.source else line.text


def _spool_block(texts: list[str], source: str | None) -> str:
    """`spool_text` of each line, newline-terminated, in one string (one write per run)."""
    if not source:
        return "\n".join(texts) + "\n"
    prefix = f"[{source}] "
    return prefix + f"\n{prefix}".join(texts) + "\n"


class LogSession:
    """Follows the logs of one or more runs into a shared `LogSpool`."""

    def __init__(
        self,
        client: Any,
        targets: Sequence[LogTarget],
        spool: LogSpool,
        on_status: Callable[[LogStatus], None],
        *,
        waiting_poll: float = 2.0,
        retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stream: StreamLogs = stream_run_log_batches,
    ) -> None:
        self._client = client
        self._stream = stream
        self.targets = list(targets)
        self.spool = spool
        self._on_status = on_status
        self.waiting_poll = waiting_poll
        self.retry_delays = retry_delays
        self._sleep = sleep
        self.phases: dict[int, LogPhase] = {t.run_id: LogPhase.CONNECTING for t in targets}

    async def run(self) -> None:
        """Follow every target until all their logs have ended (or failed for good)."""
        try:
            await asyncio.gather(*(self._follow(target) for target in self.targets))
        finally:
            # Whatever ended the session (end of logs, cancellation), the lines received so
            # far belong in the view and the spool.
            self.spool.flush()

    def _report(
        self,
        target: LogTarget,
        phase: LogPhase,
        lines: int,
        error: ApiError | None = None,
        retry_in: float | None = None,
    ) -> None:
        self.phases[target.run_id] = phase
        self._on_status(LogStatus(target.run_id, target.label, phase, lines, error, retry_in))

    async def _follow(self, target: LogTarget) -> None:
        # The server gives no resume token: a new request replays the log from the start.
        # Count the entries already handled and skip that many after a reconnect, so a
        # line is never doubled (the kaggle CLI's kernel-log pattern).
        handled = 0
        lines = 0
        rank = self.targets.index(target)
        failures = 0
        partial = _Partial()
        self._report(target, LogPhase.CONNECTING, lines)
        while True:
            try:
                seen = 0
                waiting = False
                since_turn = 0
                async for item in self._stream(self._client, target.run_id):
                    if isinstance(item, LogsNotReady):
                        waiting = True
                        break
                    batch = _as_records(item)
                    start, seen = seen, seen + len(batch)
                    if seen <= handled:
                        continue
                    if start < handled:
                        batch = batch[handled - start :]
                    handled = seen
                    failures = 0
                    if self.phases[target.run_id] is not LogPhase.STREAMING:
                        self._report(target, LogPhase.STREAMING, lines)
                    lines += partial.feed(batch, target.label, rank, self.spool)
                    since_turn += len(batch)
                    if since_turn >= _YIELD_EVERY:
                        # A backlog arrives faster than it is read: the socket rarely
                        # makes this loop wait, so hand the event loop over after every
                        # read or key presses queue behind 200k lines.
                        since_turn = 0
                        await asyncio.sleep(0)
            except (LogsNotReady, NotFoundError):
                waiting = True
            except TRANSIENT_ERRORS as error:
                delay = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
                failures += 1
                self._report(target, LogPhase.RETRYING, lines, error, retry_in=delay)
                await self._sleep(delay)
                continue
            except ApiError as error:
                lines += partial.finish(target.label, rank, self.spool)
                self._report(target, LogPhase.FAILED, lines, error)
                return
            if waiting:
                if self.phases[target.run_id] is not LogPhase.WAITING:
                    self._report(target, LogPhase.WAITING, lines)
                await self._sleep(self.waiting_poll)
                continue
            lines += partial.finish(target.label, rank, self.spool)
            self._report(target, LogPhase.ENDED, lines)
            return


def _as_records(item: Any) -> LogRecords:
    """What a stream yielded as `LogRecords`: they already are, or one entry (a stand-in)."""
    if isinstance(item, LogRecords):
        return item
    entries = item if isinstance(item, list) else [item]
    return LogRecords(
        [entry.stream_name for entry in entries],
        [entry.time for entry in entries],
        [entry.data if isinstance(entry.data, str) else str(entry.data) for entry in entries],
    )


class _Partial:
    """A run's unfinished line: entries concatenate until a newline."""

    def __init__(self) -> None:
        self.text = ""
        self.time: float | None = None
        self.stream = "stdout"

    def feed(self, entries: LogRecords, label: str | None, rank: int, spool: LogSpool) -> int:
        """Add the entries' text; queue the lines they complete; return how many."""
        if not self.text and entries.data:
            joined = "".join(entries.data)
            count = len(entries.data)
            if (
                joined.count("\n") == count
                and "\r" not in joined
                and all(map(str.endswith, entries.data, repeat("\n")))
            ):
                # Each entry is exactly one line (the usual log): split them all at once.
                streams = entries.streams
                if not all(streams):
                    streams = [stream or "stdout" for stream in streams]
                spool.extend(joined[:-1].split("\n"), entries.times[:], streams[:], label, rank)
                return count
        texts: list[str] = []
        times: list[float | None] = []
        streams: list[str] = []
        for stream, moment, data in zip(entries.streams, entries.times, entries.data, strict=True):
            stream = stream or "stdout"
            # The usual entry is exactly one line: no split, no partial line to join.
            if not self.text and data.find("\n") == len(data) - 1 >= 0:
                texts.append(data[:-1].rstrip("\r") if data[-2:-1] == "\r" else data[:-1])
                times.append(moment)
                streams.append(stream)
                continue
            if not self.text:
                self.time = moment
                self.stream = stream
            pieces = (self.text + data).split("\n")
            self.text = pieces.pop()
            for piece in pieces:
                texts.append(piece.rstrip("\r"))
                times.append(self.time)
                streams.append(self.stream)
                self.time = moment
                self.stream = stream
        spool.extend(texts, times, streams, label, rank)
        return len(texts)

    def finish(self, label: str | None, rank: int, spool: LogSpool) -> int:
        """At the end of a log, a trailing partial line is still a line."""
        if not self.text:
            return 0
        spool.add(self.text.rstrip("\r"), self.time, self.stream, label, rank)
        self.text = ""
        return 1
