"""The task list (left pane): every task, newest first, filterable by regex, updated in place."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import RowKey

from kbench_tui.tui.format import format_created, task_state_text
from kbench_tui.tui.widgets.columns import fit_column

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTask
    from kbench_tui.watch.poller import Diff

# Fixed widths: the header and rows never re-measure as tasks come and go. The slug takes
# what the pane leaves (`fit_column`, about 24 cells at 140 columns), never less than 12.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("Task", "task", 24),
    ("State", "state", 10),
    ("Ver", "version", 3),
    ("Created", "created", 11),
)
SLUG_MIN_WIDTH = 12


def task_cells(task: ApiBenchmarkTask) -> tuple[str, Text, str, str]:
    """The cells of one task row, in column order."""
    version = task.slug.version_number
    return (
        # A plain string: the sort hands this cell to its key, which looks the task up.
        task.slug.task_slug,
        # Mark plus a short word: the list is narrow and the word reads without colour.
        task_state_text(task.creation_state.short),
        "?" if version is None else str(version),
        format_created(task.create_time),
    )


def _order_key(task: ApiBenchmarkTask) -> tuple[str, str]:
    """Newest first: creation time, then slug for a stable order between equal times."""
    created = task.create_time.isoformat() if task.create_time else ""
    return (created, task.slug.task_slug)


def _newest_first(tasks: list[ApiBenchmarkTask]) -> bool:
    """Whether `tasks` is already in the list's order (so no sort is needed)."""
    keys = [_order_key(task) for task in tasks]
    return all(earlier >= later for earlier, later in pairwise(keys))


class TaskTable(DataTable[str | Text]):
    """The task rows: fixed-width columns and one-line rows, so new rows need no measuring."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row to size auto-width columns: at
        # 11,000 rows that is ~1.8 s after each refill. Ours are all fixed width (the slug
        # is fitted to the pane, `fit_column`) and rows have no labels or auto height, so
        # only the virtual size is left to compute.
        if any(column.auto_width for column in self.columns.values()):
            super()._update_dimensions(new_rows)
        else:
            super()._update_dimensions(())


class TaskList(Vertical):
    """Tasks as a table keyed by slug; `/` filters by regex as you type."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="filter-tasks"),
        Binding("j", "cursor_down", "Down", show=False, id="task-down"),
        Binding("k", "cursor_up", "Up", show=False, id="task-up"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-task-filter"),
    ]

    @dataclass
    class TaskHighlighted(Message):
        """The cursor moved onto a task (None when the list became empty)."""

        task_list: TaskList
        task_slug: str | None

        @property
        def control(self) -> TaskList:
            return self.task_list

    @dataclass
    class TaskChosen(Message):
        """Enter was pressed on a task: the user wants to look at its runs."""

        task_list: TaskList
        task_slug: str

        @property
        def control(self) -> TaskList:
            return self.task_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tasks: dict[str, ApiBenchmarkTask] = {}
        self.pattern: re.Pattern[str] | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter tasks by regex", id="task-filter", classes="hidden")
        yield Static("", id="task-filter-error", classes="hidden")
        table = TaskTable(id="task-table", cursor_type="row", zebra_stripes=False)
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static("Loading tasks…", id="task-empty")

    @property
    def table(self) -> DataTable[str | Text]:
        """The underlying table."""
        return self.query_one("#task-table", DataTable)

    @property
    def highlighted_slug(self) -> str | None:
        """Slug of the row under the cursor."""
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def focus_table(self) -> None:
        """Give the keyboard to the table."""
        self.table.focus()

    def on_resize(self) -> None:
        self.call_after_refresh(fit_column, self.table, "task", minimum=SLUG_MIN_WIDTH)

    def _visible(self, slug: str) -> bool:
        return self.pattern is None or self.pattern.search(slug) is not None

    def apply(self, tasks: list[ApiBenchmarkTask], diff: Diff[str, ApiBenchmarkTask]) -> None:
        """Bring the table up to date with a poll: add, update and remove rows by key."""
        self.loaded = True
        self.tasks = {task.slug.task_slug: task for task in tasks}
        table = self.table
        before = self.highlighted_slug
        was_empty = table.row_count == 0
        added = [task for task in diff.added if self._visible(task.slug.task_slug)]
        for task in added:
            self._add(task)
        for _, task in diff.changed:
            slug = task.slug.task_slug
            if slug in table.rows:
                for (_, key, _), value in zip(COLUMNS, task_cells(task), strict=False):
                    table.update_cell(slug, key, value)
        for slug in diff.removed:
            if slug in table.rows:
                table.remove_row(slug)
        # The poller hands tasks over newest first: a first load is then already in order,
        # and sorting 1,000 rows again would cost a noticeable part of the start-up.
        if diff.added and not (was_empty and _newest_first(added)):
            self._sort()
        self._after_change(before)

    def _add(self, task: ApiBenchmarkTask) -> None:
        self.table.add_row(*task_cells(task), key=task.slug.task_slug)

    def _sort(self) -> None:
        self.table.sort("task", key=lambda slug: _order_key(self.tasks[slug]), reverse=True)

    def _after_change(self, previous: str | None) -> None:
        table = self.table
        empty = self.query_one("#task-empty", Static)
        if table.row_count:
            empty.add_class("hidden")
        else:
            empty.remove_class("hidden")
            if not self.tasks:
                empty.update("No tasks yet. Push one with `kaggle b t push` (or `p`).")
            else:
                empty.update("No task matches the filter.")
        # Keep the cursor on the same task when rows move around it.
        if previous is not None and previous in table.rows:
            index = table.get_row_index(previous)
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)
        current = self.highlighted_slug
        if current != previous:
            self.post_message(self.TaskHighlighted(self, current))

    def set_filter(self, text: str) -> None:
        """Show only tasks whose slug matches `text` (a regex); invalid regex shown inline."""
        error = self.query_one("#task-filter-error", Static)
        try:
            pattern = re.compile(text, re.IGNORECASE) if text else None
        except re.error as problem:
            error.update(Text(f"invalid regex: {problem}", style="bold red"))
            error.remove_class("hidden")
            return
        error.add_class("hidden")
        if pattern == self.pattern:
            return
        self.pattern = pattern
        self._rebuild()

    def _rebuild(self) -> None:
        """Refill the table with the visible tasks in one sorted pass.

        Adding or removing DataTable rows one at a time re-indexes every row per call and
        a sort moves them all again: at 11,000 tasks clearing a filter took ~40 s. One
        `clear()` and the rows appended in order cost one pass. Only a filter change comes
        here; a poll updates rows in place by key (`apply`).
        """
        table = self.table
        before = self.highlighted_slug
        visible = [task for slug, task in self.tasks.items() if self._visible(slug)]
        visible.sort(key=_order_key, reverse=True)
        # The cursor passes over the first row while the table refills; only where it
        # lands (`_after_change`) is news to the screen.
        with self.prevent(DataTable.RowHighlighted):
            table.clear()
            for task in visible:
                self._add(task)
            self._after_change(before)

    def action_filter(self) -> None:
        """Open the filter field."""
        field = self.query_one("#task-filter", Input)
        field.remove_class("hidden")
        field.focus()

    def action_clear_filter(self) -> None:
        """Close the filter field and show every task again."""
        field = self.query_one("#task-filter", Input)
        field.value = ""
        field.add_class("hidden")
        self.set_filter("")
        self.focus_table()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    @on(Input.Changed, "#task-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    @on(Input.Submitted, "#task-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_table()

    @on(DataTable.RowHighlighted, "#task-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.TaskHighlighted(self, event.row_key.value))

    @on(DataTable.RowSelected, "#task-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.TaskChosen(self, event.row_key.value))
