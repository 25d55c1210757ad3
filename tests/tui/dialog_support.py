"""Helpers of the dialog tests: an app with its action settings under `tmp_path`, the
dashboard with a task selected, toasts, and independent reads of the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.config import Credentials
from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.actions import ActionSettings
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.screens.dashboard import DashboardScreen

from .conftest import AppFactory, wait_for


def action_app(
    make_app: AppFactory, sim: RunningSim, tmp_path: Path, **overrides: Any
) -> KbenchApp:
    """The dashboard app with every file an action writes kept under `tmp_path`."""
    app = make_app(sim)
    values: dict[str, Any] = {
        "push_poll_cap": 0.05,
        "picks_path": tmp_path / "state" / "picks.json",
        "env_file": tmp_path / ".env",
        "download_output": tmp_path / "out",
        "browse_root": tmp_path,
    }
    values.update(overrides)
    app.action_settings = ActionSettings(**values)  # type: ignore[attr-defined]
    return app


async def dashboard_on(pilot: Pilot[Any], task: str, tasks: int = 12) -> DashboardScreen:
    """Wait for the task list, select `task`, and wait for its runs to be known."""
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    table = screen.task_list.table
    await wait_for(pilot, lambda: table.row_count >= tasks and task in table.rows)
    table.move_cursor(row=table.get_row_index(task))
    await wait_for(pilot, lambda: screen.run_table.task_slug == task)
    await wait_for(pilot, lambda: screen.selected_task == task)
    await wait_for(pilot, lambda: bool(screen.runs) or screen.run_table.table.row_count == 0)
    return screen


def toasts(app: KbenchApp) -> list[Any]:
    """The notifications currently shown."""
    return list(app._notifications)


def toast_text(app: KbenchApp) -> str:
    """Every toast's title and message, one per line (for `in` assertions)."""
    return "\n".join(f"{n.title}: {n.message}" for n in toasts(app))


def sim_client(sim: RunningSim) -> BenchmarksClient:
    """An independent API client on the simulator (use with `async with`)."""
    return BenchmarksClient(sim.url, Credentials.token("demo-token"))


async def wait_for_screen(pilot: Pilot[Any], kind: type) -> Any:
    """Wait until the active screen is a `kind` and return it."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))
    return pilot.app.screen
