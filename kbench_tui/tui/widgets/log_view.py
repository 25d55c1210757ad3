"""`LogView`: a line-API log widget with follow mode, wrap, timestamps and search highlight.

Textual's `Log` cannot colour a per-line prefix, wrap, or highlight matches, and `RichLog`
jumps to the bottom; this is a small `ScrollView` over a bounded `LogLines` (the lines
column by column) that renders only the rows on screen (strips cached per line), so a
200k-line stream costs one append and one refresh per batch.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kbench_tui.tui.format import kernel_time, model_colour
from kbench_tui.watch.loglines import LogLine, LogLines

_CONTROL_CHARACTERS = re.compile("[\u0000-\u0008\u000b-\u001f\u007f]")
STDERR_STYLE = Style.parse("red")
MATCH_STYLE = Style(bgcolor="yellow", color="black")
CURRENT_MATCH_STYLE = Style(bgcolor="dark_orange", color="black", bold=True)


class LogView(ScrollView, can_focus=True):
    """Bounded, followable log with per-line model prefix and search highlight."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("G,end", "follow", "Follow", id="follow-log"),
        Binding("g,home", "top", "Top", show=False, id="log-top"),
        Binding("j", "scroll_down", "Down", show=False, id="log-down"),
        Binding("k", "scroll_up", "Up", show=False, id="log-up"),
    ]

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        overflow-y: scroll;
        overflow-x: auto;
    }
    """

    following: var[bool] = var(True)
    wrap: var[bool] = var(False)
    show_times: var[bool] = var(False)

    @dataclass
    class FollowChanged(Message):
        """Follow mode or the count of lines received while paused changed."""

        log_view: LogView
        following: bool
        unseen: int

        @property
        def control(self) -> LogView:
            return self.log_view

    def __init__(self, *, max_lines: int = 20_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.prefix_width = 0
        """Width the model prefixes are padded to in an all-runs view, so lines align."""
        self._lines = LogLines()
        self.unseen = 0
        self.pattern: re.Pattern[str] | None = None
        self.current_match: int | None = None
        """Line number (LogLine.number) of the match `n`/`N` moved to."""
        self._cells: list[int] = []
        self._widest = 0
        """max(self._cells): the width to scroll sideways over without wrap."""
        self._end_pending = False
        self._row_starts: list[int] = []
        self._rows = 0
        self._wrap_width = 0
        self._adjusting = False
        self._strips: LRUCache[int, Strip] = LRUCache(256)
        self._frame: tuple[Style, int] | None = None
        """(rich_style, content width) while a frame is painted."""

    # -- content ------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every line (another run was selected) and follow again."""
        self._lines.clear()
        self._cells.clear()
        self._widest = 0
        self._strips.clear()
        self.unseen = 0
        self.current_match = None
        self.following = True
        self._relayout()
        self.scroll_to(0, 0, animate=False)
        self._announce()

    @property
    def lines(self) -> LogLines:
        """The lines kept (at most `max_lines`, the newest); read-only for callers."""
        return self._lines

    def append(self, batch: Sequence[LogLine]) -> None:
        """Add a batch of lines; follow the end, or count them as unseen while paused.

        The lines continue the numbering of those kept (`LogLines`, as the spool hands
        them on; other sequences of `LogLine` are converted).
        """
        if not batch:
            return
        if not isinstance(batch, LogLines):
            batch = LogLines.of(batch)
        self._lines.extend(batch)
        widths = self._cell_widths(batch)
        self._cells.extend(widths)
        self._widest = max(self._widest, max(widths))
        excess = len(self._lines) - self.max_lines
        removed_rows = 0
        if excess > 0:
            removed_rows = self._rows_of(0, excess)
            widest_removed = max(self._cells[:excess])
            self._lines.drop_first(excess)
            del self._cells[:excess]
            if widest_removed >= self._widest:
                self._widest = max(self._cells, default=0)
        if self.wrap:
            self._relayout()
        else:
            self._extend_layout(len(batch))
        if self.following:
            self._stick_to_end()
        else:
            self.unseen += len(batch)
            if removed_rows:
                # Dropping the oldest lines shifts everything up; keep the paused view still.
                self._adjusting = True
                try:
                    self.scroll_to(y=max(0, self.scroll_y - removed_rows), animate=False)
                finally:
                    self._adjusting = False
            self._announce()
        self.refresh()

    @property
    def first_number(self) -> int:
        """LogLine.number of the oldest line kept."""
        return self._lines.first

    # -- layout: one row per line, or several when wrapping ------------------------------

    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _line_rows(self, cells: int) -> int:
        if not self.wrap:
            return 1
        return max(1, -(-cells // self._wrap_width))

    def _rows_of(self, start: int, stop: int) -> int:
        if not self.wrap:
            return len(self._cells[start:stop])
        return sum(self._line_rows(cells) for cells in self._cells[start:stop])

    def _relayout(self) -> None:
        self._wrap_width = self._width()
        self._row_starts = []
        self._rows = 0
        self._extend_layout(len(self._cells))

    def _extend_layout(self, count: int) -> None:
        if not self.wrap:
            # One row per line: row n is line n, so no per-line bookkeeping is needed (a
            # 200k-line stream trims the oldest lines on every batch; that stays O(batch)).
            self._row_starts = []
            self._rows = len(self._cells)
            self._set_virtual_size(Size(self._widest, self._rows))
            return
        for cells in self._cells[len(self._cells) - count :]:
            self._row_starts.append(self._rows)
            self._rows += self._line_rows(cells)
        self._set_virtual_size(Size(0, self._rows))

    def _set_virtual_size(self, size: Size) -> None:
        """Grow the scrollable area without a layout pass over the whole screen.

        `virtual_size` is a layout reactive: assigning it re-arranges every widget on
        the screen, which a fast stream did on every frame. Only this widget's scroll
        extent changes, so update that and the scrollbars (a scrollbar that appears or
        goes still asks for a layout by itself).
        """
        if size != self.virtual_size:
            self.set_reactive(LogView.virtual_size, size)
            self._scroll_update(size)

    def on_resize(self) -> None:
        if self.wrap and self._width() != self._wrap_width:
            self._strips.clear()
            self._relayout()
            if self.following:
                self._stick_to_end()

    def _locate(self, row: int) -> tuple[int, int] | None:
        """(line index, wrapped segment) shown at virtual row `row`."""
        if row < 0 or row >= self._rows:
            return None
        if not self.wrap:
            return row, 0
        index = bisect_right(self._row_starts, row) - 1
        return index, row - self._row_starts[index]

    # -- rendering ------------------------------------------------------------------------

    def _render_text(self, line: LogLine, *, current: bool = False) -> Text:
        text = Text(no_wrap=True, end="")
        if self.show_times:
            text.append(kernel_time(line.time) + " ", style="dim")
        if line.source:
            label = line.source.ljust(self.prefix_width)
            text.append(f"{label} │ ", style=f"bold {model_colour(line.source)}")
        body_start = len(text)
        body = _CONTROL_CHARACTERS.sub("�", line.text.expandtabs())
        text.append(body, style=STDERR_STYLE if line.stream == "stderr" else "")
        if self.pattern is not None:
            style = CURRENT_MATCH_STYLE if current else MATCH_STYLE
            for match in self.pattern.finditer(body):
                if match.end() > match.start():
                    text.stylize(style, body_start + match.start(), body_start + match.end())
        return text

    def _cell_widths(self, batch: LogLines) -> list[int]:
        """`_render_text(line).cell_len` of each line, without building Texts.

        Plain ASCII text (nearly every log) is measured in C loops over the whole batch.
        """
        texts = batch.texts
        joined = "".join(texts)
        if joined.isascii() and joined.isprintable():
            # One cell per character, no tab or control character to expand.
            widths = list(map(len, texts))
        else:
            widths = [cell_len(_CONTROL_CHARACTERS.sub("�", t.expandtabs())) for t in texts]
        if self.show_times:
            widths = [w + len(kernel_time(t)) + 1 for w, t in zip(widths, batch.times, strict=True)]
        if self.prefix_width or any(batch.sources):
            prefixes: dict[str | None, int] = {None: 0}
            for index, source in enumerate(batch.sources):
                if source not in prefixes:
                    prefixes[source] = cell_len(source.ljust(self.prefix_width)) + 3
                widths[index] += prefixes[source]
        return widths

    def _plain(self, index: int) -> bool:
        """Whether the line renders as its text in one style (nearly all of them)."""
        text = self._lines.texts[index]
        return (
            self.pattern is None
            and not self.show_times
            and not self._lines.sources[index]
            and text.isascii()
            and text.isprintable()
        )

    def _body_style(self, index: int, style: Style) -> Style:
        return style + STDERR_STYLE if self._lines.streams[index] == "stderr" else style

    def _strip(self, index: int, style: Style) -> Strip:
        lines = self._lines
        number = lines.first + index
        cached = self._strips.get(number)
        if cached is None:
            if self._plain(index):
                # What `_render_text` would render, without building and rendering a Text.
                text = lines.texts[index]
                cached = Strip([Segment(text, self._body_style(index, style))], len(text))
            else:
                line = lines[index]
                rich_text = self._render_text(line, current=number == self.current_match)
                rich_text.stylize_before(style)
                cached = Strip(rich_text.render(self.app.console), rich_text.cell_len)
            self._strips[number] = cached
        return cached

    def render_lines(self, crop: Region) -> list[Strip]:
        # `rich_style` walks the ancestors' styles on every call (it was half the cost of
        # painting a frame): it is the same for every line of one frame.
        self._frame = (self.rich_style, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        if self._frame is not None:
            style, width = self._frame
        else:
            style, width = self.rich_style, self.scrollable_content_region.width
        located = self._locate(scroll_y + y)
        if located is None:
            return Strip.blank(width, style)
        index, segment = located
        if self.following and not self.wrap and not scroll_x and self._plain(index):
            # Following a stream, each line is on screen for a frame or two: paint it to
            # the width at once (what `crop_extend` of the cached strip gives), and keep
            # nothing. Cached strips would outlive several garbage collections of the
            # young generation and end up as garbage in the oldest one, whose collections
            # take ~100 ms with the dashboard's objects around.
            text = self._lines.texts[index][:width]
            segments = [Segment(text, self._body_style(index, style))]
            if len(text) < width:
                segments.append(Segment(" " * (width - len(text)), style))
            return Strip(segments, width)
        strip = self._strip(index, style)
        if self.wrap:
            start = segment * self._wrap_width
            return strip.crop_extend(start, start + width, style)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _restyle(self) -> None:
        self._strips.clear()
        self._cells = self._cell_widths(self._lines)
        self._widest = max(self._cells, default=0)
        self._relayout()
        if self.following:
            self._stick_to_end()
        self.refresh()

    def watch_wrap(self) -> None:
        self._restyle()

    def watch_show_times(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # -- follow mode ----------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._adjusting:
            return
        at_end = new_value >= self.max_scroll_y
        if new_value < old_value and not at_end and self.following:
            # The user scrolled up (wheel, keys, scrollbar): stop chasing the end.
            self.following = False
            self._announce()
        elif new_value > old_value and at_end and not self.following:
            # Scrolling back down to the end picks the stream up again.
            self.action_follow()

    def _stick_to_end(self) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        # A longer line can add a horizontal scrollbar, which takes a row from the view
        # only at the next layout; follow the end again once that has happened (once per
        # refresh, however many batches arrive before it).
        if not self._end_pending:
            self._end_pending = True
            self.call_after_refresh(self._scroll_end_if_following)

    def _scroll_end_if_following(self) -> None:
        self._end_pending = False
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    # Scrolling by key is not animated: while a fast stream is followed, the next batch
    # snaps the view to the end before an animation has moved it, and the key is lost.
    def action_scroll_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_down(animate=False)

    def action_page_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_down(animate=False)

    def action_follow(self) -> None:
        """Jump to the end and follow new lines."""
        self.following = True
        self.unseen = 0
        self._stick_to_end()
        self._announce()

    def action_top(self) -> None:
        """Jump to the first kept line (pauses following)."""
        self.scroll_home(animate=False, immediate=True)

    def _announce(self) -> None:
        self.post_message(self.FollowChanged(self, self.following, self.unseen))

    # -- search ---------------------------------------------------------------------------

    def set_pattern(self, pattern: re.Pattern[str] | None) -> int:
        """Highlight `pattern`; returns how many kept lines match."""
        self.pattern = pattern
        self.current_match = None
        self._strips.clear()
        self.refresh()
        if pattern is None:
            return 0
        return sum(1 for text in self._lines.texts if pattern.search(text))

    def goto_match(self, forward: bool = True) -> LogLine | None:
        """Move to the next (or previous) matching line, wrapping around; None if no match."""
        if self.pattern is None or not self._lines:
            return None
        count = len(self._lines)
        if self.current_match is not None:
            start = self.current_match - self.first_number
        else:
            start = self._locate(int(self.scroll_y))[0] - 1 if self._rows else -1
        step = 1 if forward else -1
        for offset in range(1, count + 1):
            index = (start + step * offset) % count
            if self.pattern.search(self._lines.texts[index]):
                line = self._lines[index]
                self.current_match = line.number
                self._strips.clear()
                target = self._row_starts[index] if index < len(self._row_starts) else index
                self.following = False
                self._adjusting = True
                try:
                    self.scroll_to(
                        y=max(0, target - self.size.height // 3), animate=False, immediate=True
                    )
                finally:
                    self._adjusting = False
                self._announce()
                self.refresh()
                return line
        return None
