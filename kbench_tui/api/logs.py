"""A run's log as an async iterator: live over SSE, persisted as JSON, 404 = not yet.

`stream_run_logs(client, run_id)` posts GetBenchmarkTaskRunLogs with
`Accept: text/event-stream` and branches on the answer (API reference §6.1), checking the
status and the content type *before* reading any event:

- 404: no logs yet (the run is queued) -> one `LogsNotReady` event, then the iterator ends;
  the caller polls again later.
- `text/event-stream`: the run is live; each event's `data` is a JSON `LogEntry` (other
  text becomes an entry as-is; `END_OF_LOG` ends the log). The server closing the stream
  cleanly means the run ended.
- anything else (`application/json`): the persisted log, a JSON array of entries.

A dropped stream (connection reset, incomplete chunked body) is reconnected with backoff.
When events carry `id:`s the reconnect sends `Last-Event-ID` and the server resumes after
it; without ids the server replays from the start. Either way entries already yielded are
skipped (by id, else by position — the kaggle CLI's kernel-log pattern, §6.4), so a line is
never lost nor doubled, even when the run finished meanwhile and the answer is the JSON array.

`stream_run_log_batches` is the same stream a network read at a time: `LogRecords`
(entries column by column, no object per line), for consumers that keep up with a
200,000-line backlog (the dashboard's log pane).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.errors import ApiError, ProtocolError
from kbench_tui.api.log_entries import (
    END_OF_LOG,
    LogRecord,
    LogRecords,
    decode_entries,
    entry_from_event_data,
    entry_from_json,
    record_from_event_data,
    record_from_json,
)
from kbench_tui.api.retry import RetryableFailure, RetryPolicy, retry_delay, should_retry
from kbench_tui.api.sse import SseEvents, SseParser

if TYPE_CHECKING:
    from kbench_tui.api.models import LogEntry

__all__ = [
    "END_OF_LOG",
    "LogEntry",
    "LogEvent",
    "LogRecord",
    "LogRecords",
    "LogsNotReady",
    "StreamReconnecting",
    "entry_from_event_data",
    "entry_from_json",
    "fetch_persisted_logs",
    "record_from_event_data",
    "stream_run_log_batches",
    "stream_run_logs",
]

TASKS = "benchmarks.BenchmarkTasksApiService"
RPC = "GetBenchmarkTaskRunLogs"


class LogsNotReady(Exception):
    """The run has no log yet (HTTP 404, e.g. still QUEUED); poll again later.

    Yielded as an event (not raised) by `stream_run_logs`; it is an Exception subclass so
    callers may also raise it to unwind their own loops.
    """

    def __init__(self, run_id: int) -> None:
        super().__init__(f"run {run_id} has no logs yet")
        self.run_id = run_id


@dataclass(frozen=True)
class StreamReconnecting:
    """Reported to `on_reconnect` before the stream is reopened after `delay` seconds."""

    attempt: int
    delay: float
    error: ApiError


LogBatch = LogRecords | LogsNotReady
if TYPE_CHECKING:
    LogEvent = LogEntry | LogsNotReady


def _number(event_id: str) -> int | None:
    """An event id as a number (ids like the simulator's 1, 2, 3; none at all is 0)."""
    if not event_id:
        return 0
    if event_id.isascii() and event_id.isdigit():
        return int(event_id)
    return None


class _Dedup:
    """Remembers what was yielded, so a replayed prefix is skipped exactly.

    An event is named by (last event id, events since that id) — see `SseEvent.offset`:
    a server that replays from the start, or resumes after `Last-Event-ID`, names every
    event the same way again. While ids are numbers (or absent) names only grow, and the
    largest one yielded is all there is to remember.
    """

    def __init__(self) -> None:
        self.count = 0  # entries yielded so far, from the start of the log
        self.last_id = ""  # the stream's last event id, sent back as Last-Event-ID
        self._mark: tuple[int, int] | None = None  # largest numeric name yielded
        self._names: set[tuple[str, int]] | None = None  # once an id is not a number

    def fresh(self, event_id: str, offset: int) -> bool:
        """Whether the event so named was not yielded yet (then it counts as yielded)."""
        number = _number(event_id)
        if number is not None and self._mark is not None and (number, offset) <= self._mark:
            return False
        if self._names is not None:
            name = (event_id, offset)
            if name in self._names:
                return False
            self._names.add(name)
        elif number is None:
            # Ids stopped being numbers: exact memory from here on (numbers up to the
            # mark stay remembered by the mark).
            self._names = {(event_id, offset)}
        else:
            self._mark = (number, offset)
        self.count += 1
        return True

    def _fresh_from(self, events: SseEvents) -> int | None:
        """Where the fresh events start, if a whole chunk can be judged at once; else None.

        Two shapes cover a log stream: every event with its own id, the ids consecutive
        numbers (the simulator's 1, 2, 3, ...), or every event under one id (none at all
        is one too) with consecutive offsets. Their names grow one by one, so the fresh
        ones are those after the mark, and the last one is the new mark.
        """
        ids, offsets = events.ids, events.offsets
        count = len(ids)
        if not count or events.types is not None or self._names is not None:
            return None
        first, last = _number(ids[0]), _number(ids[-1])
        if first is None or last is None:
            return None
        mark = self._mark if self._mark is not None else (-1, -1)
        if offsets[0] == 0 and last - first == count - 1:
            if offsets.count(0) != count or ids != list(map(str, range(first, last + 1))):
                return None
            skip = max(0, min(count, mark[0] - first + 1))
        elif first == last and offsets[-1] - offsets[0] == count - 1:
            if ids.count(ids[0]) != count or offsets != list(range(offsets[0], offsets[-1] + 1)):
                return None
            if first > mark[0]:
                skip = 0
            elif first == mark[0]:
                skip = max(0, min(count, mark[1] - offsets[0] + 1))
            else:
                skip = count
        else:
            return None
        if skip < count:
            self._mark = (last, offsets[-1])
        return skip

    def take(self, events: SseEvents, records: LogRecords) -> bool:
        """Append the fresh log entries among `events`; True once END_OF_LOG was seen."""
        start = self._fresh_from(events)
        if start is None:
            return self._take_each(events, records)
        datas = events.data
        for data in datas[:start]:  # replayed: only an end of log matters
            if data and data[0] != "{" and data.strip() == END_OF_LOG:
                return True
        before = len(records)
        ended = decode_entries(datas[start:] if start else datas, records)
        self.count += len(records) - before
        return ended

    def _take_each(self, events: SseEvents, records: LogRecords) -> bool:
        """`take`, judging event by event (any stream the chunk shapes do not cover)."""
        fresh = self.fresh
        types = events.types if events.types is not None else ()
        for index, data in enumerate(events.data):
            if (types and types[index] != "message") or not data:
                continue
            if data[0] != "{" and data.strip() == END_OF_LOG:
                return True
            if fresh(events.ids[index], events.offsets[index]):
                decode_entries([data], records)
        return False


async def stream_run_log_batches(
    client: RpcConnection,
    run_id: int,
    *,
    reconnect: RetryPolicy | None = None,
    on_reconnect: Callable[[StreamReconnecting], None] | None = None,
) -> AsyncIterator[LogBatch]:
    """The run's log entries a network read at a time (see the module docstring).

    Yields non-empty `LogRecords`, or one `LogsNotReady` (then ends). Gives up
    after `reconnect.max_attempts` consecutive failures that brought no new entry
    (default: the client's retry policy), raising the last typed error. Non-retryable
    answers (401/403, other 4xx) are raised at once.
    """
    policy = reconnect or client.retry
    url = client.rpc_url(TASKS, RPC)
    seen = _Dedup()
    failures = 0
    while True:
        headers = {"Accept": "text/event-stream"}
        if seen.last_id and seen.last_id.isascii() and seen.last_id.isprintable():
            # An id that cannot be a header value is not sent: the server then starts from
            # the beginning and the replay is cut by `seen` like any other.
            headers["Last-Event-ID"] = seen.last_id
        progressed = False
        try:
            async with client.open_stream(
                url, {"runId": run_id}, rpc=RPC, headers=headers
            ) as response:
                if response.status_code == 404:
                    yield LogsNotReady(run_id)
                    return
                await _raise_for_error(client, response)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" in content_type:
                    parser = SseParser(seen.last_id)
                    try:
                        chunks = response.aiter_bytes()
                        async for chunk in chunks:
                            records = LogRecords()
                            ended = seen.take(parser.feed(chunk), records)
                            seen.last_id = parser.last_event_id
                            if records:
                                progressed = True
                                failures = 0
                                yield records
                            if ended:
                                return
                    except httpx.HTTPError as exc:
                        raise client.transport_failure(exc, RPC, reading_body=True) from None
                    # The server closed the stream cleanly: the run has ended.
                    records = LogRecords()
                    seen.take(parser.finish(), records)
                    if records:
                        yield records
                    return
                # The persisted array always starts at the beginning of the log: skip what
                # the stream already delivered before the run finished.
                persisted = await _persisted_records(client, response)
                fresh = persisted[seen.count :]
                seen.count += len(fresh)
                if fresh:
                    yield fresh
                return
        except RetryableFailure as failure:
            error = failure.error
            if not should_retry(error, "read", sent=failure.sent):
                raise error from None
            # Only failures that brought no new entry count towards giving up (§6.4): a
            # stream that keeps delivering before each drop is making progress.
            failures = 0 if progressed else failures + 1
            if failures >= policy.max_attempts:
                raise error from None
            delay = retry_delay(error, policy, max(failures - 1, 0), client.rng)
            if delay is None:
                raise error from None
            if on_reconnect is not None:
                on_reconnect(StreamReconnecting(max(failures, 1), delay, error))
            await client.sleep(delay)


async def stream_run_logs(
    client: RpcConnection,
    run_id: int,
    *,
    reconnect: RetryPolicy | None = None,
    on_reconnect: Callable[[StreamReconnecting], None] | None = None,
) -> AsyncIterator[LogEvent]:
    """Yield the run's log entries one by one (see `stream_run_log_batches`)."""
    from kbench_tui.api.models import LogEntry

    async for batch in stream_run_log_batches(
        client, run_id, reconnect=reconnect, on_reconnect=on_reconnect
    ):
        if isinstance(batch, LogsNotReady):
            yield batch
            return
        for stream, moment, data in zip(batch.streams, batch.times, batch.data, strict=True):
            yield LogEntry.model_construct(stream_name=stream, time=moment, data=data)


def __getattr__(name: str) -> Any:
    # `LogEntry` / `LogEvent` are still importable from here, but only load pydantic (the
    # models) when asked for: the dashboard imports this module before its first frame.
    if name in ("LogEntry", "LogEvent"):
        from kbench_tui.api.models import LogEntry

        return LogEntry if name == "LogEntry" else LogEntry | LogsNotReady
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def _raise_for_error(client: RpcConnection, response: httpx.Response) -> None:
    """Read an error answer (small) and raise it as a retryable failure; else do nothing.

    Success answers are not read here: a stream must be iterated, and a JSON body with
    `code >= 400` is caught after reading it in `_persisted_records`.
    """
    if response.status_code < 300:
        return
    try:
        content = await response.aread()
    except httpx.HTTPError as exc:
        raise client.transport_failure(exc, RPC, reading_body=True) from None
    error = client.answer_error(response, content, RPC)
    if error is not None:
        raise RetryableFailure(error, sent=True)


async def _persisted_records(client: RpcConnection, response: httpx.Response) -> LogRecords:
    """The persisted log of a finished run (JSON array); other bodies as raw text."""
    try:
        content = await response.aread()
    except httpx.HTTPError as exc:
        raise client.transport_failure(exc, RPC, reading_body=True) from None
    error = client.answer_error(response, content, RPC)
    if error is not None:
        raise RetryableFailure(error, sent=True)
    if "application/json" not in response.headers.get("content-type", ""):
        text = content.decode("utf-8", errors="replace")
        return LogRecords(["stdout"], [None], [text]) if text else LogRecords()
    try:
        value = json.loads(content) if content else []
    except ValueError:
        raise RetryableFailure(
            ProtocolError("the persisted log is not valid JSON (truncated?)", rpc=RPC), sent=True
        ) from None
    if not isinstance(value, list):
        raise RetryableFailure(
            ProtocolError(
                f"expected a JSON array of log entries, got {type(value).__name__}", rpc=RPC
            ),
            sent=True,
        )
    records = LogRecords()
    add = records.append
    for item in value:
        add(record_from_json(item))
    return records


async def fetch_persisted_logs(
    client: RpcConnection, run_id: int, *, reconnect: RetryPolicy | None = None
) -> list[LogEntry] | None:
    """The whole log of a run as a list (waits for a live run to end); None if not ready."""
    entries: list[LogEntry] = []
    async for event in stream_run_logs(client, run_id, reconnect=reconnect):
        if isinstance(event, LogsNotReady):
            return None
        entries.append(event)
    return entries
