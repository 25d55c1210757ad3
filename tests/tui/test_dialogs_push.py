"""Push dialog (`p`) and its live status against the simulator."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, OptionList, Static

from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.push import PushDialog, dataset_problem, task_file_entries
from kbench_tui.tui.screens.push_status import PushStatusScreen

from .conftest import AppFactory, wait_for
from .dialog_support import action_app, dashboard_on, sim_client, toast_text, wait_for_screen

GOOD = """# %%
import kaggle_benchmarks as kbench


@kbench.task(name="My Task")
def my_task(llm) -> float:
    return 1.0


# %%
my_task.run(llm=kbench.llm)
"""

NEVER_RUN = """# %%
import kaggle_benchmarks as kbench


@kbench.task(name="Math QA")
def math_qa(llm) -> float:
    return 1.0
"""


def static_text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def test_dataset_references_are_checked() -> None:
    assert dataset_problem("alice/qa-pairs") is None
    assert "not supported" in (dataset_problem("alice/qa/versions/3") or "")
    assert "owner/dataset-slug" in (dataset_problem("qa-pairs") or "")


def test_browser_lists_only_python_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "task.py").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.py").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "__pycache__").mkdir()
    shown = [p.name for p in task_file_entries(tmp_path.iterdir())]
    assert shown == ["sub", "task.py"]


async def test_inline_validation_and_lint_errors_need_acknowledging(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    (tmp_path / "never_run.py").write_text(NEVER_RUN)
    (tmp_path / "notes.txt").write_text("not python")
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 44)) as pilot:
        await dashboard_on(pilot, "math-qa")
        await pilot.press("p")
        dialog: PushDialog = await wait_for_screen(pilot, PushDialog)
        file_input = dialog.query_one("#push-file", Input)
        push_button = dialog.query_one("#push-accept", Button)

        file_input.value = str(tmp_path / "missing.py")
        await pilot.pause()
        assert "does not exist" in static_text(dialog, "#push-file-error")
        assert push_button.disabled

        file_input.value = str(tmp_path / "notes.txt")
        await pilot.pause()
        assert "must be a Python (.py) file" in static_text(dialog, "#push-file-error")

        file_input.value = str(tmp_path / "never_run.py")
        await pilot.pause()
        assert static_text(dialog, "#push-file-error") == ""
        assert "KB003" in static_text(dialog, "#push-lint")
        assert dialog.task_name == "Math QA"
        assert push_button.disabled, "a lint error blocks the push until acknowledged"
        await pilot.press("ctrl+s")
        assert "tick the box" in static_text(dialog, "#push-file-error")
        dialog.query_one("#push-ack", Checkbox).value = True
        await pilot.pause()
        assert not push_button.disabled
        # The previous version's dataset is pre-filled; an invalid one is refused inline.
        await wait_for(pilot, lambda: dialog.datasets == ["demo/math-word-problems"])
        dataset_input = dialog.query_one("#push-dataset-input", Input)
        dataset_input.focus()
        await pilot.press(*"qa-pairs", "enter")
        assert "owner/dataset-slug" in static_text(dialog, "#push-dataset-error")
        assert dialog.datasets == ["demo/math-word-problems"]
        # Removing it warns that pushing would detach it.
        datasets = dialog.query_one("#push-datasets", OptionList)
        datasets.focus()
        datasets.highlighted = 0
        await pilot.press("delete")
        assert dialog.datasets == []
        assert "detaches them: demo/math-word-problems" in static_text(
            dialog, "#push-dataset-warning"
        )
        assert "-d" not in dialog.cli_command()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
    async with sim_client(manual_sim) as client:
        task = await client.get_task("math-qa")
    assert task.slug.version_number == 2, "cancel pushed nothing"


async def test_push_shows_live_status_until_completed(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    (tmp_path / "my_task.py").write_text(GOOD)
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 44)) as pilot:
        await dashboard_on(pilot, "math-qa")
        await pilot.press("p")
        dialog: PushDialog = await wait_for_screen(pilot, PushDialog)
        dialog.query_one("#push-file", Input).value = str(tmp_path / "my_task.py")
        await wait_for(pilot, lambda: dialog.task_name == "My Task")
        assert static_text(dialog, "#push-lint") == "Lint: no findings."
        dialog.query_one("#push-dataset-input", Input).focus()
        await pilot.press(*"demo/qa-pairs", "enter")
        assert dialog.datasets == ["demo/qa-pairs"]
        assert dialog.cli_command() == (
            f"kaggle b t push my-task -f {tmp_path / 'my_task.py'} -d demo/qa-pairs --wait"
        )
        await pilot.press("ctrl+s")
        status: PushStatusScreen = await wait_for_screen(pilot, PushStatusScreen)
        await wait_for(pilot, lambda: any("QUEUED" in line.plain for line in status.lines))
        assert not status.finished
        manual_sim.clock.advance(60)  # the simulated build finishes
        await wait_for(pilot, lambda: status.finished)
        text = "\n".join(line.plain for line in status.lines)
        assert "Pushed my-task" in text
        assert "/benchmarks/tasks/demo/my-task/1" in text
        assert "Attached Kaggle dataset(s): demo/qa-pairs" in text
        await wait_for(pilot, lambda: "Pushed my-task (COMPLETED)" in toast_text(app))
        await pilot.press("escape")
        screen = await wait_for_screen(pilot, DashboardScreen)
        await wait_for(pilot, lambda: "my-task" in screen.task_list.table.rows)
    async with sim_client(manual_sim) as client:
        task = await client.get_task("my-task")
    assert task.creation_state.short == "COMPLETED"
    assert task.options is not None and task.options.dataset_data_sources == ["demo/qa-pairs"]
