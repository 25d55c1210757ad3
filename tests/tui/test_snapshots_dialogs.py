"""Snapshots of every action dialog and of the results view (fixed size, frozen clock).

Paths shown on screen are relative to a temporary working directory (`chdir`), so the
pictures do not depend on where pytest puts `tmp_path`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from kbench_tui.sim import extras
from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.download import DownloadDialog, DownloadProgressScreen
from kbench_tui.tui.screens.leaderboard import LeaderboardScreen
from kbench_tui.tui.screens.model_picker import ModelPicker
from kbench_tui.tui.screens.proxy_credentials import ProxyCredentialsScreen
from kbench_tui.tui.screens.push import PushDialog
from kbench_tui.tui.screens.push_status import PushStatusScreen
from kbench_tui.tui.screens.results import ResultsScreen
from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.tui.widgets.status_bar import StatusBar
from kbench_tui.watch.logstream import LogPhase

from .conftest import ENDPOINT_LABEL, AppFactory, wait_for
from .dialog_support import action_app, dashboard_on, wait_for_screen
from .test_dialogs_push import GOOD, NEVER_RUN

SIZE = (120, 36)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with two task files; every path on screen is relative to it."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "my_task.py").write_text(GOOD)
    (tmp_path / "tasks" / "never_run.py").write_text(NEVER_RUN)
    (tmp_path / "README.md").write_text("not shown in the browser")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot_app(make_app: AppFactory, sim: RunningSim, workdir: Path) -> KbenchApp:
    return action_app(
        make_app,
        sim,
        workdir,
        download_output=Path("out"),
        env_file=Path(".env"),
        browse_root=Path("."),
        picks_path=workdir / "state" / "picks.json",
    )


async def settled_on(pilot: Pilot[Any], task: str) -> DashboardScreen:
    """Select `task` and its first finished run, and wait for that whole log."""
    screen = await dashboard_on(pilot, task)

    def finished_runs() -> list[int]:
        runs = screen.runs.values()
        if any(run.task_slug.task_slug != task for run in runs):
            return []
        return sorted(run.id for run in runs if run.state.is_terminal)

    await wait_for(pilot, lambda: bool(finished_runs()))
    finished = finished_runs()
    table = screen.run_table.table
    table.move_cursor(row=table.get_row_index(str(finished[0])))
    pane = screen.log_pane
    await wait_for(
        pilot,
        lambda: finished[0] in pane.phases and pane.phases[finished[0]].phase is LogPhase.ENDED,
    )
    # Let the dashboard's tables settle their column widths before a dialog covers them.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.3)
    return screen


async def settle(pilot: Pilot[Any]) -> None:
    """Drop toasts (timing, not state), stop cursors blinking, and let the screen repaint."""
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    # Let tables under the dialog finish sizing their columns before the picture.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)
    await pilot.pause()
    # A following log (under the dialog) scrolls to its end only after a refresh.
    for screen in pilot.app.screen_stack:
        for view in screen.query(LogView):
            if view.following:
                await wait_for(pilot, lambda view=view: view.scroll_y >= view.max_scroll_y)
    await pilot.pause()


def test_model_picker(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled_on(pilot, "refusal-check")
        await pilot.press("r")
        picker: ModelPicker = await wait_for_screen(pilot, ModelPicker)
        await wait_for(pilot, lambda: picker.option_list.option_count > 20)
        await pilot.press(*"gpt", "space", "down", "down", "space", "up")
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_push_dialog_with_lint_errors_and_previous_datasets(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled_on(pilot, "math-qa")
        await pilot.press("p")
        dialog: PushDialog = await wait_for_screen(pilot, PushDialog)
        dialog.query_one("#push-file", Input).value = "tasks/never_run.py"
        await wait_for(pilot, lambda: dialog.datasets == ["demo/math-word-problems"])
        tree = dialog.query_one("#push-browser")
        await wait_for(pilot, lambda: tree.root.children and tree.root.is_expanded)
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=(120, 44), run_before=run_before)


def test_push_status_completed(
    snap_compare, empty_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    # On an empty simulator: moving its clock to finish the build changes nothing else.
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(pilot, lambda: screen.task_list.loaded)
        await pilot.press("p")
        dialog: PushDialog = await wait_for_screen(pilot, PushDialog)
        dialog.query_one("#push-file", Input).value = "tasks/my_task.py"
        await wait_for(pilot, lambda: dialog.task_name == "My Task")
        await pilot.press("ctrl+s")
        status: PushStatusScreen = await wait_for_screen(pilot, PushStatusScreen)
        await wait_for(pilot, lambda: any("QUEUED" in line.plain for line in status.lines))
        empty_sim.clock.advance(60)
        await wait_for(pilot, lambda: status.finished)
        table = screen.task_list.table
        await wait_for(
            pilot,
            lambda: "my-task" in table.rows and "ready" in str(table.get_cell("my-task", "state")),
        )
        await settle(pilot)

    app = snapshot_app(make_app, empty_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_publish_confirmation(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled_on(pilot, "what-is-kaggle")
        await pilot.press("P")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, DashboardScreen))
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rerun_errored_confirmation(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settled_on(pilot, "code-golf")
        await wait_for(pilot, lambda: len(screen.runs) == 4)
        await pilot.press("R")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, DashboardScreen))
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_download_dialog(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled_on(pilot, "refusal-check")
        await pilot.press("d")
        await wait_for_screen(pilot, DownloadDialog)
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def _download(pilot: Pilot[Any]) -> DownloadProgressScreen:
    await settled_on(pilot, "refusal-check")
    await pilot.press("d")
    await wait_for_screen(pilot, DownloadDialog)
    await pilot.press("enter")
    progress: DownloadProgressScreen = await wait_for_screen(pilot, DownloadProgressScreen)
    await wait_for(pilot, lambda: progress.summary is not None)
    return progress


def test_download_progress_finished(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _download(pilot)
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_results_view(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _download(pilot)
        await pilot.press("escape")
        await wait_for_screen(pilot, DashboardScreen)
        await pilot.press("v")
        await wait_for_screen(pilot, ResultsScreen)
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_proxy_credentials_written(
    snap_compare,
    manual_sim: RunningSim,
    make_app: AppFactory,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The simulator's proxy URL carries its random port: answer with the fixed label.
    real_proxy_token = extras.proxy_token
    monkeypatch.setattr(
        extras,
        "proxy_token",
        lambda engine, user, base: real_proxy_token(engine, user, ENDPOINT_LABEL),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled_on(pilot, "refusal-check")
        await pilot.press("a")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, DashboardScreen))
        await pilot.press("y")
        await wait_for_screen(pilot, ProxyCredentialsScreen)
        status = pilot.app.screen_stack[-2].query_one(StatusBar)
        await wait_for(pilot, lambda: "proxy key valid" in str(status.render()))
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_leaderboard(
    snap_compare, manual_sim: RunningSim, make_app: AppFactory, workdir: Path
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settled_on(pilot, "refusal-check")
        await wait_for(pilot, lambda: screen.status_bar.user == "demo")
        await pilot.press("b", *"reasoning-suite", "enter")
        await wait_for_screen(pilot, LeaderboardScreen)
        await settle(pilot)

    app = snapshot_app(make_app, manual_sim, workdir)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
