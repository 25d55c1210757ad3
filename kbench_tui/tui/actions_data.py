"""Dashboard actions that move data: download, results, proxy credentials, leaderboard.

Half of the dashboard's action glue (the other half, and the bindings, are in
`actions.py`). `ActionBase` holds what both halves share: the settings, the client,
`poke()` so the dashboard polls fast after an action, and error toasts. Mixed into
`DashboardScreen`, so `self` is the screen: workers are the screen's, grouped per action.

The services behind the actions (transfers, results scanning) are imported when an action
first needs them, not with the dashboard: they are not on the way to its first paint.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.worker import Worker

from kbench_tui.api.errors import ApiError, AuthError, NotFoundError
from kbench_tui.tui.errors import toast_for

if TYPE_CHECKING:
    from kbench_tui.api.client import BenchmarksClient
    from kbench_tui.api.models import ApiBenchmarkTaskRun
    from kbench_tui.tui.app import KbenchApp
    from kbench_tui.tui.screens.download import DownloadProgressScreen, DownloadRequest
    from kbench_tui.tui.screens.leaderboard import BenchmarkRef
    from kbench_tui.tui.screens.results import ResultsAction
    from kbench_tui.watch.poller import Poller
    from kbench_tui.watch.transfers import TransferPlan

__all__ = ["ActionBase", "ActionSettings", "DataActions"]


def _default_concurrency() -> int:
    from kbench_tui.watch.transfers import DEFAULT_CONCURRENCY

    return DEFAULT_CONCURRENCY


@dataclass
class ActionSettings:
    """Tunables of the actions; set `app.action_settings` to override (tests do)."""

    push_poll_cap: float = 10.0
    """Longest wait between build polls after a push (the CLI's --poll-interval)."""
    download_concurrency: int = field(default_factory=_default_concurrency)
    picks_path: Path | None = None
    """The remembered model picks (None: `$XDG_STATE_HOME/kbench-tui/picks.json`)."""
    env_file: Path | None = None
    """Where `a` writes MODEL_PROXY_* (None: `.env` in the working directory)."""
    download_output: Path | None = None
    """Default output directory of downloads and results (None: the working directory)."""
    browse_root: Path | None = None
    """Where the push dialog's file browser starts (None: the working directory)."""


class ActionBase:
    """What every action mixin expects of the dashboard screen, plus shared helpers."""

    app: KbenchApp
    selected_task: str | None
    runs: dict[int, ApiBenchmarkTaskRun]
    poller: Poller | None
    # The output directory of the last download of this session; results look there first.
    last_download_output: Path | None = None

    if TYPE_CHECKING:
        # Provided by textual's Screen at runtime.
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(self, *args: Any, **kwargs: Any) -> Worker[Any]: ...
        def call_after_refresh(self, *args: Any, **kwargs: Any) -> bool: ...

    @property
    def settings_for_actions(self) -> ActionSettings:
        settings = getattr(self.app, "action_settings", None)
        return settings if isinstance(settings, ActionSettings) else ActionSettings()

    @property
    def api(self) -> BenchmarksClient:
        return self.app.client

    def poke_poller(self) -> None:
        """Poll now and stay fast for a while: the action's effect shows within seconds."""
        if self.poller is not None:
            self.poller.poke()

    def toast_error(self, error: ApiError, what: str) -> None:
        """One toast for a failed request, titled by its failure class."""
        title, severity = toast_for(error)
        self.notify(f"{what}: {error}", title=title, severity=severity)

    def require_task(self, action: str) -> str | None:
        """The selected task, or a warning toast and None."""
        if self.selected_task is None:
            self.notify("Select a task first.", title=action, severity="warning")
        return self.selected_task

    def task_version(self) -> int | None:
        """The selected task's latest version, as its runs report it (None if unknown)."""
        versions = [run.task_slug.version_number for run in self.runs.values()]
        known = [v for v in versions if v]
        return max(known) if known else None

    def default_output(self) -> Path:
        return self.last_download_output or self.settings_for_actions.download_output or Path.cwd()


class DataActions(ActionBase):
    """`d` download, `v` results, `a` proxy credentials, `b` leaderboard."""

    # -- download -------------------------------------------------------------------------

    def action_download(self) -> None:
        """Download the finished runs of the selected task (dialog, then progress)."""
        task = self.require_task("Download")
        if task is not None:
            self.open_download(task)

    @work(exclusive=True, group="action-download-plan")
    async def open_download(self, task: str) -> None:
        """Look the runs up, then ask where to put them."""
        from kbench_tui.tui.screens.download import DownloadDialog
        from kbench_tui.watch.transfers import plan_task_downloads

        try:
            plan = await plan_task_downloads(self.api, task, self.default_output())
        except ApiError as error:
            self.toast_error(error, f"Cannot list the runs of '{task}'")
            return
        dialog = DownloadDialog(task, len(plan.jobs), plan.in_progress, str(plan.output))
        self.app.push_screen(dialog, lambda request: self._download_chosen(plan, request))

    def _download_chosen(self, plan: TransferPlan, request: DownloadRequest | None) -> None:
        from kbench_tui.tui.cli_equivalent import download_command
        from kbench_tui.tui.screens.download import DownloadProgressScreen

        if request is None:
            return
        plan = plan.with_output(request.output)
        command = download_command(plan.task, request.output, request.include_source, request.force)
        screen = DownloadProgressScreen(plan.task, plan.target_directory, plan.jobs, command)
        worker = self.run_download(plan, request, screen)

        def closed(_: None) -> None:
            if worker.is_running:
                worker.cancel()
                self.notify(
                    "Download cancelled; partial files resume next time.",
                    title="Download",
                    severity="warning",
                )

        self.app.push_screen(screen, closed)

    @work(exclusive=True, group="action-download")
    async def run_download(
        self, plan: TransferPlan, request: DownloadRequest, screen: DownloadProgressScreen
    ) -> None:
        """Download concurrently, feeding the progress screen; a toast sums it up."""
        from kbench_tui.watch.transfers import TransferManager

        manager = TransferManager(
            self.api,
            concurrency=self.settings_for_actions.download_concurrency,
            include_source=request.include_source,
            force=request.force,
            on_event=screen.apply,
        )
        self.last_download_output = request.output
        try:
            summary = await manager.run(plan.jobs)
        except AuthError as error:
            screen.fail(str(error))
            self.toast_error(error, "Download stopped")
            return
        screen.finish(summary)
        failed = summary.line.count("failed") or summary.line.count("bad zip")
        self.notify(
            summary.line + (f"\n{summary.tip}" if summary.tip else ""),
            title=f"Downloaded {plan.task}",
            severity="warning" if failed else "information",
        )

    # -- results --------------------------------------------------------------------------

    def action_results(self) -> None:
        """Compare the downloaded results of the selected task across models."""
        task = self.require_task("Results")
        if task is not None:
            self.open_results(task)

    @work(exclusive=True, group="action-results")
    async def open_results(self, task: str) -> None:
        """Read the run files in a thread (disk IO), then show them."""
        from kbench_tui.tui.screens.results import ResultsScreen
        from kbench_tui.watch.results_scan import scan_task_results

        version = self.task_version()
        if version is None:
            try:
                version = (await self.api.get_task(task)).slug.version_number
            except ApiError as error:
                self.toast_error(error, f"Cannot look up '{task}'")
                return
        try:
            results = await asyncio.to_thread(
                scan_task_results, self.default_output(), task, version
            )
        except OSError as error:
            self.notify(str(error), title="Cannot read results", severity="error")
            return

        def closed(choice: ResultsAction | None) -> None:
            if choice == "download":
                self.open_download(task)

        self.app.push_screen(ResultsScreen(results), closed)

    # -- proxy credentials ----------------------------------------------------------------

    def action_proxy_credentials(self) -> None:
        """Fetch model-proxy credentials into `.env` (after a confirmation)."""
        from kbench_tui.tui.screens.proxy_credentials import proxy_confirm_dialog

        env_file = self.settings_for_actions.env_file or Path.cwd() / ".env"
        self.app.push_screen(
            proxy_confirm_dialog(env_file),
            lambda choice: self.write_proxy_credentials(env_file) if choice else None,
        )

    @work(exclusive=True, group="action-proxy")
    async def write_proxy_credentials(self, env_file: Path) -> None:
        """CreateDefaultModelProxyToken, then upsert MODEL_PROXY_* (0600) and show the expiry."""
        from kbench_tui.config import load_dotenv_settings, upsert_env_file
        from kbench_tui.tui.screens.proxy_credentials import (
            ProxyCredentials,
            ProxyCredentialsScreen,
            key_hint,
        )

        try:
            answer = await self.api.create_model_proxy_token()
        except NotFoundError:
            self.notify(
                "Endpoint not found (404). Possible causes: model-proxy credentials are in "
                "beta and not enabled for this account, or kbench-tui is out of date.",
                title="Credentials not created",
                severity="error",
            )
            return
        except AuthError as error:
            self.notify(
                f"Authentication failed ({error.status}). Your account may need phone "
                "verification, or your Kaggle credentials are stale.",
                title="Credentials not created",
                severity="error",
            )
            return
        except ApiError as error:
            self.toast_error(error, "Credentials not created")
            return
        expiry = answer.expiry_time
        values = {
            "MODEL_PROXY_URL": answer.base_uri,
            "MODEL_PROXY_API_KEY": answer.token,
            "MODEL_PROXY_EXPIRY_TIME": f"{expiry.isoformat()}Z" if expiry else "",
        }
        try:
            await asyncio.to_thread(upsert_env_file, env_file, values)
            proxy = await asyncio.to_thread(load_dotenv_settings, env_file.parent)
        except OSError as error:
            self.notify(
                f"{env_file}: {error.strerror or error}", title="Not written", severity="error"
            )
            return
        self.app.proxy = proxy
        self._show_proxy(proxy)
        written = ProxyCredentials(env_file, answer.base_uri, key_hint(answer.token), expiry)
        # After the next paint, so the status bar already shows the new expiry underneath.
        self.call_after_refresh(self.app.push_screen, ProxyCredentialsScreen(written))

    def _show_proxy(self, proxy: Any) -> None:
        """Let the status bar show the new expiry (it owns how)."""
        from kbench_tui.tui.widgets.status_bar import StatusBar

        for screen in self.app.screen_stack:
            for bar in screen.query(StatusBar):
                bar.proxy = proxy

    # -- leaderboard ----------------------------------------------------------------------

    def action_leaderboard(self) -> None:
        """Ask for a benchmark and show its leaderboard."""
        from kbench_tui.tui.screens.leaderboard import LeaderboardDialog
        from kbench_tui.tui.widgets.status_bar import StatusBar

        owner = None
        for bar in self.app.screen.query(StatusBar):
            owner = bar.user or None
        owner = owner if owner and not owner.startswith("(") else self.app.user_hint
        self.app.push_screen(
            LeaderboardDialog(owner), lambda ref: self.show_leaderboard(ref) if ref else None
        )

    @work(exclusive=True, group="action-leaderboard")
    async def show_leaderboard(self, ref: BenchmarkRef) -> None:
        """GetBenchmarkLeaderboard, then the models × tasks table."""
        from kbench_tui.tui.screens.leaderboard import LeaderboardScreen

        try:
            board = await self.api.get_leaderboard(ref.owner, ref.benchmark)
        except ApiError as error:
            self.toast_error(error, f"Leaderboard of '{ref}'")
            return
        self.app.push_screen(LeaderboardScreen(ref, board))
