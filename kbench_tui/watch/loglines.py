"""Lines of a run's log: `LogLine` (one line) and `LogLines` (many, column by column).

No Textual import. A fast log makes 200,000 lines in a few seconds. Held as one object
each, every line that is kept (the view keeps 20,000) survives into the garbage
collector's oldest generation, and the full collections that follow take ~100 ms each
with the dashboard's objects around: a key press waits behind every one. `LogLines`
keeps the lines as parallel lists of strings and numbers, which the collector never
looks at, and hands out `LogLine`s on access.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import count
from typing import NamedTuple, overload


class LogLine(NamedTuple):
    """One complete line of a run's log."""

    number: int
    """1-based position in the session's full log (the spool), stable across the tail."""
    text: str
    time: float | None
    """Kernel timestamp of the entry that started the line (seconds since session start)."""
    stream: str
    source: str | None = None
    """The run's label (its model) in an all-runs session; None for a single run."""


class LogLines(Sequence[LogLine]):
    """Consecutively numbered lines (`first`, `first + 1`, ...), column by column."""

    __slots__ = ("first", "sources", "streams", "texts", "times")
    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(
        self,
        first: int = 1,
        texts: list[str] | None = None,
        times: list[float | None] | None = None,
        streams: list[str] | None = None,
        sources: list[str | None] | None = None,
    ) -> None:
        self.first = first
        self.texts: list[str] = texts if texts is not None else []
        self.times: list[float | None] = times if times is not None else []
        self.streams: list[str] = streams if streams is not None else []
        self.sources: list[str | None] = sources if sources is not None else []

    @classmethod
    def of(cls, lines: Iterable[LogLine]) -> LogLines:
        """Columns from `LogLine`s, which must be numbered consecutively."""
        result = cls()
        for line in lines:
            if result.texts and line.number != result.end:
                raise ValueError(f"line {line.number} does not follow line {result.end - 1}")
            if not result.texts:
                result.first = line.number
            result.texts.append(line.text)
            result.times.append(line.time)
            result.streams.append(line.stream)
            result.sources.append(line.source)
        return result

    @property
    def end(self) -> int:
        """The number the next line would have."""
        return self.first + len(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> LogLine: ...
    @overload
    def __getitem__(self, index: slice) -> LogLines: ...
    def __getitem__(self, index: int | slice) -> LogLine | LogLines:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.texts))
            if step != 1:
                raise ValueError("LogLines slices are contiguous")
            stop = max(start, stop)
            return LogLines(
                self.first + start,
                self.texts[start:stop],
                self.times[start:stop],
                self.streams[start:stop],
                self.sources[start:stop],
            )
        if index < 0:
            index += len(self.texts)
        if not 0 <= index < len(self.texts):
            raise IndexError("LogLines index out of range")
        return LogLine(
            self.first + index,
            self.texts[index],
            self.times[index],
            self.streams[index],
            self.sources[index],
        )

    def __iter__(self) -> Iterator[LogLine]:
        return map(LogLine, count(self.first), self.texts, self.times, self.streams, self.sources)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LogLines):
            return (self.first if self.texts else 1, self.texts, self.times, self.streams) == (
                other.first if other.texts else 1,
                other.texts,
                other.times,
                other.streams,
            ) and self.sources == other.sources
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"LogLines({list(self)!r})"

    def extend(self, other: LogLines) -> None:
        """Append lines that continue the numbering (the columns are copied)."""
        if not other.texts:
            return
        if not self.texts:
            self.first = other.first
        elif other.first != self.end:
            raise ValueError(f"line {other.first} does not follow line {self.end - 1}")
        self.texts += other.texts
        self.times += other.times
        self.streams += other.streams
        self.sources += other.sources

    def drop_first(self, lines: int) -> None:
        """Forget the oldest `lines` lines."""
        if lines <= 0:
            return
        del self.texts[:lines], self.times[:lines], self.streams[:lines], self.sources[:lines]
        self.first += lines

    def clear(self) -> None:
        """Forget every line (the numbering starts again with the next lines)."""
        self.texts.clear()
        self.times.clear()
        self.streams.clear()
        self.sources.clear()
        self.first = 1
