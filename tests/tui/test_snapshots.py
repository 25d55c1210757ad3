"""Snapshot tests: fixed terminal size, the simulator's frozen clock, no toasts on screen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.tui.widgets.status_bar import StatusBar
from kbench_tui.watch.logstream import LogPhase

from .conftest import AppFactory, wait_for

SIZE = (140, 40)  # the size of the manual tmux check

Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def loaded(pilot: Pilot[Any], tasks: int = 12) -> DashboardScreen:
    """Wait for the task list, the user and the quota."""
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    status = screen.query_one(StatusBar)
    await wait_for(pilot, lambda: screen.task_list.table.row_count == tasks)
    await wait_for(pilot, lambda: status.user == "demo" and status.quota is not None)
    return screen


async def show_run(pilot: Pilot[Any], task: str, run_id: int) -> DashboardScreen:
    """Select `task`, then its run `run_id`, and wait for the whole (finished) log."""
    screen = await loaded(pilot)
    tasks = screen.task_list.table
    tasks.move_cursor(row=tasks.get_row_index(task))
    runs = screen.run_table.table
    await wait_for(pilot, lambda: str(run_id) in runs.rows)
    runs.move_cursor(row=runs.get_row_index(str(run_id)))
    pane = screen.log_pane
    await wait_for(
        pilot, lambda: run_id in pane.phases and pane.phases[run_id].phase is LogPhase.ENDED
    )
    return screen


async def settle(pilot: Pilot[Any]) -> None:
    """Drop toasts (they carry timing, not state) and let the screen repaint."""
    pilot.app.clear_notifications()
    # Two rounds: a follow-up scroll (after a scrollbar appeared) lands in the second.
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    # A following log scrolls to its end only after the next refresh; a snapshot taken
    # before that shows it one line short.
    for view in pilot.app.screen.query(LogView):
        if view.following:
            await wait_for(pilot, lambda view=view: view.scroll_y >= view.max_scroll_y)
    await pilot.pause()


def test_main_screen_with_demo_data(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await show_run(pilot, "math-qa", 11)
        await settle(pilot)

    assert snap_compare(make_app(manual_sim), terminal_size=SIZE, run_before=run_before)


def test_empty_state(snap_compare, empty_sim: RunningSim, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(pilot, lambda: screen.task_list.loaded)
        status = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: status.user == "demo" and status.quota is not None)
        await settle(pilot)

    assert snap_compare(make_app(empty_sim), terminal_size=SIZE, run_before=run_before)


def test_offline_error_state_keeps_the_last_data(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await show_run(pilot, "what-is-kaggle", 3)
        # Every request now fails as an outage would (stopping the server instead races
        # with requests in flight, whose answers vary).
        manual_sim.set_faults(["status=503,rate=1"])
        await pilot.press("ctrl+r")
        status = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: not status.online)
        await settle(pilot)

    app = make_app(manual_sim, offline_delays=(8.0,))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_log_search(snap_compare, manual_sim: RunningSim, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await show_run(pilot, "math-qa", 6)
        screen.log_pane.focus_log()
        await pilot.press("slash", *"mismatch", "enter", "n")
        status = screen.log_pane.query_one("#log-search-status")
        await wait_for(pilot, lambda: "full log" in str(status.render()))
        await settle(pilot)

    assert snap_compare(make_app(manual_sim), terminal_size=SIZE, run_before=run_before)


def test_all_runs_view(snap_compare, manual_sim: RunningSim, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await show_run(pilot, "summarization-faithfulness", 25)
        await pilot.press("l")
        pane = screen.log_pane
        await wait_for(pilot, lambda: len(pane.phases) == 3)
        await wait_for(pilot, lambda: all(s.phase is LogPhase.ENDED for s in pane.phases.values()))
        total = sum(s.lines for s in pane.phases.values())
        await wait_for(pilot, lambda: len(pane.view.lines) == total)
        await settle(pilot)

    # The three finished logs answer concurrently; one batch window groups them run by run
    # in the run table's order, whichever answer came first, so the picture is stable.
    app = make_app(manual_sim, log_batch_seconds=0.5)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, manual_sim: RunningSim, make_app: AppFactory) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(manual_sim), terminal_size=SIZE, run_before=run_before)
