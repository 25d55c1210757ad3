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
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.errors import ApiError, ProtocolError
from kbench_tui.api.models import LogEntry
from kbench_tui.api.retry import RetryableFailure, RetryPolicy, retry_delay, should_retry

__all__ = [
    "END_OF_LOG",
    "LogEntry",
    "LogEvent",
    "LogsNotReady",
    "StreamReconnecting",
    "fetch_persisted_logs",
    "stream_run_logs",
]

TASKS = "benchmarks.BenchmarkTasksApiService"
RPC = "GetBenchmarkTaskRunLogs"
END_OF_LOG = "END_OF_LOG"
_ENTRY_FIELDS = frozenset(LogEntry.model_fields)


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


LogEvent = LogEntry | LogsNotReady


def entry_from_event_data(data: str) -> LogEntry:
    """One SSE `data` payload (or array element text) as a LogEntry, like the CLI prints it."""
    try:
        value: Any = json.loads(data)
    except ValueError:
        return LogEntry(data=data + "\n")  # not JSON: the CLI prints the text as a line
    return entry_from_json(value)


def entry_from_json(value: Any) -> LogEntry:
    """A decoded JSON value as a LogEntry: a dict with `data`, else the value as a line."""
    if isinstance(value, dict) and "data" in value:
        data, stream, moment = value["data"], value.get("stream_name"), value.get("time")
        if (
            type(data) is str
            and type(stream) is str
            and type(moment) in (float, int)
            and value.keys() <= _ENTRY_FIELDS
        ):
            # The usual, well-formed entry: every field already has its final type, so
            # skip validation (it runs three Python validators per line, a third of the
            # cost of ingesting a 200k-line log).
            return LogEntry.model_construct(stream_name=stream, time=moment, data=data)
        return LogEntry.model_validate(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return LogEntry(data=text + "\n")


class _Dedup:
    """Remembers what was yielded, so a replayed prefix is skipped exactly."""

    def __init__(self) -> None:
        self.count = 0  # entries yielded so far, from the start of the log
        self.last_id: str | None = None
        self._numeric_last: int | None = None  # ids like the simulator's 1, 2, 3, ...
        self._ids: set[str] = set()  # fallback for opaque ids

    def fresh_by_id(self, event_id: str) -> bool:
        """Whether an event with this id was not yielded yet (ids: resume or replay)."""
        if event_id.isdigit() and (self._numeric_last is not None or not self._ids):
            return self._numeric_last is None or int(event_id) > self._numeric_last
        return event_id not in self._ids

    def record(self, event_id: str | None) -> None:
        self.count += 1
        if not event_id:
            return
        self.last_id = event_id
        if event_id.isdigit() and not self._ids:
            self._numeric_last = max(self._numeric_last or 0, int(event_id))
        else:
            if self._numeric_last is not None:
                # Ids stopped being numbers: switch to exact memory from here on.
                self._ids.update(str(n) for n in range(1, self._numeric_last + 1))
                self._numeric_last = None
            self._ids.add(event_id)


async def stream_run_logs(
    client: RpcConnection,
    run_id: int,
    *,
    reconnect: RetryPolicy | None = None,
    on_reconnect: Callable[[StreamReconnecting], None] | None = None,
) -> AsyncIterator[LogEvent]:
    """Yield the run's log entries (see the module docstring), reconnecting as needed.

    Gives up after `reconnect.max_attempts` consecutive failures that brought no new entry
    (default: the client's retry policy), raising the last typed error. Non-retryable
    answers (401/403, other 4xx) are raised at once.
    """
    policy = reconnect or client.retry
    url = client.rpc_url(TASKS, RPC)
    seen = _Dedup()
    failures = 0
    while True:
        headers = {"Accept": "text/event-stream"}
        if seen.last_id is not None:
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
                    position = 0  # entries seen on this connection, for id-less replays
                    try:
                        async for event in EventSource(response).aiter_sse():
                            if event.event not in ("", "message") or event.data == "":
                                continue
                            if event.data.strip() == END_OF_LOG:
                                return
                            if event.id:
                                fresh = seen.fresh_by_id(event.id)
                            else:
                                position += 1
                                fresh = position > seen.count
                            if not fresh:
                                continue
                            entry = entry_from_event_data(event.data)
                            seen.record(event.id or None)
                            progressed = True
                            failures = 0
                            yield entry
                    except httpx.HTTPError as exc:
                        raise client.transport_failure(exc, RPC, reading_body=True) from None
                    return  # the server closed the stream cleanly: the run has ended
                # The persisted array always starts at the beginning of the log: skip what
                # the stream already delivered before the run finished.
                entries = await _persisted_entries(client, response)
                for entry in entries[seen.count :]:
                    seen.record(None)
                    yield entry
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


async def _raise_for_error(client: RpcConnection, response: httpx.Response) -> None:
    """Read an error answer (small) and raise it as a retryable failure; else do nothing.

    Success answers are not read here: a stream must be iterated, and a JSON body with
    `code >= 400` is caught after reading it in `_persisted_entries`.
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


async def _persisted_entries(client: RpcConnection, response: httpx.Response) -> list[LogEntry]:
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
        return [LogEntry(data=text)] if text else []
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
    return [entry_from_json(item) for item in value]


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
