"""The dashboard's actions: open each dialog from the current selection, run it in a worker.

`DashboardActions` is mixed into `DashboardScreen` (so `self` is the screen, and every
worker belongs to it, grouped per action). Dialogs only collect typed answers; the requests
happen here, in workers, through the API client and the services (`push.py`,
`watch/transfers.py`). Each outcome is a toast with a title and a severity, and every
action that changes something on the server calls the poller's `poke()` so the dashboard
polls fast right after it.

`ACTION_BINDINGS` are the keys (each with an id for the keymap), `ACTION_COMMANDS` the
command-palette entries; the dashboard splices both into its own lists. The services
(push, picks) and dialogs are imported when an action first runs, not with the dashboard.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding

from kbench_tui.api.errors import ApiError, AuthError, NotFoundError
from kbench_tui.tui.actions_data import ActionBase, ActionSettings, DataActions

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTask
    from kbench_tui.push import PushStatus
    from kbench_tui.tui.screens.confirm import ConfirmChoice
    from kbench_tui.tui.screens.push import PushRequest
    from kbench_tui.tui.screens.push_status import PushStatusScreen

__all__ = [
    "ACTION_BINDINGS",
    "ACTION_COMMANDS",
    "ActionSettings",
    "DashboardActions",
    "errored_models",
    "not_ready_message",
]

ACTION_BINDINGS: list[Binding] = [
    Binding("p", "push", "Push", id="push"),
    Binding("r", "run_models", "Run", id="run-models"),
    Binding("d", "download", "Download", id="download"),
    Binding("v", "results", "Results", id="results"),
    Binding("P", "publish", "Publish", show=False, id="publish"),
    Binding("R", "rerun_errored", "Re-run errored", show=False, id="rerun-errored"),
    Binding("a", "proxy_credentials", "Proxy credentials", show=False, id="proxy-credentials"),
    Binding("b", "leaderboard", "Leaderboard", show=False, id="leaderboard"),
]

# (title, help, action, binding id) for the command palette.
ACTION_COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("Push task file", "Push a .py task file as a new task or version", "push", "push"),
    (
        "Run models",
        "Pick models and schedule runs of the selected task",
        "run_models",
        "run-models",
    ),
    ("Download outputs", "Download the finished runs' outputs", "download", "download"),
    ("Results", "Compare the downloaded results across models", "results", "results"),
    ("Publish task", "Make the selected task public (cannot be undone)", "publish", "publish"),
    (
        "Re-run errored",
        "Schedule the models whose last run errored",
        "rerun_errored",
        "rerun-errored",
    ),
    (
        "Model-proxy credentials",
        "Write MODEL_PROXY_* into .env (kaggle b auth)",
        "proxy_credentials",
        "proxy-credentials",
    ),
    ("Leaderboard", "Show a benchmark's leaderboard", "leaderboard", "leaderboard"),
)


def not_ready_message(task: str, found: ApiBenchmarkTask) -> str:
    """The CLI's refusal to run a version that is not COMPLETED (§10.3)."""
    message = (
        f"Task '{task}' is not ready to run (status: {found.creation_state.short}). "
        "Only completed tasks can be run."
    )
    if found.creation_error_message:
        message += f"\n  Error: {found.creation_error_message}"
    return message


def errored_models(runs: list) -> list[str]:
    """Models whose most recent run (highest id) ERRORED, in first-seen order."""
    latest: dict[str, object] = {}
    for run in sorted(runs, key=lambda run: run.id):
        latest[run.model] = run
    return [model for model, run in latest.items() if run.state.short == "ERRORED"]


class DashboardActions(DataActions, ActionBase):
    """`p` push, `r` run, `R` re-run errored, `P` publish (+ the data actions)."""

    # -- push -----------------------------------------------------------------------------

    def action_push(self) -> None:
        """Choose a task file and push it."""
        from kbench_tui.tui.screens.push import PushDialog

        root = self.settings_for_actions.browse_root or "."
        self.app.push_screen(PushDialog(self._lookup_previous, root=root), self._push_chosen)

    async def _lookup_previous(self, slug: str) -> ApiBenchmarkTask | None:
        """The task's latest version, or None for a task that does not exist yet."""
        try:
            return await self.api.get_task(slug)
        except NotFoundError:
            return None
        except AuthError as error:
            if error.status == 403:  # the CLI reads 403 as "no such task of yours"
                return None
            raise

    def _push_chosen(self, request: PushRequest | None) -> None:
        from kbench_tui.tui.cli_equivalent import push_command
        from kbench_tui.tui.screens.push_status import PushStatusScreen

        if request is None:
            return
        command = push_command(request.plan.slug, request.plan.path, request.datasets)
        status = PushStatusScreen(request.plan.slug, command)
        self.app.push_screen(status)
        self.run_push(request, status)

    @work(exclusive=True, group="action-push")
    async def run_push(self, request: PushRequest, status: PushStatusScreen) -> None:
        """Push and wait for the build, reporting each phase to the status screen."""
        from kbench_tui.push import PollPolicy, PushError, push_task

        def on_status(update: PushStatus) -> None:
            status.add_status(update)
            if update.phase == "building":
                self.poke_poller()  # the new version is on the server: show it now

        poll = PollPolicy(interval_cap=self.settings_for_actions.push_poll_cap)
        try:
            outcome = await push_task(
                self.api,
                request.plan,
                # An empty list means "attach nothing": omit options, like the CLI without -d.
                datasets=request.datasets or None,
                wait=True,
                on_status=on_status,
                poll=poll,
            )
        except PushError as error:
            status.fail(str(error))
            self.notify(str(error), title="Push refused", severity="error")
            return
        except ApiError as error:
            status.fail(str(error))
            self.toast_error(error, "Push failed")
            return
        status.finish(outcome)
        self.poke_poller()
        if outcome.error:
            self.notify(outcome.error, title="Build failed", severity="error")
        else:
            self.notify(f"{outcome.headline} ({outcome.state})\n{outcome.url}", title="Pushed")

    # -- run (model picker) ---------------------------------------------------------------

    def action_run_models(self) -> None:
        """Pick models and schedule runs of the selected task."""
        task = self.require_task("Run")
        if task is not None:
            self.open_model_picker(task)

    @work(exclusive=True, group="action-run-open")
    async def open_model_picker(self, task: str) -> None:
        """Refuse unless the version is COMPLETED; else list all models and open the picker."""
        from kbench_tui.picks import PicksStore
        from kbench_tui.tui.screens.model_picker import ModelPicker, PickerModel

        try:
            found = await self.api.get_task(task)
        except ApiError as error:
            self.toast_error(error, f"Cannot look up '{task}'")
            return
        if not found.creation_state.is_ready:
            self.notify(not_ready_message(task, found), title="Cannot run", severity="error")
            return
        try:
            models = await self.api.list_all_models()
        except ApiError as error:
            self.toast_error(error, "Cannot list the models")
            return
        if not models:
            self.notify(
                "No benchmark models available. This may be a temporary issue — try again later.",
                title="Run",
                severity="warning",
            )
            return
        store = PicksStore(self.settings_for_actions.picks_path)
        remembered = await asyncio.to_thread(store.get, task)
        picker = ModelPicker(task, [PickerModel.of(m) for m in models], remembered)
        self.app.push_screen(
            picker, lambda chosen: self.schedule(task, chosen, remember=True) if chosen else None
        )

    @work(group="action-run")
    async def schedule(self, task: str, models: list[str], remember: bool = False) -> None:
        """BatchScheduleBenchmarkTaskRuns, then a per-model Scheduled / Skipped summary."""
        try:
            answer = await self.api.schedule_runs(task, models)
        except NotFoundError:
            self.notify(
                f"Failed to schedule runs. Some model names may be invalid: {models}.",
                title="Not scheduled",
                severity="error",
            )
            return
        except ApiError as error:
            self.toast_error(error, "Not scheduled")
            return
        self.poke_poller()
        lines: list[str] = []
        skipped = 0
        # The CLI pairs results with the requested models by position (§3.2).
        for index, model in enumerate(models):
            result = answer.results[index] if index < len(answer.results) else None
            if result is not None and result.run_scheduled:
                lines.append(f"{model}: Scheduled")
            else:
                skipped += 1
                reason = result.run_skipped_reason if result else "no answer from the server"
                lines.append(f"{model}: Skipped ({reason or 'no reason given'})")
        self.notify(
            "\n".join(lines),
            title=f"Submitted run(s) for '{task}'",
            severity="warning" if skipped else "information",
            timeout=10,
        )
        if remember:
            from kbench_tui.picks import PicksStore

            try:
                store = PicksStore(self.settings_for_actions.picks_path)
                await asyncio.to_thread(store.remember, task, models)
            except OSError as error:
                self.notify(
                    f"Could not remember the picks: {error.strerror or error}",
                    title="Run",
                    severity="warning",
                )

    # -- re-run errored -------------------------------------------------------------------

    def action_rerun_errored(self) -> None:
        """Schedule exactly the models whose last run ERRORED, after a confirmation."""
        from kbench_tui.tui.screens.confirm import rerun_dialog

        task = self.require_task("Re-run errored")
        if task is None:
            return
        models = errored_models(list(self.runs.values()))
        if not models:
            self.notify(f"No errored runs in '{task}'.", title="Re-run errored")
            return
        self.app.push_screen(
            rerun_dialog(task, models),
            lambda choice: self.schedule(task, models) if choice else None,
        )

    # -- publish --------------------------------------------------------------------------

    def action_publish(self) -> None:
        """Make the selected task public, after a confirmation that says it is final."""
        task = self.require_task("Publish")
        if task is not None:
            self.open_publish(task)

    @work(exclusive=True, group="action-publish-open")
    async def open_publish(self, task: str) -> None:
        """Look the task up (already public?), then confirm."""
        from kbench_tui.tui.screens.confirm import publish_dialog

        try:
            found = await self.api.get_task(task)
        except ApiError as error:
            self.toast_error(error, f"Cannot look up '{task}'")
            return
        self.app.push_screen(
            publish_dialog(task, is_public=bool(found.is_public)),
            lambda choice: self.publish(task, found, choice) if choice else None,
        )

    @work(exclusive=True, group="action-publish")
    async def publish(self, task: str, found: ApiBenchmarkTask, choice: ConfirmChoice) -> None:
        """PublishBenchmarkTask, with the CLI's checks for already-public tasks (§10.9)."""
        from kbench_tui.push import absolute_task_url

        notebook = choice.option
        if found.is_public:
            if not notebook:
                self.notify(f"Task '{task}' is already public.", title="Publish")
                return
            if found.is_backing_notebook_published:
                self.notify(
                    f"Task '{task}' is already public. Backing notebook is already published.",
                    title="Publish",
                )
                return
        try:
            published = await self.api.publish_task(task, publish_backing_notebook=notebook)
        except ApiError as error:
            self.toast_error(error, f"'{task}' not published")
            return
        self.poke_poller()
        lines = [f"Task '{task}' published successfully."]
        if published.url:
            lines.append(f"Task URL: {absolute_task_url(published.url)}")
        if notebook:
            lines.append(
                "Backing notebook also published."
                if published.is_backing_notebook_published
                else "Note: No backing notebook is associated with this task."
            )
        self.notify("\n".join(lines), title="Published", timeout=10)
