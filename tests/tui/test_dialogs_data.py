"""Download (`d`), results (`v`), proxy credentials (`a`), leaderboard (`b`) dialogs."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import DataTable, Input, Static

from kbench_tui.sim.runner import RunningSim
from kbench_tui.tui.screens.confirm import ConfirmDialog
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.download import DownloadDialog, DownloadProgressScreen, format_size
from kbench_tui.tui.screens.leaderboard import LeaderboardDialog, LeaderboardScreen
from kbench_tui.tui.screens.proxy_credentials import ProxyCredentialsScreen
from kbench_tui.tui.screens.results import ResultsScreen

from .conftest import AppFactory, wait_for
from .dialog_support import action_app, dashboard_on, sim_client, toast_text, wait_for_screen


def test_sizes_read_like_the_cli() -> None:
    assert format_size(512) == "512 B"
    assert format_size(2048) == "2.00 KB"
    assert format_size(3 * 1024 * 1024) == "3.00 MB"


async def test_download_then_results(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("d")
        dialog: DownloadDialog = await wait_for_screen(pilot, DownloadDialog)
        summary = str(dialog.query_one("#download-summary", Static).render())
        assert summary == "3 finished run(s) to download; 1 still in progress (skipped)"
        output = dialog.query_one("#download-output", Input)
        assert output.value == str(out)
        # A file is not an output directory: said inline, the dialog stays.
        (tmp_path / "a-file").write_text("x")
        output.value = str(tmp_path / "a-file")
        await pilot.press("enter")
        assert "is a file" in str(dialog.query_one("#download-error", Static).render())
        output.value = str(out)
        await pilot.press("tab", "space")  # include source notebooks
        assert dialog.cli_command() == f"kaggle b t download refusal-check -o {out} -s"
        await pilot.press("ctrl+s")
        progress: DownloadProgressScreen = await wait_for_screen(pilot, DownloadProgressScreen)
        await wait_for(pilot, lambda: progress.summary is not None)
        assert progress.summary is not None
        assert progress.summary.line == "Done: 3 run(s) downloaded, 0 run(s) cached."
        await wait_for(pilot, lambda: "Downloaded refusal-check" in toast_text(app))
        await pilot.press("escape")
        await wait_for_screen(pilot, DashboardScreen)
        # Independent read: the kaggle CLI layout on disk, one run file per finished run.
        async with sim_client(manual_sim) as client:
            runs = await client.list_all_runs("refusal-check")
        for run in runs:
            run_dir = out / "refusal-check" / "1" / run.model / str(run.id)
            if run.state.is_terminal:
                assert list(run_dir.glob("*.run.json")), run_dir
                assert (run_dir / "__notebook__.ipynb").is_file()
            else:
                assert not run_dir.exists()
        # Results read those files.
        await pilot.press("v")
        results: ResultsScreen = await wait_for_screen(pilot, ResultsScreen)
        table = results.query_one("#results-table", DataTable)
        assert table.row_count == 3
        assert {str(key.value).split("/")[0] for key in table.rows} == {
            "gemini-2.5-flash",
            "claude-sonnet-4-6-default",
            "gpt-5",
        }
        await pilot.press("escape")


async def test_download_cancel_writes_nothing(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("d")
        await wait_for_screen(pilot, DownloadDialog)
        await pilot.press("escape")
        await wait_for_screen(pilot, DashboardScreen)
        await pilot.pause(0.2)
    assert not (tmp_path / "out").exists()


async def test_results_with_nothing_downloaded_offers_download(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "code-golf")
        await pilot.press("v")
        results: ResultsScreen = await wait_for_screen(pilot, ResultsScreen)
        assert "Nothing downloaded yet" in str(results.query_one("#results-empty", Static).render())
        await pilot.press("d")
        dialog: DownloadDialog = await wait_for_screen(pilot, DownloadDialog)
        assert dialog.task_slug == "code-golf"
        await pilot.press("escape")


async def test_proxy_credentials_are_upserted_into_env(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text("# mine\nOTHER=1\nMODEL_PROXY_API_KEY=old-key\nMODEL_PROXY_API_KEY=dup\n")
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await dashboard_on(pilot, "refusal-check")
        await pilot.press("a")
        dialog: ConfirmDialog = await wait_for_screen(pilot, ConfirmDialog)
        assert dialog.cli_command() == f"kaggle b auth -y --env-file {env}"
        await pilot.press("escape")
        await wait_for_screen(pilot, DashboardScreen)
        assert "old-key" in env.read_text(), "cancel changes nothing"
        await pilot.press("a")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        shown: ProxyCredentialsScreen = await wait_for_screen(pilot, ProxyCredentialsScreen)
        text = str(shown.query_one("#proxy-summary", Static).render())
        lines = env.read_text().splitlines()
        assert lines[:2] == ["# mine", "OTHER=1"]
        values = dict(line.split("=", 1) for line in lines[1:])
        assert set(values) == {
            "OTHER",
            "MODEL_PROXY_API_KEY",
            "MODEL_PROXY_URL",
            "MODEL_PROXY_EXPIRY_TIME",
        }
        assert sum(line.startswith("MODEL_PROXY_API_KEY=") for line in lines) == 1
        key = values["MODEL_PROXY_API_KEY"]
        assert key.startswith("kmp_") and key not in text and f"…{key[-4:]}" in text
        assert values["MODEL_PROXY_EXPIRY_TIME"].startswith("2026-03-02T12:00:00")
        assert "2026-03-02 12:00:00 UTC" in text
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
        assert app.proxy is not None and app.proxy.api_key == key, "the status bar reads it"


async def test_leaderboard_validates_then_shows_models_by_tasks(
    manual_sim: RunningSim, make_app: AppFactory, tmp_path: Path
) -> None:
    app = action_app(make_app, manual_sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await dashboard_on(pilot, "refusal-check")
        await wait_for(pilot, lambda: screen.status_bar.user == "demo")
        await pilot.press("b")
        dialog: LeaderboardDialog = await wait_for_screen(pilot, LeaderboardDialog)
        field = dialog.query_one("#leaderboard-benchmark", Input)
        assert field.value == "demo/", "the owner defaults to the signed-in user"
        await pilot.press("enter")
        assert "not owner/benchmark-slug" in str(
            dialog.query_one("#leaderboard-error", Static).render()
        )
        await pilot.press(*"reasoning-suite", "enter")
        board: LeaderboardScreen = await wait_for_screen(pilot, LeaderboardScreen)
        table = board.query_one("#leaderboard-table", DataTable)
        async with sim_client(manual_sim) as client:
            expected = await client.get_leaderboard("demo", "reasoning-suite")
        assert table.row_count == len(expected.rows) > 0
        slugs = {c.benchmark_task_slug for r in expected.rows for c in r.task_results}
        assert len(table.columns) == 1 + len(slugs)
        assert board.cli_command() == "kaggle b leaderboard demo/reasoning-suite -s"
        await pilot.press("escape")
        await pilot.press("b")
        dialog = await wait_for_screen(pilot, LeaderboardDialog)
        dialog.query_one("#leaderboard-benchmark", Input).value = "demo/no-such-benchmark"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "no-such-benchmark" in toast_text(app))
        assert "Not found" in toast_text(app)
