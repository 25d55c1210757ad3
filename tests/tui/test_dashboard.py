"""Pilot tests of the dashboard against the simulator (clock moved by hand)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static
from textual.worker import WorkerState

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, start_sim
from kbench_tui.tui.screens.credentials import CredentialsScreen
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.widgets.log_pane import LogPane
from kbench_tui.tui.widgets.run_table import RunData, RunTable
from kbench_tui.tui.widgets.status_bar import StatusBar
from kbench_tui.tui.widgets.task_list import TaskList
from kbench_tui.watch.loglines import LogLines
from kbench_tui.watch.logstream import LogPhase, LogStatus

from .conftest import AppFactory, sim_config, wait_for


def cell(table: DataTable, row: str, column: str) -> str:
    return str(table.get_cell(row, column))


async def select_task(pilot, slug: str) -> DashboardScreen:
    """Move the task cursor onto `slug` and wait for its runs."""
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    table = screen.query_one(TaskList).table
    await wait_for(pilot, lambda: slug in table.rows)
    table.move_cursor(row=table.get_row_index(slug))
    await wait_for(pilot, lambda: screen.run_table.task_slug == slug)
    await wait_for(pilot, lambda: screen.run_table.table.row_count > 0 or not screen.runs)
    return screen


async def select_run(pilot, screen: DashboardScreen, run_id: int) -> None:
    table = screen.run_table.table
    await wait_for(pilot, lambda: str(run_id) in table.rows)
    table.move_cursor(row=table.get_row_index(str(run_id)))
    await wait_for(pilot, lambda: screen.selected_run == run_id)


async def schedule(sim: RunningSim, task: str, model: str) -> int:
    """Schedule a run through the API (as a user of another tool would) and return its id."""
    async with BenchmarksClient(sim.url, Credentials.token("demo-token")) as client:
        await client.schedule_runs(task, [model])
        runs = await client.list_all_runs(task)
    return max(run.id for run in runs if run.model == model)


async def test_three_panes_fill_with_data_newest_task_first(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        tasks = screen.task_list.table
        await wait_for(pilot, lambda: tasks.row_count == 12)
        assert tasks.coordinate_to_cell_key((0, 0)).row_key.value == "image-captioning"
        assert cell(tasks, "no-task-defined", "state") == "✗ invalid", "mark plus a word"
        await select_task(pilot, "math-qa")
        runs = screen.run_table.table
        await wait_for(pilot, lambda: runs.row_count == 6)
        assert "ERRORED" in cell(runs, "11", "state")
        assert cell(runs, "11", "error"), "the last line of the error is shown"
        await wait_for(pilot, lambda: len(screen.log_pane.view.lines) > 10)
        status = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: status.user == "demo" and status.quota is not None)
        # The run table's render caches are sized to a screenful (the elapsed tick makes
        # every entry new each second; DataTable's own sizes took ~17 min of growth to
        # fill). Checks the private names still exist, or the sizing would be a no-op.
        assert isinstance(runs, RunData)
        assert runs._cell_render_cache.maxsize == RunData.CELLS
        assert runs._row_render_cache.maxsize == runs._line_cache.maxsize == RunData.ROWS


async def test_run_states_change_in_place_and_the_log_follows_the_run(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    run_id = await schedule(manual_sim, "what-is-kaggle", "gpt-5-mini")
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "what-is-kaggle")
        table = screen.run_table.table
        cleared: list[bool] = []
        original_clear = table.clear
        table.clear = lambda *a, **k: cleared.append(True) or original_clear(*a, **k)  # type: ignore[method-assign]
        await select_run(pilot, screen, run_id)
        row = table.get_row_index(str(run_id))
        pane = screen.query_one(LogPane)
        assert "QUEUED" in cell(table, str(run_id), "state")
        await wait_for(pilot, lambda: pane.phases.get(run_id) is not None)
        await wait_for(pilot, lambda: pane.phases[run_id].phase is LogPhase.WAITING)
        assert "waiting for logs" in str(pane.query_one("#log-title", Static).render())

        manual_sim.clock.advance(10)  # past the queue: the run starts
        await wait_for(pilot, lambda: "RUNNING" in cell(table, str(run_id), "state"))
        manual_sim.clock.advance(20)
        await wait_for(pilot, lambda: pane.phases[run_id].phase is LogPhase.STREAMING)
        await wait_for(pilot, lambda: len(pane.view.lines) > 0)
        streamed = len(pane.view.lines)

        manual_sim.clock.advance(120)  # past the end of the run
        await wait_for(pilot, lambda: pane.phases[run_id].phase is LogPhase.ENDED)
        await wait_for(
            pilot, lambda: cell(table, str(run_id), "state").split()[-1] in ("COMPLETED", "ERRORED")
        )
        assert len(pane.view.lines) > streamed
        assert pane.view.following and pane.view.scroll_y == pane.view.max_scroll_y
        assert table.get_row_index(str(run_id)) == row, "the row stayed where it was"
        assert not cleared, "the table was updated in place, never rebuilt"
        assert cell(table, str(run_id), "ended") != "—"


async def test_follow_pauses_on_scroll_up_counts_new_lines_and_resumes_with_G(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 10)  # RUNNING
        view = screen.log_pane.view
        await wait_for(pilot, lambda: view.max_scroll_y > 3)
        view.focus()
        await pilot.press("up", "up")
        await wait_for(pilot, lambda: not view.following)
        badge = screen.query_one("#log-badge", Static)
        assert "PAUSED" in str(badge.render())
        before = len(view.lines)
        manual_sim.clock.advance(30)
        await wait_for(pilot, lambda: view.unseen > 0)
        assert len(view.lines) > before
        assert f"+{view.unseen} new lines" in str(badge.render())
        assert view.scroll_y < view.max_scroll_y, "a paused view does not jump"
        await pilot.pause()
        paused_width = badge.size.width
        await pilot.press("G")
        await wait_for(pilot, lambda: view.following)
        assert view.unseen == 0 and view.scroll_y == view.max_scroll_y
        assert str(badge.render()).endswith(" FOLLOW ")
        # Narrower, but padded to the session's widest: no whole-screen layout per toggle.
        await pilot.pause()
        assert badge.size.width == paused_width


async def test_choosing_another_run_cancels_the_previous_stream(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 10)  # a live SSE stream
        pane = screen.log_pane
        await wait_for(
            pilot, lambda: 10 in pane.phases and pane.phases[10].phase is LogPhase.STREAMING
        )
        (old,) = [w for w in app.workers if w.group == "log-stream" and w.is_running]
        await select_run(pilot, screen, 6)
        await wait_for(pilot, lambda: old.state is WorkerState.CANCELLED)
        await wait_for(pilot, lambda: 6 in pane.phases and pane.phases[6].phase is LogPhase.ENDED)
        manual_sim.clock.advance(30)  # the old run logs more; none of it may show up
        await pilot.pause(0.2)
        assert set(pane.phases) == {6}
        running = [w for w in app.workers if w.group == "log-stream" and w.is_running]
        assert len(running) <= 1


async def test_offline_keeps_the_last_data_and_recovers(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        tasks = screen.task_list.table
        await wait_for(pilot, lambda: tasks.row_count == 12)
        status = screen.query_one(StatusBar)
        port = manual_sim.port
        # Fail every request first, so no answer from a server half-way through its
        # shutdown reaches the poller; then kill the server for real.
        manual_sim.set_faults(["status=503,rate=1"])
        await wait_for(pilot, lambda: not status.online)
        manual_sim.stop()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "unreachable" in str(status.render()))
        assert "offline" in str(status.render()) and "retrying in" in str(status.render())
        assert tasks.row_count == 12, "the last data stays on screen"
        restarted = start_sim(sim_config(port=port), clock=ManualClock())
        try:
            await wait_for(pilot, lambda: status.online)
            assert "● online" in str(status.render())
            assert tasks.row_count == 12
        finally:
            restarted.stop()


async def test_rejected_credentials_open_the_credentials_help(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim, token="not-a-token")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        text = str(pilot.app.screen.query_one("#credentials-help", Static).render())
        assert "KAGGLE_API_TOKEN" in text and "kaggle.json" in text
        assert app.credentials_rejected


async def test_filter_by_regex_as_you_type_with_inline_error(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        tasks = pilot.app.screen.query_one(TaskList)
        await wait_for(pilot, lambda: tasks.table.row_count == 12)
        await pilot.press("slash", *"^m")
        assert set(tasks.table.rows) == {"math-qa", "multilingual-translation"}
        await pilot.press("(")
        error = tasks.query_one("#task-filter-error", Static)
        assert "invalid regex" in str(error.render()) and error.display
        assert tasks.table.row_count == 2, "the last valid filter stays applied"
        await pilot.press("escape")
        assert tasks.table.row_count == 12


async def test_search_save_wrap_and_timestamps(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 6)
        pane = screen.log_pane
        await wait_for(pilot, lambda: 6 in pane.phases and pane.phases[6].phase is LogPhase.ENDED)
        pane.focus_log()
        await pilot.press("slash", *"mismatch", "enter")
        view = pane.view
        assert view.pattern is not None and view.current_match is not None
        first = view.current_match
        await pilot.press("n")
        assert view.current_match != first
        await pilot.press("N")
        assert view.current_match == first
        status = pane.query_one("#log-search-status", Static)
        await wait_for(pilot, lambda: "in the full log" in str(status.render()))

        await pilot.press("s")
        saved = tmp_path / "math-qa-run-6.log"
        await wait_for(pilot, saved.exists)
        assert len(saved.read_text().splitlines()) == len(view.lines)
        assert str(saved) in pane.note

        await pilot.press("w", "t")
        assert view.wrap and view.show_times
        header = str(pane.query_one("#log-badge", Static).render())
        assert "[wrap]" in header and "[time]" in header


async def test_all_runs_view_prefixes_each_line_with_its_model(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim, keymap={"all-runs-log": "L"})
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "summarization-faithfulness")
        await pilot.press("L")
        pane = screen.log_pane
        await wait_for(pilot, lambda: len(pane.phases) == 3)
        await wait_for(pilot, lambda: all(s.phase is LogPhase.ENDED for s in pane.phases.values()))
        sources = {line.source for line in pane.view.lines}
        assert sources == {"gemini-2.5-flash", "gpt-5-mini", "claude-haiku-4-5-20251001"}
        assert "All runs" in str(pane.query_one("#log-title", Static).render())


async def test_delete_says_the_server_cannot_and_help_lists_binding_ids(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: pilot.app.screen.query_one(TaskList).table.row_count > 0)
        await pilot.press("x")
        await pilot.pause()
        assert any("not supported by the server" in n.message for n in app._notifications)
        await pilot.press("question_mark")
        await pilot.pause()
        help_table = pilot.app.screen.query_one(DataTable)
        ids = {str(help_table.get_row_at(i)[3]) for i in range(help_table.row_count)}
        assert {"all-runs-log", "refresh", "search-log", "follow-log", "save-log", "quit"} <= ids


async def test_watched_run_finishing_raises_a_toast(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        runs = screen.query_one(RunTable).table
        await wait_for(pilot, lambda: "10" in runs.rows)
        assert "RUNNING" in cell(runs, "10", "state")
        manual_sim.clock.advance(3600)
        await wait_for(pilot, lambda: "RUNNING" not in cell(runs, "10", "state"))
        await wait_for(
            pilot,
            lambda: any(n.title in ("Run finished", "Run failed") for n in app._notifications),
        )


async def test_command_palette_runs_pane_actions(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 6)
        await pilot.press("ctrl+p", *"toggle wrap")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.log_pane.view.wrap)


async def test_first_load_starts_on_a_task_with_runs_and_a_live_log(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    """The newest task is still building (no runs): start where all three panes show data."""
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        tasks = screen.task_list.table
        await wait_for(pilot, lambda: tasks.row_count == 12)
        assert tasks.coordinate_to_cell_key((0, 0)).row_key.value == "image-captioning"
        # The newest COMPLETED version (the only kind that can have runs).
        await wait_for(pilot, lambda: screen.selected_task == "json-extraction")
        await wait_for(pilot, lambda: screen.selected_run is not None)
        run = screen.runs[screen.selected_run]
        assert run.state.short == "RUNNING", "the first RUNNING run is chosen: its log is live"
        pane = screen.log_pane
        await wait_for(pilot, lambda: len(pane.view.lines) > 0)

        # Later polls never move the cursor again, even onto a task without runs.
        await select_task(pilot, "chart-reading")
        manual_sim.clock.advance(5)
        await pilot.pause(0.3)
        assert screen.task_list.highlighted_slug == "chart-reading"
        assert screen.selected_task == "chart-reading"


async def test_log_header_counts_lines_as_they_stream(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    """The header's count follows every batch, not only the phase changes."""
    run_id = await schedule(manual_sim, "what-is-kaggle", "gpt-5-mini")
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "what-is-kaggle")
        await select_run(pilot, screen, run_id)
        pane = screen.query_one(LogPane)
        manual_sim.clock.advance(30)  # the run starts and logs for a while
        await wait_for(pilot, lambda: run_id in pane.phases)
        await wait_for(pilot, lambda: pane.phases[run_id].phase is LogPhase.STREAMING)
        await wait_for(pilot, lambda: len(pane.view.lines) > 3)
        title = pane.query_one("#log-title", Static)
        await wait_for(
            pilot, lambda: f"streaming · {len(pane.view.lines)} lines" in str(title.render())
        )
        assert pane.phases[run_id].lines == 0, "the phase report alone would have said 0"


async def test_run_table_fits_without_a_horizontal_scrollbar(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    """At 140 columns the model names fit in 26 cells and the error takes the rest."""
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        runs = screen.run_table.table
        await wait_for(pilot, lambda: runs.row_count == 6)
        await pilot.pause(0.2)
        for table in (runs, screen.task_list.table):
            assert table.virtual_size.width <= table.size.width, table.id
            assert not table.show_horizontal_scrollbar, table.id
        model = runs.columns[next(k for k in runs.columns if k.value == "model")]
        error = runs.columns[next(k for k in runs.columns if k.value == "error")]
        assert model.width >= 26
        assert error.width >= 5, "the error column keeps at least a word and its ellipsis"


async def test_saving_while_lines_are_pending_keeps_them_and_the_app(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    """`s` between two batches of a live stream: the pending lines are in the file and
    on screen, and nothing touches the widgets from the saving thread (it crashed)."""
    app = make_app(manual_sim, log_batch_seconds=0.1)  # batched, as by default
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 6)
        pane = screen.log_pane
        await wait_for(pilot, lambda: 6 in pane.phases and pane.phases[6].phase is LogPhase.ENDED)
        spool = screen.spool
        assert spool is not None
        # A live stream's state: one batch just painted (the header was redrawn), the
        # next line still pending.
        spool.extend(["live line 1"], [None], ["stdout"], None)
        spool.flush()
        pane._render_header()
        spool.extend(["live line 2"], [None], ["stdout"], None)
        pane.focus_log()
        await pilot.press("s")
        saved = tmp_path / "math-qa-run-6.log"
        await wait_for(pilot, lambda: saved.exists() and str(saved) in pane.note)
        assert saved.read_text().splitlines()[-2:] == ["live line 1", "live line 2"]
        assert pane.view.lines[-1].text == "live line 2"
        assert app.is_running and app.return_code is None


async def test_a_stream_ending_while_the_app_closes_reaches_no_removed_widget(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    """At exit the log view goes before the stream's worker is stopped: a last batch or
    status must not raise (it failed a test now and then as a WorkerFailed NoMatches)."""
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "math-qa")
        await select_run(pilot, screen, 10)  # RUNNING: its log streams
        pane = screen.log_pane
        await wait_for(pilot, lambda: len(pane.view.lines) > 0)
        session = pane.session
        await pane.view.remove()
        pane.add_lines(session, LogLines(10_000, ["late line"], [None], ["stdout"], [None]))
        pane.set_status(session, LogStatus(10, None, LogPhase.ENDED, 10_000))
        pane.set_note("late note")


async def test_a_run_awaiting_its_score_is_shown_as_such_and_not_yet_finished(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    manual_sim.engine.config.score_seconds = 30  # `kbench-tui sim --score-seconds 30`
    run_id = await schedule(manual_sim, "what-is-kaggle", "gpt-5-mini")
    manual_sim.store.set_run_outcome(run_id, "COMPLETED")
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await select_task(pilot, "what-is-kaggle")
        table = screen.run_table.table
        await select_run(pilot, screen, run_id)
        manual_sim.clock.advance(5 + 60)  # queued, then the whole session
        await wait_for(pilot, lambda: "SCORE_PENDING" in cell(table, str(run_id), "state"))
        pane = screen.query_one(LogPane)
        await wait_for(pilot, lambda: pane.phases[run_id].phase is LogPhase.ENDED)
        assert cell(table, str(run_id), "ended") != "—"
        assert not any(n.title == "Run finished" for n in app._notifications)

        manual_sim.clock.advance(30)
        await wait_for(pilot, lambda: "COMPLETED" in cell(table, str(run_id), "state"))
        await wait_for(pilot, lambda: any(n.title == "Run finished" for n in app._notifications))
