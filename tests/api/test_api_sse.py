"""The chunked SSE parser against the WHATWG event-stream rules, split at every byte."""

from __future__ import annotations

import random
import re

import pytest

from kbench_tui.api.sse import SseEvent, SseParser


def reference(stream: bytes, last_event_id: str = "") -> tuple[list[SseEvent], str, int | None]:
    """The spec's interpretation of a whole stream, transcribed step by step (no chunks).

    Returns the dispatched events, the event source's last event id (what a reconnection
    sends: set from the id buffer at every blank line) and the last valid retry.
    """
    text = stream.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    # Lines end with CRLF, LF or CR; whatever follows the last line end is not a line.
    pieces = re.split(r"\r\n|\r|\n", text)
    lines = pieces[:-1]
    events: list[SseEvent] = []
    data, event_type, id_buffer, retry = "", "", last_event_id, None
    offset, own_id = 0, False
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data == "":
                event_type = ""
                own_id = False
                continue
            offset = 0 if own_id else offset + 1
            events.append(SseEvent(data[:-1], event_type or "message", id_buffer, offset))
            data, event_type, own_id = "", "", False
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data += value + "\n"
        elif field == "id":
            if "\x00" not in value:
                id_buffer = value
                offset, own_id = 0, True
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = int(value)
    return events, last_event_id, retry


def parse(chunks: list[bytes], last_event_id: str = "") -> tuple[list[SseEvent], str, int | None]:
    parser = SseParser(last_event_id)
    events: list[SseEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.finish()
    return events, parser.last_event_id, parser.retry


def splits(stream: bytes) -> list[list[bytes]]:
    """The stream whole, byte by byte, and cut once at every position."""
    cuts = [[stream], [stream[i : i + 1] for i in range(len(stream))]]
    cuts += [[stream[:i], stream[i:]] for i in range(1, len(stream))]
    return cuts


CANONICAL = b"".join(
    f'id: {n}\ndata: {{"stream_name": "stdout", "time": {n}, "data": "line {n}\\n"}}\n\n'.encode()
    for n in range(1, 6)
)


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(
            b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n",
            [SseEvent("a", "message", "1", 0), SseEvent("b", "message", "2", 0)],
            id="canonical-with-ids",
        ),
        pytest.param(
            b"data: a\n\ndata: b\n\n",
            [SseEvent("a", "message", "", 1), SseEvent("b", "message", "", 2)],
            id="canonical-without-ids",
        ),
        pytest.param(
            b"data: one\ndata: two\n\n",
            [SseEvent("one\ntwo", "message", "", 1)],
            id="multi-line-data-joined-with-lf",
        ),
        pytest.param(
            b": keepalive\n\nevent: ping\ndata: x\n\n",
            [SseEvent("x", "ping", "", 1)],
            id="comment-and-event-type",
        ),
        pytest.param(b"data\n\n", [SseEvent("", "message", "", 1)], id="field-without-colon"),
        pytest.param(b"data:x\n\n", [SseEvent("x", "message", "", 1)], id="no-space-after-colon"),
        pytest.param(b"data:  x\n\n", [SseEvent(" x", "message", "", 1)], id="one-space-dropped"),
        pytest.param(b"event: x\n\n", [], id="no-data-no-event"),
        pytest.param(
            b"data: a\r\ndata: b\rdata: c\n\r\n",
            [SseEvent("a\nb\nc", "message", "", 1)],
            id="crlf-cr-lf",
        ),
        pytest.param(b"\xef\xbb\xbfdata: x\n\n", [SseEvent("x", "message", "", 1)], id="bom"),
        pytest.param(
            b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n",
            [SseEvent("y", "message", "", 1)],
            id="only-one-bom-dropped",
        ),
        pytest.param(
            b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
            [
                SseEvent("a", "message", "7", 0),
                SseEvent("b", "message", "7", 1),
                SseEvent("c", "message", "", 0),
            ],
            id="id-persists-and-empty-id-resets",
        ),
        pytest.param(
            b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
            [SseEvent("a", "message", "1", 0), SseEvent("b", "message", "1", 1)],
            id="id-with-nul-ignored",
        ),
        pytest.param(
            b"id: 5\n\ndata: a\n\n", [SseEvent("a", "message", "5", 1)], id="id-only-block"
        ),
        pytest.param(
            "data: caf\u00e9 \u2713\n\n".encode(),
            [SseEvent("caf\u00e9 \u2713", "message", "", 1)],
            id="utf-8",
        ),
        pytest.param(
            b"data: \xff\xfe\n\n", [SseEvent("\ufffd\ufffd", "message", "", 1)], id="bad-utf-8"
        ),
        pytest.param(
            b"data: a\n\ndata: cut off", [SseEvent("a", "message", "", 1)], id="unfinished-dropped"
        ),
        pytest.param(b"data: a\n\r", [SseEvent("a", "message", "", 1)], id="final-cr-ends-event"),
        pytest.param(
            b"\n\ndata: a\n\n\n\ndata: b\n\n",
            [SseEvent("a", "message", "", 1), SseEvent("b", "message", "", 2)],
            id="extra-blank-lines",
        ),
        pytest.param(
            b"id: 1\ndata: a\n\n: comment\n\nid: 2\ndata: b\n\n",
            [SseEvent("a", "message", "1", 0), SseEvent("b", "message", "2", 0)],
            id="canonical-with-a-comment",
        ),
    ],
)
def test_events_match_the_spec_wherever_the_chunks_are_cut(
    stream: bytes, expected: list[SseEvent]
) -> None:
    assert reference(stream)[0] == expected
    for chunks in splits(stream):
        assert parse(chunks)[0] == expected, chunks


def test_retry_is_kept_only_when_all_digits() -> None:
    for chunks in splits(b"retry: 1500\n\nretry: 2x\n\nretry:\n\nretry: \xd9\xa3\n\n"):
        assert parse(chunks)[2] == 1500


def test_a_cr_at_a_chunk_end_and_an_lf_after_it_are_one_line_end() -> None:
    # Taken as two line ends, the empty line between them would dispatch "a" alone.
    events, _, _ = parse([b"data: a\r", b"\ndata: b\r\n\r\n"])
    assert events == [SseEvent("a\nb", "message", "", 1)]


def test_a_reconnection_starts_from_the_last_event_id_it_sent() -> None:
    events, last, _ = parse([b"data: resumed\n\n"], last_event_id="41")
    assert events == [SseEvent("resumed", "message", "41", 1)]
    assert last == "41"


def test_the_canonical_log_stream() -> None:
    expected, last, _ = reference(CANONICAL)
    assert len(expected) == 5 and last == "5"
    for chunks in splits(CANONICAL):
        assert parse(chunks) == (expected, "5", None)


LINES = [
    b"data: x",
    b"data:y",
    b"data",
    b'data: {"a": 1}',
    b"id: 3",
    b"id:",
    b"id: 9\x00",
    b"event: ping",
    b"event:",
    b": comment",
    b"retry: 10",
    b"retry: ten",
    b"other: z",
    b"",
    b"",
    "data: \u00e9\u2713".encode(),
    b"\xef\xbb\xbfdata: bom",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_and_random_chunks_agree_with_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    stream = b"\xef\xbb\xbf" if rng.random() < 0.3 else b""
    for _ in range(rng.randint(1, 40)):
        stream += rng.choice(LINES) + rng.choice([b"\n", b"\r\n", b"\r"])
    if rng.random() < 0.5:
        stream += rng.choice(LINES)  # an unfinished last line
    chunks = []
    position = 0
    while position < len(stream):
        size = rng.randint(1, 12)
        chunks.append(stream[position : position + size])
        position += size
    assert parse(chunks) == reference(stream), stream


BLOCKS = [
    b'id: 7\ndata: {"data": "x\\n"}\n\n',
    b"id: 8\ndata: y\n\n",
    b"data: z\n\n",
    b"data: \n\n",
    b"id: \ndata: w\n\n",
    b"data: id: 1\n\n",
    b"id: data: 2\ndata: v\n\n",
    b"id: 3\ndata: a\ndata: b\n\n",
    b"data: c\nid: 4\n\n",
    b": ping\n\n",
    b"\n",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_mixes_of_canonical_and_other_events_agree_with_the_reference(seed: int) -> None:
    rng = random.Random(1000 + seed)
    stream = b"".join(rng.choice(BLOCKS) for _ in range(rng.randint(1, 30)))
    for size in (rng.randint(1, 7), rng.randint(8, 64), len(stream)):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert parse(chunks) == reference(stream), (stream, size)
