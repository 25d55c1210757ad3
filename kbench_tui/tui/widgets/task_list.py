"""The task list (left pane): every task, newest first, filterable by regex, updated in place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from kbench_tui.tui.format import format_created, task_state_text
from kbench_tui.tui.widgets.line_table import Column, LineTable

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTask
    from kbench_tui.watch.poller import Diff

# The slug takes what the pane leaves (about 24 cells at 140 columns). Below 12 cells the
# version column gives way (at 120 columns the slug gets 15), so the list never needs a
# horizontal scrollbar; long slugs end in an ellipsis.
COLUMNS: tuple[Column, ...] = (
    Column("Task", "task", None, minimum=12),
    Column("State", "state", 10),
    Column("Ver", "version", 3, droppable=True),
    Column("Created", "created", 11),
)


def task_cells(task: ApiBenchmarkTask) -> tuple[str, Text, str, str]:
    """The cells of one task row, in column order."""
    version = task.slug.version_number
    return (
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


class TaskList(Vertical):
    """Tasks as a table keyed by slug; `/` filters by regex as you type.

    The tasks live here (`tasks`, plus every slug in display order); the table is handed
    the slugs to show and asks for a row's cells only when it draws the row. A filter
    change is one regex pass over the slugs, whatever the number of tasks.

    `TaskHighlighted` follows the cursor at once for a single move; while the user keeps
    moving it (a held `j`, typing a filter) the moves in between are not announced, only
    where the cursor rests `SETTLE` seconds later. Every announcement makes the dashboard
    switch the runs and log panes and ask the server for the task's runs: passing over
    fifty tasks should not cost fifty requests and fifty repaints of the other panes.
    A user's move is announced after the frame that shows the cursor on its new row:
    the list answers the key at once and the other panes follow a frame later, instead
    of the cursor waiting for them (a new spool, a runs request, a run table's render).
    """

    SETTLE = 0.1
    """Quiet time after which a moving cursor's task is announced."""

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
        self._order: list[str] = []
        """Every slug, newest first (`_order_key`)."""
        self._order_keys: dict[str, tuple[str, str]] = {}
        self._table = LineTable(COLUMNS, self._cells, id="task-table")
        self._announced_at = float("-inf")
        self._settle_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter tasks by regex", id="task-filter", classes="hidden")
        yield Static("", id="task-filter-error", classes="hidden")
        yield self._table
        yield Static("Loading tasks…", id="task-empty")

    @property
    def table(self) -> LineTable:
        """The underlying table (DataTable-like: `row_count`, `cursor_row`, `move_cursor`…)."""
        return self._table

    @property
    def highlighted_slug(self) -> str | None:
        """Slug of the row under the cursor."""
        return self._table.cursor_key

    def focus_table(self) -> None:
        """Give the keyboard to the table."""
        self._table.focus()

    def _cells(self, slug: str) -> tuple[str, Text, str, str]:
        return task_cells(self.tasks[slug])

    def apply(self, tasks: list[ApiBenchmarkTask], diff: Diff[str, ApiBenchmarkTask]) -> None:
        """Bring the list up to date with a poll: new and removed tasks, changed rows."""
        self.loaded = True
        self.tasks = {task.slug.task_slug: task for task in tasks}
        before = self.highlighted_slug
        keys = self._order_keys
        reorder = bool(diff.added or diff.removed)
        changed = []
        for task in diff.added:
            keys[task.slug.task_slug] = _order_key(task)
            # A slug seen before (removed, then pushed again) must not show its old row.
            changed.append(task.slug.task_slug)
        for slug in diff.removed:
            keys.pop(slug, None)
        for _, task in diff.changed:
            slug = task.slug.task_slug
            key = _order_key(task)
            reorder = reorder or keys.get(slug) != key
            keys[slug] = key
            changed.append(slug)
        if reorder or len(keys) != len(self.tasks):
            for slug, task in self.tasks.items():
                if slug not in keys:
                    keys[slug] = _order_key(task)
            # The poller hands tasks over newest first: then this sort is one linear pass.
            self._order = sorted(self.tasks, key=keys.__getitem__, reverse=True)
            self._show()
        if changed:
            self._table.refresh_rows(changed)
        self._after_change(before)

    def _show(self, fallback_row: int | None = None) -> None:
        pattern = self.pattern
        if pattern is None:
            visible = self._order
        else:
            search = pattern.search
            visible = [slug for slug in self._order if search(slug)]
        self._table.set_rows(visible, fallback_row=fallback_row)

    def _announce(self, *, user: bool) -> None:
        """Post TaskHighlighted for the task under the cursor (see the class docstring).

        A poll's changes are announced at once; a user's move at once unless another came
        less than SETTLE ago, in which case it is announced once the moves stop.
        """
        if not user:
            self.post_message(self.TaskHighlighted(self, self.highlighted_slug))
            return
        if self._settle_timer is not None:
            self._settle_timer.stop()
            self._settle_timer = None
        now = monotonic()
        if now - self._announced_at >= self.SETTLE:
            self._announced_at = now
            self.call_after_refresh(self._announce_now)
        else:
            self._announced_at = now
            self._settle_timer = self.set_timer(self.SETTLE, self._settled)

    def _settled(self) -> None:
        self._settle_timer = None
        self._announced_at = monotonic()
        self.call_after_refresh(self._announce_now)

    def _announce_now(self) -> None:
        self.post_message(self.TaskHighlighted(self, self.highlighted_slug))

    def _after_change(self, previous: str | None, *, user: bool = False) -> None:
        empty = self.query_one("#task-empty", Static)
        if self._table.row_count:
            empty.add_class("hidden")
        else:
            empty.remove_class("hidden")
            if not self.tasks:
                empty.update("No tasks yet. Push one with `kaggle b t push` (or `p`).")
            else:
                empty.update("No task matches the filter.")
        if self.highlighted_slug != previous:
            self._announce(user=user)

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
        before = self.highlighted_slug
        self.pattern = pattern
        # The cursor stays on its task if that still matches, else goes to the first match.
        self._show(fallback_row=0)
        self._after_change(before, user=True)

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
        self._table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self._table.action_cursor_up()

    @on(Input.Changed, "#task-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    @on(Input.Submitted, "#task-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_table()

    @on(LineTable.RowHighlighted, "#task-table")
    def _row_highlighted(self, event: LineTable.RowHighlighted) -> None:
        event.stop()
        self._announce(user=True)

    @on(LineTable.RowSelected, "#task-table")
    def _row_selected(self, event: LineTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.TaskChosen(self, event.key))
