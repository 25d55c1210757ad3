"""Model picker (`r`) and re-run errored (`R`) against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.screens.confirm import ConfirmDialog
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.model_picker import ModelPicker, PickerModel, filter_models

from .conftest import AppFactory, wait_for
from .dialog_support import action_app, dashboard_on, sim_client, toast_text, wait_for_screen

MODELS = [
    PickerModel("GPT-5 nano", "gpt-5-nano", "Image-Text-to-Text"),
    PickerModel("Claude Opus 4.6", "claude-opus-4-6-default", "Image-Text-to-Text"),
    PickerModel("Gemini 2.5 Flash", "gemini-2.5-flash", "Any-to-Any"),
]


def test_filter_substring_first_then_fuzzy_and_any_slug_form() -> None:
    assert [m.slug for m in filter_models(MODELS, "flash")] == ["gemini-2.5-flash"]
    assert [m.slug for m in filter_models(MODELS, "gem25")] == ["gemini-2.5-flash"]
    assert [m.slug for m in filter_models(MODELS, "anthropic/claude-opus-4-6@default")] == [
        "claude-opus-4-6-default"
    ]
    assert filter_models(MODELS, "") == MODELS
    assert filter_models(MODELS, "zzz") == []


async def runs_of(sim: RunningSim, task: str) -> dict[str, list[str]]:
    async with sim_client(sim) as client:
        runs = await client.list_all_runs(task)
    found: dict[str, list[str]] = {}
    for run in runs:
        found.setdefault(run.model, []).append(run.state.short)
    return found


async def test_filter_move_toggle_and_schedule(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("r")
        picker: ModelPicker = await wait_for_screen(pilot, ModelPicker)
        await wait_for(pilot, lambda: picker.option_list.option_count > 20)
        filter_input = picker.query_one("#picker-filter", Input)
        assert filter_input.has_focus
        await pilot.press(*"gpt-5-")
        await wait_for(pilot, lambda: len(picker.shown) < len(picker.models))
        assert all("gpt" in m.slug for m in picker.shown[:3])
        # ↓ moves the highlight, the filter keeps the focus; space checks two models.
        await pilot.press("space", "down", "space")
        assert filter_input.has_focus and filter_input.value == "gpt-5-"
        checked = list(picker.checked)
        assert checked == ["gpt-5-mini", "gpt-5-nano"]
        assert "kaggle b t run refusal-check -m" in picker.cli_command()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: "Submitted run(s)" in toast_text(app))
        for model in checked:
            assert f"{model}: Scheduled" in toast_text(app)
        runs = await runs_of(manual_sim, "refusal-check")
        assert all(model in runs for model in checked)
        # The picks are remembered for this task (state file under tmp, XDG layout).
        await wait_for(pilot, lambda: (tmp_path / "state" / "picks.json").exists())
        saved = json.loads((tmp_path / "state" / "picks.json").read_text())
        assert saved["refusal-check"] == checked
        # Reopening pre-checks them.
        await pilot.press("r")
        again: ModelPicker = await wait_for_screen(pilot, ModelPicker)
        assert again.checked == checked
        # ctrl+n clears everything, ctrl+t checks every visible model.
        await pilot.press("ctrl+n")
        assert again.checked == []
        await pilot.press(*"claude")
        await pilot.press("ctrl+t")
        assert again.checked and all("claude" in slug for slug in again.checked)
        await pilot.press("escape")


async def test_enter_without_checks_schedules_the_highlighted_slug_form(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("r")
        picker: ModelPicker = await wait_for_screen(pilot, ModelPicker)
        picker.query_one("#picker-filter", Input).value = "anthropic/claude-opus-4-6@default"
        await wait_for(pilot, lambda: picker.selection() == ["claude-opus-4-6-default"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: "claude-opus-4-6-default: Scheduled" in toast_text(app))
        assert "claude-opus-4-6-default" in await runs_of(manual_sim, "refusal-check")


async def test_already_run_model_is_skipped_with_the_reason(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("r")
        picker: ModelPicker = await wait_for_screen(pilot, ModelPicker)
        picker.query_one("#picker-filter", Input).value = "gemini-2.5-flash"
        await wait_for(pilot, lambda: picker.selection() == ["gemini-2.5-flash"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: "gemini-2.5-flash: Skipped (" in toast_text(app))
        assert (await runs_of(manual_sim, "refusal-check"))["gemini-2.5-flash"] == ["COMPLETED"]


async def test_escape_cancels_and_schedules_nothing(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    before = await runs_of(manual_sim, "refusal-check")
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("r")
        await wait_for_screen(pilot, ModelPicker)
        await pilot.press("space", "down", "space", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.pause(0.2)
    assert await runs_of(manual_sim, "refusal-check") == before
    assert not (tmp_path / "state" / "picks.json").exists()


async def test_refuses_when_the_version_is_not_completed(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "broken-import")
        await pilot.press("r")
        await wait_for(pilot, lambda: "not ready to run" in toast_text(app))
        assert "status: ERRORED" in toast_text(app)
        assert "NameError" in toast_text(app), "the build's error is part of the reason"
        assert isinstance(app.screen, DashboardScreen)


async def test_rerun_errored_schedules_exactly_the_errored_models(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await dashboard_on(pilot, "code-golf")
        await wait_for(pilot, lambda: len(screen.runs) == 4)
        await pilot.press("R")
        dialog: ConfirmDialog = await wait_for_screen(pilot, ConfirmDialog)
        assert dialog.cli_command() == "kaggle b t run code-golf -m grok-4.3"
        await pilot.press("y")
        await wait_for(pilot, lambda: "grok-4.3: Scheduled" in toast_text(app))
    runs = await runs_of(manual_sim, "code-golf")
    assert runs["grok-4.3"] == ["ERRORED", "QUEUED"]
    assert [len(states) for model, states in runs.items() if model != "grok-4.3"] == [1, 1, 1]


async def test_rerun_errored_cancel_changes_nothing(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    before = await runs_of(manual_sim, "code-golf")
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await dashboard_on(pilot, "code-golf")
        await wait_for(pilot, lambda: len(screen.runs) == 4)
        await pilot.press("R")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("escape")
        await pilot.pause(0.2)
    assert await runs_of(manual_sim, "code-golf") == before
