"""`LineTable`: a line-API table of one-line rows keyed by string, for lists of many rows.

Textual's `DataTable` keeps a widget-side record per row and re-renders every visible
cell whenever the cursor moves: at 11,000 tasks a refill after a filter change took
~0.4 s (`add_row` per row) and a cursor step ~25 ms of rendering. Here the rows are a
plain list of keys (the caller owns the data and hands over the visible keys in order,
so filtering is building a list), cells are asked for only when a row comes on screen,
and each row's rendered `Strip` is cached until the row changes, so moving the cursor
re-renders two rows.

It looks and behaves like a `cursor_type="row"` DataTable (same component styles, keys,
click to highlight, click again to select) and offers the subset of DataTable's API the
dashboard, tests and scripts use on the task table (`row_count`, `rows`, `ordered_rows`,
`cursor_row`, `move_cursor`, `get_row_index`, `get_cell`, `get_row_at`,
`coordinate_to_cell_key`). Columns have fixed widths except one flexible column that
takes what the others leave; when even its minimum does not fit, droppable columns are
hidden, and whatever still does not fit is cut at the edge: the table never scrolls
sideways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


@lru_cache(maxsize=64)
def _column_meta(index: int) -> Style:
    return Style.from_meta({"column": index})


class RowKey(str):
    """A row key: the string itself, with DataTable's `.value` for callers written for it."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)


class OrderedRow(NamedTuple):
    """A row in display order (DataTable's `ordered_rows` items carry `.key`)."""

    key: RowKey


class CellKey(NamedTuple):
    row_key: RowKey
    column_key: RowKey


@dataclass(frozen=True)
class Column:
    """A column: `width` None marks the flexible column (at least `minimum` cells)."""

    label: str
    key: str
    width: int | None
    minimum: int = 1
    droppable: bool = False
    """Hidden when the flexible column would otherwise fall below its minimum."""


class RowsView:
    """`table.rows`: membership by key (str), iteration in display order, length."""

    def __init__(self, table: LineTable) -> None:
        self._table = table

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._table._positions()

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(key) for key in self._table._keys)

    def __len__(self) -> int:
        return len(self._table._keys)


class LineTable(ScrollView, can_focus=True):
    """One-line rows keyed by string, a header row, and a row cursor."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        # DataTable's home/end scroll sideways; with no sideways scrolling they go to the
        # first and last row, like ctrl+home/ctrl+end.
        Binding("home,ctrl+home", "cursor_top", "Top", show=False),
        Binding("end,ctrl+end", "cursor_bottom", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--hover",
    }

    # DataTable's look for a row cursor (textual/widgets/_data_table.py), so the task list
    # looks like the run table next to it.
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        &:focus {
            background-tint: $foreground 5%;
            & > .line-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .line-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .line-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .line-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .line-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .line-table--hover {
            background: $block-hover-background;
        }
    }
    """

    CELL_PADDING = 1

    @dataclass
    class RowHighlighted(Message):
        """The cursor moved onto row `cursor_row` (key `key`)."""

        table: LineTable
        cursor_row: int
        key: str

        @property
        def control(self) -> LineTable:
            return self.table

    @dataclass
    class RowSelected(Message):
        """Enter (or a click on the cursor row) chose row `cursor_row`."""

        table: LineTable
        cursor_row: int
        key: str

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[str], Sequence[Cell]],
        *,
        id: str | None = None,
    ) -> None:
        """`cells(key)` gives a row's cells in column order; asked when the row is drawn."""
        super().__init__(id=id)
        self.columns = tuple(columns)
        self._cells_of = cells
        self._keys: Sequence[str] = ()
        self._index: dict[str, int] | None = None
        self._cursor = 0
        self._hover: int | None = None
        self._widths: list[int] = [column.width or column.minimum for column in self.columns]
        self._layout_width = -1
        self._strips: LRUCache[str, Strip] = LRUCache(1024)
        self._strip_style: Style | None = None

    # -- rows -----------------------------------------------------------------------------

    def set_rows(self, keys: Sequence[str], *, fallback_row: int | None = None) -> None:
        """Show `keys` in this order (the caller must not mutate the sequence afterwards).

        The cursor stays on its row's key when that is still shown, else goes to
        `fallback_row` (None: the same index), clamped. No RowHighlighted is posted: the
        caller compares `cursor_key` before and after, and knows what it changed.
        """
        previous = self.cursor_key
        previous_row = self._cursor
        self._keys = keys
        self._index = None
        self._hover = None
        cursor = self._cursor if fallback_row is None else fallback_row
        if previous is not None:
            cursor = self._positions().get(previous, cursor)
        self._cursor = max(0, min(cursor, len(keys) - 1))
        self._update_virtual_size()
        self.refresh()
        if self._cursor != previous_row:
            # Only a cursor that moved brings the view to it: a poll that adds a task
            # elsewhere leaves a list the user scrolled away (wheel, scrollbar) alone.
            self._scroll_to_cursor()
            # The height (auto) follows the row count at the next layout; scroll again then.
            self.call_after_refresh(self._scroll_to_cursor)

    def refresh_rows(self, keys: Sequence[str]) -> None:
        """The cells of `keys` changed: drop their cached rendering and repaint them."""
        positions = self._positions()
        top = int(self.scroll_y)
        height = self.size.height
        for key in keys:
            self._strips.discard(key)
            row = positions.get(key)
            if row is not None and top <= row < top + height:
                self.refresh_line(row + 1)

    def _positions(self) -> dict[str, int]:
        if self._index is None:
            self._index = {key: row for row, key in enumerate(self._keys)}
        return self._index

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def rows(self) -> RowsView:
        return RowsView(self)

    @property
    def ordered_rows(self) -> list[OrderedRow]:
        return [OrderedRow(RowKey(key)) for key in self._keys]

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_coordinate(self) -> Coordinate:
        return Coordinate(self._cursor, 0)

    @property
    def cursor_key(self) -> str | None:
        """Key of the row under the cursor (None when there are no rows)."""
        return self._keys[self._cursor] if self._keys else None

    def get_row_index(self, key: str) -> int:
        try:
            return self._positions()[key]
        except KeyError:
            raise KeyError(f"no row with key {key!r}") from None

    def get_row(self, key: str) -> list[Cell]:
        self.get_row_index(key)
        return list(self._cells_of(key))

    def get_row_at(self, row: int) -> list[Cell]:
        return list(self._cells_of(self._keys[row]))

    def get_cell(self, key: str, column: str) -> Cell:
        index = next(i for i, c in enumerate(self.columns) if c.key == column)
        return self.get_row(key)[index]

    def coordinate_to_cell_key(self, coordinate: tuple[int, int]) -> CellKey:
        row, column = coordinate
        return CellKey(RowKey(self._keys[row]), RowKey(self.columns[column].key))

    # -- cursor ---------------------------------------------------------------------------

    def move_cursor(
        self,
        *,
        row: int | None = None,
        column: int | None = None,
        animate: bool = False,
        scroll: bool = True,
    ) -> None:
        """Put the cursor on `row` (clamped); posts RowHighlighted when it moved."""
        del column, animate  # one cursor column, and moves are never animated
        if row is None or not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        previous = self._cursor
        if scroll:
            self._scroll_to_row(row)
        if row == previous:
            return
        self._cursor = row
        self._refresh_row(previous)
        self._refresh_row(row)
        self.post_message(self.RowHighlighted(self, row, self._keys[row]))

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_row(self, row: int) -> None:
        height = self.scrollable_content_region.height - 1
        if height <= 0:
            return  # not laid out yet; set_rows scrolls again after the next refresh
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, force=True)

    def _scroll_to_cursor(self) -> None:
        if self._keys:
            self._scroll_to_row(self._cursor)

    def _refresh_row(self, row: int) -> None:
        self.refresh_line(row + 1)

    def _keyboard(self) -> None:
        """A key moves the cursor: the mouse's hover highlight goes, as in DataTable."""
        if self._hover is not None:
            self._refresh_row(self._hover)
            self._hover = None

    def action_cursor_up(self) -> None:
        self._keyboard()
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._keyboard()
        self.move_cursor(row=self._cursor + 1)

    def action_page_down(self) -> None:
        self._keyboard()
        page = self._page_height()
        self.scroll_to(y=self.scroll_y + page, animate=False, force=True)
        self.move_cursor(row=self._cursor + page)

    def action_page_up(self) -> None:
        self._keyboard()
        page = self._page_height()
        self.scroll_to(y=max(0, self.scroll_y - page), animate=False, force=True)
        self.move_cursor(row=self._cursor - page)

    def action_cursor_top(self) -> None:
        self._keyboard()
        self.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self._keyboard()
        self.move_cursor(row=len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        self._keyboard()
        if self._keys:
            self.post_message(self.RowSelected(self, self._cursor, self._keys[self._cursor]))

    # -- mouse ----------------------------------------------------------------------------

    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return None  # outside the rows, or the header
        row = int(self.scroll_y) + offset.y - 1
        return row if row < len(self._keys) else None

    def _on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        event.stop()
        if row == self._cursor:
            self.post_message(self.RowSelected(self, row, self._keys[row]))
        else:
            self.move_cursor(row=row)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        row = self._row_at(event)
        if row != self._hover:
            if self._hover is not None:
                self._refresh_row(self._hover)
            self._hover = row
            if row is not None:
                self._refresh_row(row)

    def _on_leave(self, event: events.Leave) -> None:
        self._keyboard()

    # -- layout ---------------------------------------------------------------------------

    def _fit_columns(self) -> None:
        """Widths for the current size: the flexible column takes what the others leave.

        A vertical scrollbar's width is always reserved, so the columns do not jump when
        the rows grow past the height.
        """
        total = self.size.width
        if total == self._layout_width:
            return
        self._layout_width = total
        available = total - self.styles.scrollbar_size_vertical
        padding = 2 * self.CELL_PADDING
        shown = [True] * len(self.columns)
        flexible = next((i for i, c in enumerate(self.columns) if c.width is None), None)

        def left() -> int:
            fixed = sum(
                (column.width or 0) + padding
                for column, visible in zip(self.columns, shown, strict=True)
                if visible and column.width is not None
            )
            return available - fixed - (padding if flexible is not None else 0)

        if flexible is not None:
            minimum = self.columns[flexible].minimum
            for index, column in enumerate(self.columns):
                if left() >= minimum:
                    break
                if column.droppable:
                    shown[index] = False
        widths = []
        for column, visible in zip(self.columns, shown, strict=True):
            if not visible:
                widths.append(0)
            elif column.width is None:
                widths.append(max(1, left()))
            else:
                widths.append(column.width)
        self._widths = widths
        self._strips.clear()
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        padding = 2 * self.CELL_PADDING
        width = sum(width + padding for width in self._widths if width)
        available = max(0, self.size.width - self.styles.scrollbar_size_vertical)
        self.virtual_size = Size(min(width, available), len(self._keys) + 1)

    def on_resize(self) -> None:
        self._fit_columns()
        self.refresh()
        self._scroll_to_cursor()

    @property
    def shown_columns(self) -> list[tuple[str, int]]:
        """(key, width) of the columns on screen, in order."""
        return [(c.key, w) for c, w in zip(self.columns, self._widths, strict=True) if w]

    # -- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _line(self, cells: Sequence[Cell], width: int, pre: Style, post: Style | None) -> Strip:
        """One row: each shown cell padded and cut to its width (with an ellipsis).

        Segments are built directly (a Rich `Text` per row costs ~5x more, and rows are
        drawn 50 at a time when a page scrolls in). Each cell gets its own style, with the
        cell's column as meta, as DataTable's cells do: the cells stay separate segments,
        so a terminal or a screenshot lays them out alike.
        """
        pad = " " * self.CELL_PADDING
        get_style = self.app.console.get_style
        segments: list[Segment] = []
        used = 0
        for index, (cell, cell_width) in enumerate(zip(cells, self._widths, strict=False)):
            if not cell_width:
                continue
            outer = pre + _column_meta(index)
            if post is not None:
                outer += post
            if isinstance(cell, str) or not cell.spans:
                plain, style = (cell, None) if isinstance(cell, str) else (cell.plain, cell.style)
                length = cell_len(plain)
                if length > cell_width:
                    plain = set_cell_size(plain, cell_width - 1) + "…"
                    length = cell_width
                fill = " " * (cell_width - length) + pad
                if style:
                    inner = pre + _column_meta(index) + get_style(style)
                    if post is not None:
                        inner += post
                    segments.append(Segment(pad, outer))
                    segments.append(Segment(plain, inner))
                    segments.append(Segment(fill, outer))
                else:
                    segments.append(Segment(pad + plain + fill, outer))
            else:
                text = cell.copy()
                text.truncate(cell_width, overflow="ellipsis", pad=True)
                styled = Text(pad, end="")
                styled.append_text(text)
                styled.append(pad)
                styled.stylize_before(pre + _column_meta(index))
                if post is not None:
                    styled.stylize(post)
                segments.extend(styled.render(self.app.console))
            used += cell_width + 2 * self.CELL_PADDING
        if used <= width:
            if used < width:
                segments.append(Segment(" " * (width - used), pre))
            # Not `crop_extend`: on a strip of the right length it caches the strip in
            # itself, a reference cycle that only the (slow, full) garbage collection frees.
            return Strip(segments, width)
        return Strip(segments, used).crop(0, width)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style is the same for every line of a frame (and costs ~0.1 ms).
        self._fit_columns()
        base = self.rich_style
        if base != self._strip_style:
            self._strips.clear()
            self._strip_style = base
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self._strip_style or self.rich_style
        if y == 0:
            header = self.get_component_styles("line-table--header").rich_style
            return self._line([column.label for column in self.columns], width, header, None)
        row = int(self.scroll_y) + y - 1
        if row >= len(self._keys):
            return Strip.blank(width, base)
        key = self._keys[row]
        cursor = row == self._cursor
        hover = row == self._hover
        if not (cursor or hover):
            strip = self._strips.get(key)
            if strip is None or strip.cell_length != width:
                strip = self._line(self._cells_of(key), width, base, None)
                self._strips[key] = strip
            return strip
        component = Style()
        if hover:
            component += self.get_component_rich_style("line-table--hover")
        if cursor:
            component += self.get_component_rich_style("line-table--cursor")
        # DataTable's default priorities: the cursor's colour wins over the cell's own
        # (a green "ready" reads on the cursor), the cell's background wins over the cursor.
        post = Style.from_color(color=component.color) if component.color else None
        return self._line(self._cells_of(key), width, base + component, post)
