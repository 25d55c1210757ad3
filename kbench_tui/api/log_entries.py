"""Log entries decoded from the wire: `LogEntry` (the model) and `LogRecords` (columns).

No Textual import. Each SSE `data` payload (or persisted-array element) is an entry
`{"stream_name", "time", "data"}`; anything else becomes a line of text, as the kaggle
CLI prints it (API reference §6.3). The usual, well-formed entry is taken as decoded,
without building a model: a 200,000-line log is decoded in one pass of the JSON scanner
per payload, into `LogRecords`, with no object per line. pydantic (the model) is imported
only when an entry needs it, so the dashboard's first frame does not wait for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kbench_tui.api.models import LogEntry

__all__ = [
    "END_OF_LOG",
    "LogRecord",
    "LogRecords",
    "decode_entries",
    "entry_from_event_data",
    "entry_from_json",
    "record_from_event_data",
    "record_from_json",
]

END_OF_LOG = "END_OF_LOG"
_ENTRY_FIELDS = frozenset(("stream_name", "time", "data"))  # LogEntry's (a test checks)
_NUMBERS = (float, int)
# The JSON decoder's scanner: decodes the one value at an index and says where it ended,
# without json.loads' wrappers (a payload decoded whole is exactly json.loads' answer).
_scan_json = make_scanner(json.JSONDecoder())


class LogRecord(NamedTuple):
    """A log entry as a plain tuple: `LogEntry`'s fields, already normalised."""

    stream_name: str
    time: float | None
    data: str


_new_record = partial(tuple.__new__, LogRecord)


class LogRecords:
    """Log entries column by column: what one network read brought.

    No object per entry: a backlog arrives ~600 entries per read, and objects that live
    that long make the garbage collector run (which then finds the UI's objects alive
    and moves them to the generation whose collection takes 100 ms).
    """

    __slots__ = ("data", "streams", "times")

    def __init__(
        self,
        streams: list[str] | None = None,
        times: list[float | None] | None = None,
        data: list[str] | None = None,
    ) -> None:
        self.streams = streams if streams is not None else []
        self.times = times if times is not None else []
        self.data = data if data is not None else []

    @classmethod
    def of(cls, records: list[LogRecord]) -> LogRecords:
        """Columns from records (or anything with `stream_name`, `time`, `data`)."""
        return cls(
            [r.stream_name for r in records], [r.time for r in records], [r.data for r in records]
        )

    def append(self, record: LogRecord) -> None:
        self.streams.append(record.stream_name)
        self.times.append(record.time)
        self.data.append(record.data)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[LogRecord]:
        return map(LogRecord, self.streams, self.times, self.data)

    def __getitem__(self, index: slice) -> LogRecords:
        return LogRecords(self.streams[index], self.times[index], self.data[index])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogRecords):
            return NotImplemented
        return (self.streams, self.times, self.data) == (other.streams, other.times, other.data)

    def __repr__(self) -> str:
        return f"LogRecords({list(self)!r})"


def entry_from_event_data(data: str) -> LogEntry:
    """One SSE `data` payload (or array element text) as a LogEntry, like the CLI prints it."""
    from kbench_tui.api.models import LogEntry

    try:
        value: Any = json.loads(data)
    except ValueError:
        return LogEntry(data=data + "\n")  # not JSON: the CLI prints the text as a line
    return entry_from_json(value)


def entry_from_json(value: Any) -> LogEntry:
    """A decoded JSON value as a LogEntry: a dict with `data`, else the value as a line."""
    from kbench_tui.api.models import LogEntry

    record = _plain_record(value)
    if record is not None:
        return LogEntry.model_construct(
            stream_name=record.stream_name, time=record.time, data=record.data
        )
    if isinstance(value, dict) and "data" in value:
        return LogEntry.model_validate(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return LogEntry(data=text + "\n")


def _plain_record(value: Any) -> LogRecord | None:
    """The usual, well-formed entry (str/number/str, no other key) as is; else None.

    Every field already has its final type, so validation (three Python validators per
    line, a third of the cost of a 200k-line log once) is skipped.
    """
    if type(value) is dict and len(value) == len(_ENTRY_FIELDS):
        # Three keys, each of them found: exactly the entry's fields.
        stream, moment, data = value.get("stream_name"), value.get("time"), value.get("data")
        if type(data) is str and type(stream) is str and type(moment) in _NUMBERS:
            return _new_record((stream, moment, data))
    return None


def record_from_event_data(data: str) -> LogRecord:
    """`entry_from_event_data` as a LogRecord (the well-formed case without a model)."""
    try:
        value, end = _scan_json(data, 0)
    except (StopIteration, ValueError):
        end = -1
    if end == len(data):
        record = _plain_record(value)
        if record is not None:
            return record
    # Anything unusual (whitespace around the JSON, not JSON, other shapes) takes the
    # general path, so the answer is always json.loads' and the model's.
    entry = entry_from_event_data(data)
    return _new_record((entry.stream_name, entry.time, entry.data))


def record_from_json(value: Any) -> LogRecord:
    """`entry_from_json` as a LogRecord (the well-formed case without a model)."""
    record = _plain_record(value)
    if record is None:
        entry = entry_from_json(value)
        record = _new_record((entry.stream_name, entry.time, entry.data))
    return record


def decode_entries(payloads: list[str], records: LogRecords) -> bool:
    """Append each non-empty payload as a record; True (and stop) at END_OF_LOG."""
    scan = _scan_json
    add_stream, add_time, add_data = (
        records.streams.append,
        records.times.append,
        records.data.append,
    )
    for data in payloads:
        if not data:
            continue
        if data[0] != "{" and data.strip() == END_OF_LOG:
            return True
        # `record_from_event_data`, with its usual case inline (it runs per line).
        try:
            value, end = scan(data, 0)
        except (StopIteration, ValueError):
            end = -1
        if end == len(data) and type(value) is dict and len(value) == len(_ENTRY_FIELDS):
            stream, moment = value.get("stream_name"), value.get("time")
            text = value.get("data")
            if type(text) is str and type(stream) is str and type(moment) in _NUMBERS:
                add_stream(stream)
                add_time(moment)
                add_data(text)
                continue
        record = record_from_event_data(data)
        add_stream(record.stream_name)
        add_time(record.time)
        add_data(record.data)
    return False
