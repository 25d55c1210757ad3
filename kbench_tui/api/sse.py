"""Server-sent events decoded a network chunk at a time (WHATWG HTML, "event stream").

`SseParser.feed(chunk)` takes the bytes as they come off the socket and returns the events
completed by them; `finish()` ends the stream. It replaces a generic line-by-line decoder
because a log backlog arrives as 64 KiB chunks of ~600 events each, and handling every
line in Python was a third of the cost of ingesting a 200,000-line log.

Interpretation follows the spec exactly:

- the stream is UTF-8 (invalid bytes become U+FFFD, a sequence may be split anywhere
  between chunks); one leading byte order mark is dropped;
- lines end with CRLF, LF or CR (a CR at the end of a chunk may be the first half of a
  CRLF: it is held back until the next chunk says which);
- a blank line dispatches the event; `:` starts a comment; `field: value` (one leading
  space dropped from the value), or `field` alone with an empty value;
- `data` lines are joined with LF; `event` sets the type (default `message`); `id` sets
  the last event id, which persists across events and is kept unless it contains NUL;
  `retry` is kept when it is all ASCII digits; other fields are ignored;
- an event whose data buffer is empty is not dispatched, and an event left unfinished by
  the end of the stream is discarded (it was cut off; the server sends it again).

Fast path: a chunk whose events are all in the canonical form `id: X\\ndata: Y\\n\\n` (or
all `data: Y\\n\\n`), which is all a log stream carries, is split and checked with C-level
list operations, no Python code per line; anything else goes through the general
line-by-line interpretation.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple, overload

__all__ = ["SseEvent", "SseEvents", "SseParser"]


class SseEvent(NamedTuple):
    """One dispatched event."""

    data: str
    event: str = "message"
    last_event_id: str = ""
    """The spec's lastEventId: the latest `id` field seen, up to and including this event."""
    offset: int = 0
    """Events dispatched since that `id` field, this one included (0: it carried the id).

    (`last_event_id`, `offset`) names an event the same way every time a server replays
    its stream, even when only some events carry ids: a client de-duplicates on it.
    """


class SseEvents(Sequence[SseEvent]):
    """The events of one chunk, column by column (a sequence of `SseEvent`s).

    Columns, not an object per event: a 64 KiB chunk holds ~600 events, and objects that
    live that long make the garbage collector run (and promote whatever else is alive).
    """

    __slots__ = ("data", "ids", "offsets", "types")

    def __init__(
        self,
        data: list[str] | None = None,
        types: list[str] | None = None,
        ids: list[str] | None = None,
        offsets: list[int] | None = None,
    ) -> None:
        self.data = data if data is not None else []
        self.types = types
        """Each event's type; None when all are "message" (the usual case)."""
        self.ids = ids if ids is not None else []
        self.offsets = offsets if offsets is not None else []

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> SseEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[SseEvent]: ...
    def __getitem__(self, index: int | slice) -> SseEvent | list[SseEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        kind = "message" if self.types is None else self.types[index]
        return SseEvent(self.data[index], kind, self.ids[index], self.offsets[index])

    def __iter__(self) -> Iterator[SseEvent]:
        return map(self.__getitem__, range(len(self)))

    def __repr__(self) -> str:
        return f"SseEvents({list(self)!r})"


_BOM = "\ufeff"
_ID_VALUE = itemgetter(slice(4, None))  # after "id: "
_DATA_VALUE = itemgetter(slice(6, None))  # after "data: "


class SseParser:
    """Incremental `text/event-stream` parser; one per connection."""

    def __init__(self, last_event_id: str = "") -> None:
        # A reconnection starts from the id the client sent in `Last-Event-ID` (spec:
        # the event source keeps its last event id across connections).
        self.last_event_id = last_event_id
        self.retry: int | None = None
        """The last valid `retry` field (milliseconds), if any."""
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []  # decoded text after the last complete event
        self._cr_held = False
        self._at_start = True

    def feed(self, chunk: bytes) -> SseEvents:
        """The events completed by `chunk`, in order."""
        return self._parse(self._decoder.decode(chunk))

    def finish(self) -> SseEvents:
        """End of stream: events completed by its last bytes; an unfinished one is dropped.

        (Its `retry` still counts: the spec applies that field as soon as its line ends.)
        """
        events = self._parse(self._decoder.decode(b"", final=True), final=True)
        for line in "".join(self._pending).split("\n")[:-1]:
            field, _, value = line.partition(":")
            value = value[1:] if value[:1] == " " else value
            if field == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
        self._pending = []
        return events

    def _parse(self, text: str, final: bool = False) -> SseEvents:
        if self._at_start and text:
            self._at_start = False
            if text[0] == _BOM:
                text = text[1:]
        if self._cr_held:
            text = "\r" + text
            self._cr_held = False
        if "\r" in text:
            if text[-1] == "\r" and not final:
                # Maybe the CR of a CRLF whose LF is in the next chunk: decide then.
                self._cr_held = True
                text = text[:-1]
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return SseEvents()
        pending = self._pending
        if "\n\n" not in text and not (text[0] == "\n" and pending and pending[-1][-1] == "\n"):
            # No event ends here (a long event arriving in pieces): no copying yet.
            pending.append(text)
            return SseEvents()
        if pending:
            pending.append(text)
            text = "".join(pending)
        end = text.rfind("\n\n")
        rest = text[end + 2 :]
        self._pending = [rest] if rest else []
        return self._events(text[: end + 2])

    def _events(self, block: str) -> SseEvents:
        """Events of `block`: whole lines ending with a blank line, from an event's start."""
        return self._canonical(block) or self._general(block)

    def _canonical(self, block: str) -> SseEvents | None:
        """The events if each is `id: X` + `data: Y` (or each is `data: Y`), else None.

        Both fields' values are the rest of their line after exactly one space, which is
        what the general interpretation makes of them too; an id with a NUL in it must be
        ignored, so a block holding one takes the general path.
        """
        if "\x00" in block:
            return None
        lines = block.split("\n")  # ends with "", "" (the blank line, then nothing)
        with_ids = lines[0].startswith("id: ")
        step = 3 if with_ids else 2
        count, rest = divmod(len(lines) - 1, step)
        if rest or not count:
            return None
        data_lines = lines[step - 2 : -1 : step]
        if any(lines[step - 1 :: step]) or not all(
            map(str.startswith, data_lines, repeat("data: "))
        ):
            return None
        datas = list(map(_DATA_VALUE, data_lines))
        if with_ids:
            id_lines = lines[0:-1:3]
            if not all(map(str.startswith, id_lines, repeat("id: "))):
                return None
            ids = list(map(_ID_VALUE, id_lines))
            self.last_event_id = ids[-1]
            self._offset = 0
            return SseEvents(datas, None, ids, [0] * count)
        start = self._offset
        self._offset += count
        offsets = list(range(start + 1, start + count + 1))
        return SseEvents(datas, None, [self.last_event_id] * count, offsets)

    def _general(self, block: str) -> SseEvents:
        """The spec's interpretation, line by line (any stream that is not canonical)."""
        datas: list[str] = []
        types: list[str] = []
        ids: list[str] = []
        offsets: list[int] = []
        data: list[str] = []
        event_type = ""
        own_id = False
        # `block` ends with "\n\n": the last split piece is the empty string after it.
        for line in block.split("\n")[:-1]:
            if not line:
                if data:
                    self._offset = 0 if own_id else self._offset + 1
                    datas.append("\n".join(data))
                    types.append(event_type or "message")
                    ids.append(self.last_event_id)
                    offsets.append(self._offset)
                data, event_type, own_id = [], "", False
                continue
            if line[0] == ":":
                continue  # a comment
            field, colon, value = line.partition(":")
            if colon and value[:1] == " ":
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                event_type = value
            elif field == "id":
                if "\x00" not in value:
                    self.last_event_id = value
                    self._offset = 0
                    own_id = True
            elif field == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
        return SseEvents(datas, types, ids, offsets)
