"""The run table (right, top): the selected task's runs per model, updated in place by run id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from kbench_tui.tui.format import elapsed, format_clock, last_line, model_colour, state_text
from kbench_tui.tui.widgets.columns import fit_column

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTaskRun
    from kbench_tui.watch.poller import Diff

# Model names are long ("qwen3-235b-a22b-instruct-2507"): 26 cells keep them telling apart.
# State, times and run id size to their content; the error takes whatever width is left
# (see `fit_column`), so the table never needs a horizontal scrollbar.
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("Model", "model", 26),
    ("State", "state", None),
    ("Started", "started", None),
    ("Ended", "ended", None),
    ("Elapsed", "elapsed", 7),
    ("Run", "run", None),
    ("Error", "error", 5),
)
ERROR_MIN_WIDTH = 5


class RunData(DataTable[str | Text]):
    """The run table's DataTable, with render caches sized to what it shows.

    DataTable keys its render caches by a counter that every cell update bumps, and the
    elapsed column is updated every second while a run is active: each tick makes the
    visible rows' entries new, and the old ones stay until the LRU caches are full
    (10,000 cells, 1,000 rows, 1,000 lines). Filling them took ~17 minutes of a live run
    and showed as steady memory growth (~0.7 MB a minute) in the 10-minute soak
    (tests/bench/bench_memory.py). A table of a task's runs needs a screenful of each.
    """

    CELLS = 2000
    ROWS = 200

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        # Private to DataTable (checked against Textual 8.0-8.2); if a release renames
        # them, these are merely unused and the defaults apply.
        self._cell_render_cache = LRUCache(self.CELLS)
        self._row_render_cache = LRUCache(self.ROWS)
        self._line_cache = LRUCache(self.ROWS)


class RunTable(Vertical):
    """Runs of one task as a table keyed by run id; elapsed ticks while a run is active."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="run-down"),
        Binding("k", "cursor_up", "Up", show=False, id="run-up"),
    ]

    @dataclass
    class RunHighlighted(Message):
        """The cursor moved onto a run (None when the table became empty)."""

        run_table: RunTable
        run_id: int | None

        @property
        def control(self) -> RunTable:
            return self.run_table

    @dataclass
    class RunChosen(Message):
        """Enter was pressed on a run."""

        run_table: RunTable
        run_id: int

        @property
        def control(self) -> RunTable:
            return self.run_table

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.task_slug: str | None = None
        self.runs: dict[int, ApiBenchmarkTaskRun] = {}

    def compose(self) -> ComposeResult:
        yield Static("Runs", id="run-title", classes="pane-title")
        table = RunData(id="run-data")
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static("Select a task to see its runs.", id="run-empty")

    def on_mount(self) -> None:
        # Only the elapsed cells of active runs change with time; one cheap tick a second.
        self.set_interval(1.0, self.tick)

    @property
    def table(self) -> DataTable[str | Text]:
        """The underlying table."""
        return self.query_one("#run-data", DataTable)

    @property
    def highlighted_run(self) -> int | None:
        """Id of the run under the cursor."""
        table = self.table
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def focus_table(self) -> None:
        """Give the keyboard to the table."""
        self.table.focus()

    def _cells(self, run: ApiBenchmarkTaskRun) -> tuple[Text, Text, str, str, str, str, Text]:
        model = run.model
        now = self._now()
        return (
            Text(model, style=model_colour(model), overflow="ellipsis", no_wrap=True),
            state_text(run.state.short),
            format_clock(run.start_time, now),
            # Same day as the start: the time alone says it.
            format_clock(run.end_time, run.start_time or now),
            elapsed(run.start_time, run.end_time, now),
            str(run.id),
            Text(last_line(run.error_message), style="red", overflow="ellipsis", no_wrap=True),
        )

    def show_task(self, task_slug: str | None) -> None:
        """Switch to another task: its runs arrive with the next poll."""
        if task_slug == self.task_slug:
            return
        self.task_slug = task_slug
        self.runs = {}
        self.table.clear()
        self.query_one("#run-title", Static).update(
            Text.assemble(("Runs", "bold"), f" · {task_slug}") if task_slug else "Runs"
        )
        self._set_message("Loading runs…" if task_slug else "Select a task to see its runs.")

    def apply(
        self, task_slug: str, runs: list[ApiBenchmarkTaskRun], diff: Diff[int, ApiBenchmarkTaskRun]
    ) -> None:
        """Bring the table up to date with a poll of `task_slug`'s runs."""
        if task_slug != self.task_slug:
            return
        table = self.table
        before = self.highlighted_run
        known = set(self.runs)
        self.runs = {run.id: run for run in runs}
        for run in runs:
            key = str(run.id)
            if run.id not in known or key not in table.rows:
                table.add_row(*self._cells(run), key=key)
        for old, run in diff.changed:
            key = str(run.id)
            if key not in table.rows:
                continue
            for (_, column, _), value, previous in zip(
                COLUMNS, self._cells(run), self._cells(old), strict=False
            ):
                if value != previous:
                    table.update_cell(key, column, value)
        for run_id in diff.removed:
            if str(run_id) in table.rows:
                table.remove_row(str(run_id))
        self._set_message(None if runs else "No runs yet. Run models on this task with `r`.")
        if before is None and table.row_count:
            # The task's runs just arrived: start on a run whose log is live, if any.
            table.move_cursor(row=self._first_run_row(), animate=False)
        # Auto-sized columns (times, run ids) may have grown: give the error what is left.
        self.call_after_refresh(self._fit_error_column)
        current = self.highlighted_run
        if current != before or (before is None and current is not None):
            self.post_message(self.RunHighlighted(self, current))

    def _first_run_row(self) -> int:
        """Row of the first RUNNING run (its log streams live), else the first row."""
        for index, row in enumerate(self.table.ordered_rows):
            run = self.runs.get(int(row.key.value)) if row.key.value is not None else None
            if run is not None and run.state.short == "RUNNING":
                return index
        return 0

    def _fit_error_column(self) -> None:
        fit_column(self.table, "error", minimum=ERROR_MIN_WIDTH)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit_error_column)

    def show_error(self, message: str) -> None:
        """A visible state when the runs could not be listed."""
        self._set_message(Text(message, style="bold red"))

    def _set_message(self, message: str | Text | None) -> None:
        empty = self.query_one("#run-empty", Static)
        if message is None:
            empty.add_class("hidden")
        else:
            empty.update(message)
            empty.remove_class("hidden")

    def tick(self) -> None:
        """Refresh the elapsed time of runs that are still going."""
        table = self.table
        now = self._now()
        for run in self.runs.values():
            if run.start_time is not None and run.end_time is None and str(run.id) in table.rows:
                table.update_cell(str(run.id), "elapsed", elapsed(run.start_time, None, now))

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    @on(DataTable.RowHighlighted, "#run-data")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.RunHighlighted(self, int(event.row_key.value)))

    @on(DataTable.RowSelected, "#run-data")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.RunChosen(self, int(event.row_key.value)))
