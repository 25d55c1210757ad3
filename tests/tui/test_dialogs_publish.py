"""Publish (`P`) confirmation, the CLI-equivalent lines, and the keys' wiring."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Static

from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui import cli_equivalent as cli
from kbench_tui.tui.actions import ACTION_BINDINGS, ACTION_COMMANDS
from kbench_tui.tui.commands import COMMANDS
from kbench_tui.tui.screens.confirm import ConfirmDialog
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.help import HelpScreen

from .conftest import AppFactory, wait_for
from .dialog_support import action_app, dashboard_on, sim_client, toast_text, wait_for_screen


def test_cli_equivalents() -> None:
    assert cli.push_command("my-task", "t.py", ["a/x", "b/y"]) == (
        "kaggle b t push my-task -f t.py -d a/x -d b/y --wait"
    )
    assert cli.run_command("t", ["gpt-5", "grok-4.3"]) == "kaggle b t run t -m gpt-5 -m grok-4.3"
    assert cli.download_command("t", ".", False, False) == "kaggle b t download t"
    assert cli.download_command("t", "out dir", True, True) == (
        "kaggle b t download t -o 'out dir' -s -f"
    )
    assert cli.publish_command("t", False) == "kaggle b t publish t --no-publish-backing-notebook"
    assert cli.publish_command("t") == "kaggle b t publish t"
    assert cli.auth_command() == "kaggle b auth -y"
    assert cli.leaderboard_command("kaggle/suite") == "kaggle b leaderboard kaggle/suite -s"


def test_every_action_has_a_key_with_an_id_and_a_palette_entry() -> None:
    keys = {binding.key: binding.id for binding in ACTION_BINDINGS}
    assert keys == {
        "p": "push",
        "r": "run-models",
        "d": "download",
        "v": "results",
        "P": "publish",
        "R": "rerun-errored",
        "a": "proxy-credentials",
        "b": "leaderboard",
    }
    assert all(binding.description for binding in ACTION_BINDINGS)
    palette = {command.binding_id for command in COMMANDS}
    assert {binding_id for *_, binding_id in ACTION_COMMANDS} <= palette
    assert set(keys.values()) <= palette


async def test_publish_confirmation_and_effect(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "what-is-kaggle")
        await pilot.press("P")
        dialog: ConfirmDialog = await wait_for_screen(pilot, ConfirmDialog)
        body = str(dialog.query_one("#confirm-body", Static).render())
        assert "cannot be undone" in body
        notebook = dialog.query_one("#confirm-option", Checkbox)
        assert notebook.value is True and notebook.has_focus
        assert dialog.cli_command() == "kaggle b t publish what-is-kaggle"
        await pilot.press("space")
        assert dialog.cli_command() == (
            "kaggle b t publish what-is-kaggle --no-publish-backing-notebook"
        )
        await pilot.press("y")
        await wait_for(pilot, lambda: "published successfully" in toast_text(app))
        assert "https://www.kaggle.com/benchmarks/tasks/demo/what-is-kaggle" in toast_text(app)
    async with sim_client(manual_sim) as client:
        task = await client.get_task("what-is-kaggle")
    assert task.is_public is True
    assert not task.is_backing_notebook_published


async def test_publish_cancel_changes_nothing(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "what-is-kaggle")
        await pilot.press("P")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("n")
        await wait_for_screen(pilot, DashboardScreen)
        await pilot.pause(0.2)
    async with sim_client(manual_sim) as client:
        task = await client.get_task("what-is-kaggle")
    assert not task.is_public


async def test_help_lists_the_action_keys(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "what-is-kaggle")
        await pilot.press("question_mark")
        help_screen = await wait_for_screen(pilot, HelpScreen)
        table = help_screen.query_one("#help-table")
        ids = {str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert {"push", "run-models", "download", "publish", "rerun-errored"} <= ids
        assert {"proxy-credentials", "leaderboard", "results"} <= ids
