"""Log streaming against an in-memory transport: branching, reconnects, de-duplication."""

from __future__ import annotations

import json

import httpx
import pytest
from api_helpers import CutStream, mock_client

from kbench_tui.api.errors import AuthError, ServerError
from kbench_tui.api.logs import (
    LogEntry,
    LogRecords,
    LogsNotReady,
    StreamReconnecting,
    entry_from_event_data,
    fetch_persisted_logs,
    stream_run_log_batches,
    stream_run_logs,
)

ENTRIES = [{"stream_name": "stdout", "time": float(i), "data": f"line {i}\n"} for i in range(10)]


def sse(entries: list[dict], *, ids: bool, start: int = 0) -> list[bytes]:
    frames = []
    for number, entry in enumerate(entries, start=start + 1):
        prefix = f"id: {number}\n" if ids else ""
        frames.append(f"{prefix}data: {json.dumps(entry)}\n\n".encode())
    return frames


def sse_response(frames: list[bytes], *, dropped: bool) -> httpx.Response:
    error = httpx.RemoteProtocolError("incomplete chunked read") if dropped else None
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=CutStream(frames, error)
    )


async def collect(client, run_id: int = 7, **kwargs) -> list:  # type: ignore[no-untyped-def]
    return [event async for event in stream_run_logs(client, run_id, **kwargs)]


async def test_queued_run_gives_logs_not_ready_and_ends() -> None:
    client, _ = mock_client(lambda r: httpx.Response(404, json={"code": 404, "message": "none"}))
    events = await collect(client)
    assert len(events) == 1 and isinstance(events[0], LogsNotReady) and events[0].run_id == 7


async def test_live_stream_sends_accept_and_parses_entries() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse_response(sse(ENTRIES[:3], ids=False), dropped=False)

    client, _ = mock_client(handler)
    events = await collect(client)
    assert [e.data for e in events] == ["line 0\n", "line 1\n", "line 2\n"]
    assert seen[0].headers["accept"] == "text/event-stream"
    assert json.loads(seen[0].content) == {"runId": 7}
    assert seen[0].url.path.endswith("/GetBenchmarkTaskRunLogs")


async def test_finished_run_gives_the_persisted_array() -> None:
    client, _ = mock_client(lambda r: httpx.Response(200, json=ENTRIES))
    entries = await fetch_persisted_logs(client, 7)
    assert entries == [LogEntry.model_validate(e) for e in ENTRIES]


async def test_odd_events_end_of_log_and_comments() -> None:
    body = (
        b": keepalive\n\n"
        b"event: ping\ndata: ignored\n\n"
        b'data: {"stream_name": "stderr", "time": 1, "data": "err\\n"}\n\n'
        b"data: plain text\n\n"
        b'data: {"other": 1}\n\n'
        b"data: END_OF_LOG\n\n"
        b'data: {"data": "after the end"}\n\n'
    )
    client, _ = mock_client(lambda r: sse_response([body], dropped=False))
    events = await collect(client)
    assert [(e.stream_name, e.data) for e in events] == [
        ("stderr", "err\n"),
        ("stdout", "plain text\n"),
        ("stdout", '{"other": 1}\n'),
    ]


@pytest.mark.parametrize("ids", [True, False])
async def test_drops_reconnect_without_losing_or_doubling_a_line(ids: bool) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        last = request.headers.get("last-event-id")
        # With ids the server resumes after Last-Event-ID; without, it replays from 0.
        start = int(last) if last else 0
        remaining = ENTRIES[start:]
        # Each connection drops after 3 events, except when the rest fits.
        chunk = remaining[:3]
        return sse_response(sse(chunk, ids=ids, start=start), dropped=len(remaining) > 3)

    if not ids:
        # Without ids a server replays everything: drop after (already sent + 3) events.
        sent = {"n": 0}

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            upto = sent["n"] + 3
            sent["n"] = upto
            return sse_response(sse(ENTRIES[:upto], ids=False), dropped=upto < len(ENTRIES))

    reconnects: list[StreamReconnecting] = []
    client, sleep = mock_client(handler)
    events = await collect(client, on_reconnect=reconnects.append)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES]
    assert len(requests) == 4 and len(sleep.delays) == 3
    assert all(r.attempt == 1 for r in reconnects)  # each drop brought new events
    if ids:
        assert [r.headers.get("last-event-id") for r in requests] == [None, "3", "6", "9"]


async def test_server_ignoring_last_event_id_is_deduplicated_by_id() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        upto = min(3 * calls["n"], len(ENTRIES))
        return sse_response(sse(ENTRIES[:upto], ids=True), dropped=upto < len(ENTRIES))

    client, _ = mock_client(handler)
    events = await collect(client)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES]


async def test_run_finished_during_reconnect_skips_entries_already_seen() -> None:
    answers = iter(
        [
            sse_response(sse(ENTRIES[:4], ids=True), dropped=True),
            httpx.Response(200, json=ENTRIES),
        ]
    )
    client, _ = mock_client(lambda r: next(answers))
    events = await collect(client)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES]


async def test_gives_up_after_consecutive_failures_without_new_events() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return sse_response(sse(ENTRIES[:2], ids=True), dropped=True)
        return httpx.Response(503, json={"code": 503, "message": "down"})

    client, sleep = mock_client(handler, attempts=3)
    events: list = []
    with pytest.raises(ServerError):
        async for event in stream_run_logs(client, 7):
            events.append(event)
    assert len(events) == 2
    assert calls["n"] == 4  # 1 drop (progress) + 3 failures in a row without progress
    assert len(sleep.delays) == 3


async def test_auth_errors_are_raised_at_once() -> None:
    client, sleep = mock_client(lambda r: httpx.Response(403, json={"code": 403, "message": "no"}))
    with pytest.raises(AuthError):
        await collect(client)
    assert sleep.delays == []


async def test_json_error_on_200_is_raised_not_yielded() -> None:
    client, _ = mock_client(
        lambda r: httpx.Response(200, json={"code": 500, "message": "oops"}), attempts=2
    )
    with pytest.raises(ServerError, match="oops"):
        await collect(client)


def chunked(frames: list[bytes], size: int) -> list[bytes]:
    """The frames as one byte stream cut every `size` bytes (reads rarely match events)."""
    body = b"".join(frames)
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("ids", [True, False])
@pytest.mark.parametrize("size", [7, 64, 100_000])
async def test_replays_straddling_a_read_are_cut_exactly(ids: bool, size: int) -> None:
    """A server that replays from the start: each read mixes old and new events."""
    entries = [{"stream_name": "stdout", "time": float(i), "data": f"l{i}\n"} for i in range(40)]
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        upto = min(13 * calls["n"], len(entries))  # each connection gets 13 further
        frames = sse(entries[:upto], ids=ids)
        return sse_response(chunked(frames, size), dropped=upto < len(entries))

    client, _ = mock_client(handler)
    batches = [b async for b in stream_run_log_batches(client, 7)]
    assert all(isinstance(b, LogRecords) and len(b) for b in batches)
    assert [d for b in batches for d in b.data] == [e["data"] for e in entries]
    assert calls["n"] == 4


async def test_events_with_and_without_ids_mixed_are_never_lost_nor_doubled() -> None:
    """Only some events carry an id: the others are named by their place after it."""
    body = []
    for n, entry in enumerate(ENTRIES):
        prefix = f"id: {n}\n" if n % 3 == 0 else ""
        body.append(f"{prefix}data: {json.dumps(entry)}\n\n".encode())
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if len(requests) == 1:
            return sse_response(chunked(body[:5], 50), dropped=True)
        # Resumed after the last id (3): events 4.. again, the first ones without an id.
        return sse_response(chunked(body[4:], 50), dropped=False)

    client, _ = mock_client(handler)
    events = await collect(client)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES]
    assert requests[1].headers["last-event-id"] == "3"


async def test_end_of_log_inside_a_read_keeps_what_came_before() -> None:
    frames = [*sse(ENTRIES[:3], ids=True), b"data: END_OF_LOG\n\n", *sse(ENTRIES[3:], ids=True)]
    client, _ = mock_client(lambda r: sse_response([b"".join(frames)], dropped=False))
    events = await collect(client)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES[:3]]


async def test_unusual_json_takes_the_validating_path_with_the_same_result() -> None:
    payloads = [
        ' {"stream_name": "stdout", "time": 1, "data": "leading space\\n"}',
        '{"data": "reordered\\n", "time": 2.5, "stream_name": "stderr"}',
        '{"stream_name": "stdout", "time": "3.5", "data": "time as text\\n"}',
        '{"stream_name": null, "time": 4, "data": "no stream\\n", "extra": 1}',
        '{"stream_name": "stdout", "time": true, "data": "bool time\\n"}',
        "[1, 2]",
        '"just a string"',
        "{not json",
    ]
    body = b"".join(f"data: {p}\n\n".encode() for p in payloads)
    client, _ = mock_client(lambda r: sse_response([body], dropped=False))
    events = await collect(client)
    # Exactly what the model makes of each payload on its own (json.loads + validation).
    assert events == [entry_from_event_data(p) for p in payloads]
    assert [(e.stream_name, e.time, e.data) for e in events] == [
        ("stdout", 1, "leading space\n"),
        ("stderr", 2.5, "reordered\n"),
        ("stdout", 3.5, "time as text\n"),
        ("stdout", 4, "no stream\n"),
        ("stdout", 1.0, "bool time\n"),
        ("stdout", None, "[1, 2]\n"),
        ("stdout", None, "just a string\n"),
        ("stdout", None, "{not json\n"),
    ]


async def test_a_byte_order_mark_and_crlf_line_ends_lose_nothing() -> None:
    frames = [f.replace(b"\n", b"\r\n") for f in sse(ENTRIES, ids=True)]
    body = b"\xef\xbb\xbf" + b"".join(frames)
    client, _ = mock_client(lambda r: sse_response(chunked([body], 5), dropped=False))
    events = await collect(client)
    assert [e.data for e in events] == [e["data"] for e in ENTRIES]


def test_the_fast_path_knows_the_entry_fields_of_the_model() -> None:
    from kbench_tui.api.log_entries import _ENTRY_FIELDS

    assert frozenset(LogEntry.model_fields) == _ENTRY_FIELDS
