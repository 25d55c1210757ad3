"""The task list on its own: a line-API table fed by `TaskList.apply`, no server needed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from kbench_tui.api.models import (
    ApiBenchmarkTask,
    ApiBenchmarkTaskSlug,
    BenchmarkTaskVersionCreationState,
)
from kbench_tui.tui.widgets.task_list import TaskList
from kbench_tui.watch.poller import diff_by_key

START = datetime(2026, 3, 1, 12, 0)


def make_task(slug: str, minutes: int, state: str = "COMPLETED") -> ApiBenchmarkTask:
    return ApiBenchmarkTask(
        slug=ApiBenchmarkTaskSlug(owner_slug="demo", task_slug=slug, version_number=1),
        creation_state=BenchmarkTaskVersionCreationState(state),
        create_time=START + timedelta(minutes=minutes),
    )


class ListApp(App[None]):
    """Just the task list, recording what it tells the dashboard."""

    CSS_PATH = "../../kbench_tui/tui/app.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str | None] = []
        self.chosen: list[str] = []
        self.known: dict[str, ApiBenchmarkTask] = {}

    def compose(self) -> ComposeResult:
        yield TaskList(id="task-list")

    @property
    def task_list(self) -> TaskList:
        return self.query_one(TaskList)

    def poll(self, tasks: list[ApiBenchmarkTask]) -> None:
        """Hand `tasks` over as the poller does: newest first, with the diff."""
        ordered = sorted(tasks, key=lambda task: task.create_time or START, reverse=True)
        self.known, diff = diff_by_key(self.known, ordered, lambda task: task.slug.task_slug)
        self.task_list.apply(ordered, diff)

    def on_task_list_task_highlighted(self, message: TaskList.TaskHighlighted) -> None:
        self.highlighted.append(message.task_slug)

    def on_task_list_task_chosen(self, message: TaskList.TaskChosen) -> None:
        self.chosen.append(message.task_slug)


def many(count: int) -> list[ApiBenchmarkTask]:
    return [make_task(f"task-{number:05d}", number) for number in range(count)]


def shown_text(pilot: Pilot[Any], row: int) -> str:
    """The painted text of table row `row` (0 = the first task, below the header)."""
    table = pilot.app.query_one(TaskList).table
    return table.render_line(row - int(table.scroll_y) + 1).text


async def test_rows_newest_first_and_the_cursor_keeps_its_task() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll([make_task("old", 1), make_task("new", 2)])
        await pilot.pause()
        table = app.task_list.table
        assert [row.key.value for row in table.ordered_rows] == ["new", "old"]
        assert app.highlighted == ["new"]
        table.move_cursor(row=1)
        await pilot.pause()
        assert app.task_list.highlighted_slug == "old"
        # A newer task arrives above: the cursor stays on its task, which moved down.
        app.poll([make_task("old", 1), make_task("new", 2), make_task("newest", 3)])
        await pilot.pause()
        assert table.cursor_row == 2 and app.task_list.highlighted_slug == "old"
        assert app.highlighted == ["new", "old"], "no announcement: the task did not change"
        # The task under the cursor is deleted: the cursor stays at its index.
        app.poll([make_task("new", 2), make_task("newest", 3)])
        await pilot.pause()
        assert app.task_list.highlighted_slug == "new"
        assert app.highlighted[-1] == "new"


async def test_a_changed_task_is_repainted() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll([make_task("a", 1, "QUEUED"), make_task("b", 2)])
        await pilot.pause()
        assert "queued" in shown_text(pilot, 1)
        app.poll([make_task("a", 1, "COMPLETED"), make_task("b", 2)])
        await pilot.pause()
        assert "ready" in shown_text(pilot, 1), "the cached row was dropped"
        assert str(app.task_list.table.get_cell("a", "state")) == "● ready"


async def test_filter_narrows_and_clears_at_ten_thousand_tasks() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll(many(10_000))
        await pilot.pause()
        task_list = app.task_list
        table = task_list.table
        assert table.row_count == 10_000 and table.cursor_row == 0
        table.move_cursor(row=table.get_row_index("task-00500"))
        await pilot.pause()
        task_list.set_filter("task-005")
        assert table.row_count == 100
        assert task_list.highlighted_slug == "task-00500", "still matches: the cursor stays"
        task_list.set_filter("task-0001[0-2]")
        assert [str(key) for key in table.rows] == ["task-00012", "task-00011", "task-00010"]
        assert task_list.highlighted_slug == "task-00012", "no longer shown: the first match"
        task_list.set_filter("no such task")
        assert table.row_count == 0 and task_list.highlighted_slug is None
        task_list.set_filter("")
        await pilot.pause()
        assert table.row_count == 10_000
        # The cursor is where the filter left it (the first row) and on screen.
        assert task_list.highlighted_slug == "task-09999"
        assert shown_text(pilot, 0).lstrip().startswith("task-09999")


async def test_keys_move_the_cursor_and_enter_chooses() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll(many(200))
        await pilot.pause()
        table = app.task_list.table
        app.task_list.focus_table()
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k", "up")
        assert table.cursor_row == 1
        page = table.scrollable_content_region.height - 1
        await pilot.press("pagedown")
        assert table.cursor_row == 1 + page
        assert table.scroll_y > 0, "the page scrolled with the cursor"
        await pilot.press("end")
        assert table.cursor_row == 199
        assert shown_text(pilot, 199).lstrip().startswith("task-00000")
        await pilot.press("pageup", "home")
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.press("enter")
        assert app.chosen == ["task-00199"]


async def test_click_highlights_then_chooses() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll(many(5))
        await pilot.pause()
        table = app.task_list.table
        # Row 2 is the third line of the table (the header is the first).
        await pilot.click(table, offset=(3, 3))
        assert table.cursor_row == 2
        assert not app.chosen
        await pilot.click(table, offset=(3, 3))
        assert app.chosen == ["task-00002"]
        await pilot.click(table, offset=(3, 0))
        assert table.cursor_row == 2, "the header is not a row"


async def test_columns_fit_the_pane_without_sideways_scrolling() -> None:
    app = ListApp()
    long_slug = "a-very-long-task-slug-that-cannot-fit"
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll([make_task(long_slug, 1), make_task("short", 0)])
        await pilot.pause()
        table = app.task_list.table
        assert [key for key, _ in table.shown_columns] == ["task", "state", "version", "created"]
        line = shown_text(pilot, 0)
        assert "…" in line and long_slug not in line, "a long slug ends in an ellipsis"
        assert table.virtual_size.width <= table.size.width
        assert not table.show_horizontal_scrollbar
        # At 120 columns the slug would get less than its 12 cells: the version gives way.
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        widths = dict(table.shown_columns)
        assert "version" not in widths and widths["task"] >= 12
        assert table.virtual_size.width <= table.size.width
        assert not table.show_horizontal_scrollbar
        assert "03-01 12:01" in shown_text(pilot, 0), "the created time still shows"


async def test_a_burst_of_moves_is_announced_once_it_settles() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll(many(100))
        await pilot.pause()
        task_list = app.task_list
        # Wider than the default 0.1 s so that a loaded machine (the presses arrive slower)
        # still counts the four presses below as one burst.
        task_list.SETTLE = 0.5
        task_list.focus_table()
        app.highlighted.clear()
        await pilot.press("j")
        await pilot.pause()
        assert app.highlighted == ["task-00098"], "a single move is announced at once"
        await pilot.press("j", "j", "j", "j")
        assert app.task_list.highlighted_slug == "task-00094", "the cursor itself never waits"
        await pilot.pause(task_list.SETTLE * 2)
        assert app.highlighted == ["task-00098", "task-00094"], "only where the cursor rests"


async def test_a_task_that_comes_back_shows_its_new_cells() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        app.poll([make_task("alpha", 1, "COMPLETED"), make_task("beta", 2)])
        await pilot.pause()
        assert "ready" in shown_text(pilot, 1)
        app.poll([make_task("beta", 2)])  # deleted ...
        await pilot.pause()
        app.poll([make_task("alpha", 0, "ERRORED"), make_task("beta", 2)])  # ... pushed again
        await pilot.pause()
        assert "errored" in shown_text(pilot, 1), "not the row cached before it went away"


async def test_a_poll_does_not_scroll_a_list_the_user_scrolled_away() -> None:
    app = ListApp()
    async with app.run_test(size=(140, 30)) as pilot:
        tasks = many(200)
        app.poll(tasks)
        await pilot.pause()
        table = app.task_list.table
        table.scroll_to(y=40, animate=False)  # the wheel or the scrollbar: the cursor stays
        await pilot.pause()
        assert table.scroll_y == 40 and table.cursor_row == 0
        app.poll([*tasks, make_task("older", -5)])  # a task appears at the bottom
        await pilot.pause()
        await pilot.pause()
        assert table.scroll_y == 40, "the view stays where the user put it"
