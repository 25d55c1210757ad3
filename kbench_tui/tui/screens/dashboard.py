"""The dashboard screen: coordinates the poller, the log sessions and the four panes.

The screen owns the services (one `Poller`, at most one `LogSession`) and the selection
(`selected_task`, `selected_run`, `all_runs`); panes only render and post messages. Each
service runs in an async worker with its own exclusive group, so selecting another run
cancels the previous stream, and quitting cancels everything.

Start-up: the app calls `start_polling()` before pushing the screen, so the first task
list request is on the wire while the screen is composed; the poller reports the first
load page by page, so the newest tasks are painted after one round trip. Nothing on that
path imports pydantic: the poller, the user lookup and the log streams read through the
app's `reader` (plain records); actions use `app.client`, whose import is warmed in the
background once the whole first list is on screen.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen

from kbench_tui.api.errors import ApiError
from kbench_tui.tui.actions import ACTION_BINDINGS, DashboardActions
from kbench_tui.tui.errors import short_reason, toast_for
from kbench_tui.tui.widgets.key_footer import KeyFooter
from kbench_tui.tui.widgets.log_pane import LogPane
from kbench_tui.tui.widgets.run_table import RunTable
from kbench_tui.tui.widgets.status_bar import StatusBar
from kbench_tui.tui.widgets.task_list import TaskList
from kbench_tui.watch.logstream import LogPhase, LogSession, LogSpool, LogStatus, LogTarget
from kbench_tui.watch.poller import (
    AuthRejected,
    ConnectionChanged,
    Poller,
    PollEvent,
    PollFailed,
    QuotaPolled,
    RunsFailed,
    RunsPolled,
    TasksPolled,
)

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTaskRun
    from kbench_tui.tui.app import KbenchApp


class DashboardScreen(DashboardActions, Screen[None]):
    """Tasks (left), runs of the selected task (right, top), the selected run's log (bottom)."""

    app: KbenchApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next pane", show=False, id="next-pane"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False, id="previous-pane"),
        Binding("l", "all_runs_log", "All runs", id="all-runs-log"),
        Binding("ctrl+r", "refresh", "Refresh", id="refresh"),
        Binding("x", "delete_task", "Delete", show=False, id="delete-task"),
        # Push, run, download, results, publish, re-run, credentials, leaderboard.
        *ACTION_BINDINGS,
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    # Focus the task list as the screen is composed. Without this, Textual focuses the
    # first focusable widget (the hidden filter field) and moving focus to the table
    # afterwards restyles every widget of the screen a second time (~25 ms at start-up).
    AUTO_FOCUS = "#task-table"

    selected_task: var[str | None] = var(None)
    selected_run: var[int | None] = var(None)
    all_runs: var[bool] = var(False)

    @dataclass
    class Polled(Message):
        """The poller reported something (new data, a connection change, a failure)."""

        event: PollEvent

    def __init__(self) -> None:
        super().__init__()
        self.poller: Poller | None = None
        self.spool: LogSpool | None = None
        self.runs: dict[int, ApiBenchmarkTaskRun] = {}
        self.first_cursor_placed = False
        """Whether the first load chose the task to start on (done once, then the user's)."""
        self.auto_task: str | None = None
        """The task the first load chose, until its runs arrive or the user moves away."""
        self.auto_hops = 0
        self.first_report_seen = False
        """Whether the poller has reported anything yet (start-up is over once it has)."""

    def compose(self) -> ComposeResult:
        app = self.app
        yield StatusBar(app.now, id="status-bar")
        with Horizontal(id="panes"):
            yield TaskList(id="task-list")
            with Vertical(id="right"):
                yield RunTable(app.now, id="run-table")
                yield LogPane(max_lines=app.settings.log_max_lines, id="log-pane")
        yield KeyFooter()

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def task_list(self) -> TaskList:
        return self.query_one(TaskList)

    @property
    def run_table(self) -> RunTable:
        return self.query_one(RunTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    def start_polling(self) -> None:
        """Start the poller (once); may run before the screen is mounted.

        Its events are messages to this screen, so any that arrive while the screen is
        still being composed wait in its queue until it is mounted.
        """
        if self.poller is not None:
            return
        app = self.app
        settings = app.settings
        self.poller = Poller(
            app.reader,
            lambda event: self.post_message(self.Polled(event)),
            fast_interval=settings.fast_poll,
            slow_interval=settings.slow_poll,
            offline_delays=settings.offline_delays,
            clock=app.clock_seconds,
        )
        self.poll()

    def on_mount(self) -> None:
        app = self.app
        status = self.status_bar
        status.endpoint = app.endpoint
        status.user = app.user_hint or ""
        status.proxy = app.proxy
        self.log_pane.show_message("Select a run to see its log.")
        self.task_list.focus_table()  # a no-op unless AUTO_FOCUS found nothing
        self.start_polling()

    # -- workers --------------------------------------------------------------------------

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        """Run the poller for as long as the screen lives (or the credentials are rejected)."""
        assert self.poller is not None
        await self.poller.run()

    @work(exclusive=True, group="identity")
    async def identify(self, token: str) -> None:
        """Ask the service who the token belongs to (IntrospectToken)."""
        try:
            answer = await self.app.reader.introspect_token(token)
        except ApiError as error:
            title, severity = toast_for(error)
            self.notify(
                f"Could not look up the signed-in user: {error}", title=title, severity=severity
            )
            return
        with suppress(NoMatches):  # the app closed while the answer was on its way
            self.status_bar.user = answer.username if answer.active else "(token inactive)"

    @work(exclusive=True, group="log-stream")
    async def follow_logs(self, targets: list[LogTarget], title: str, labels: list[str]) -> None:
        """Stream the logs of `targets` into the log pane until they end (or are replaced)."""
        app = self.app
        pane = self.log_pane
        session_number = pane.start(title, labels)
        if self.spool is not None:
            self.spool.close()
        spool = LogSpool(
            lambda batch: pane.add_lines(session_number, batch),
            tail_lines=app.settings.log_max_lines,
            batch_seconds=app.settings.log_batch_seconds,
            directory=app.settings.spool_dir,
        )
        self.spool = spool
        session = LogSession(
            app.reader,
            targets,
            spool,
            lambda status: self._log_status(session_number, status),
            waiting_poll=app.settings.log_waiting_poll,
            retry_delays=app.settings.log_retry_delays,
        )
        await session.run()

    def _log_status(self, session_number: int, status: LogStatus) -> None:
        try:
            pane = self.log_pane
        except NoMatches:  # a stream's last word while the app closes
            return
        before = pane.phases.get(status.run_id) if session_number == pane.session else None
        pane.set_status(session_number, status)
        # A stream that keeps failing reports every reconnect attempt: the pane shows each
        # one, but only the first failure of a run raises a toast (no toast per retry).
        retrying_again = status.phase is LogPhase.RETRYING
        if retrying_again and before is not None and before.phase is LogPhase.RETRYING:
            return
        if status.error is not None and session_number == pane.session:
            title, severity = toast_for(status.error)
            self.notify(
                f"Log of run {status.run_id}: {status.error}", title=title, severity=severity
            )

    @work(exclusive=True, group="save-log")
    async def save_log(self, spool: LogSpool, target: Path) -> None:
        """Copy the whole spooled log to `target` (in a thread: it is disk IO)."""
        # Pending lines go to the pane and the file here, on the loop; the copy runs in a
        # thread (flushing there raced the stream and touched widgets off the loop).
        spool.flush()
        try:
            saved = await asyncio.to_thread(spool.save_to, target)
        except OSError as error:
            self.notify(
                f"{target}: {error.strerror or error}", title="Log not saved", severity="error"
            )
            self.log_pane.set_note("save failed")
            return
        self.notify(str(saved), title="Log saved")
        self.log_pane.set_note(f"saved to {saved}")

    @work(exclusive=True, group="search-log")
    async def search_log(self, spool: LogSpool, pattern: re.Pattern[str]) -> None:
        """Count matches in the full log, including lines the pane no longer keeps."""
        spool.flush()  # lines still pending are searched too (and shown first)
        try:
            numbers = await asyncio.to_thread(spool.search, pattern)
        except OSError as error:
            self.notify(str(error), title="Search failed", severity="error")
            return
        first_kept = self.log_pane.view.first_number
        kept = sum(1 for number in numbers if number >= first_kept)
        self.log_pane.show_search_total(len(numbers), kept)

    # -- poll events ----------------------------------------------------------------------

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        event = message.event
        if not self.first_report_seen and not (
            isinstance(event, TasksPolled) and not event.complete
        ):
            self.first_report_seen = True
            self.call_after_refresh(self._after_first_load)
        if isinstance(event, TasksPolled):
            self.task_list.apply(event.tasks, event.diff)
            # While the first load's pages arrive, say that more tasks are on their way.
            self.status_bar.polling = "" if event.complete else f"{len(event.tasks)} tasks so far…"
            if not self.first_cursor_placed and self.task_list.table.row_count:
                self.first_cursor_placed = True
                self._place_first_cursor()
        elif isinstance(event, RunsPolled):
            self._runs_polled(event)
        elif isinstance(event, RunsFailed):
            if event.task_slug == self.selected_task:
                self.run_table.show_error(f"Runs unavailable: {event.error}")
                title, severity = toast_for(event.error)
                self.notify(str(event.error), title=title, severity=severity)
        elif isinstance(event, QuotaPolled):
            self.status_bar.quota = (event.used, event.allowed)
        elif isinstance(event, ConnectionChanged):
            self._connection_changed(event)
        elif isinstance(event, AuthRejected):
            self.notify(str(event.error), title="Credentials rejected", severity="error")
            self.app.show_credentials(str(event.error), rejected=True)
        elif isinstance(event, PollFailed):
            title, severity = toast_for(event.error)
            self.notify(str(event.error), title=title, severity=severity)

    def _after_first_load(self) -> None:
        """Work kept off the way to the first frame, done once the first list is shown.

        The user lookup is a second request (it would share the simulator's or service's
        attention with the first page), and the full client is only needed by actions.
        """
        app = self.app
        if app.token is not None:
            self.identify(app.token)
        app.warm_client()

    def _place_first_cursor(self) -> None:
        """Start on the newest task that can have runs, so all three panes show data.

        The newest task is often a version still being built (no runs, no log). Only a
        COMPLETED version can be run, so the first such row is the first with something to
        show; without one the cursor stays on the first row. A filter typed before the
        tasks arrived is the user's choice and is left alone.
        """
        task_list = self.task_list
        if task_list.pattern is not None:
            return
        self._move_to_ready_task(start=0)

    def _move_to_ready_task(self, start: int) -> None:
        table = self.task_list.table
        for index, row in enumerate(table.ordered_rows[start:], start=start):
            task = self.task_list.tasks.get(str(row.key.value))
            if task is not None and task.creation_state.is_ready:
                self.auto_task = task.slug.task_slug
                if index != table.cursor_row:
                    table.move_cursor(row=index, animate=False)
                return
        self.auto_task = None

    def _auto_task_runs(self, event: RunsPolled) -> None:
        """A COMPLETED version may still have no runs: then try the next one (a few times)."""
        slug, self.auto_task = self.auto_task, None
        table = self.task_list.table
        if event.runs or self.task_list.highlighted_slug != slug or self.auto_hops >= 3:
            return
        self.auto_hops += 1
        self._move_to_ready_task(start=table.cursor_row + 1)

    def _runs_polled(self, event: RunsPolled) -> None:
        if event.task_slug != self.selected_task:
            return
        if event.task_slug == self.auto_task:
            self._auto_task_runs(event)
        self.runs = {run.id: run for run in event.runs}
        self.run_table.apply(event.task_slug, event.runs, event.diff)
        for before, after in event.diff.changed:
            if not before.state.is_terminal and after.state.is_terminal:
                self._announce_finished(after)
        if self.all_runs and (event.first or event.diff.added or event.diff.removed):
            self._start_all_runs()
        if not event.runs and not self.all_runs:
            self.log_pane.show_message("No runs yet for this task.")

    def _announce_finished(self, run: ApiBenchmarkTaskRun) -> None:
        failed = run.state.short == "ERRORED"
        detail = f": {run.error_summary}" if failed and run.error_summary else ""
        self.notify(
            f"{run.model} on {self.selected_task} {run.state.short}{detail}",
            title="Run failed" if failed else "Run finished",
            severity="error" if failed else "information",
        )
        if self.app.settings.bell:
            self.app.bell()

    def _connection_changed(self, event: ConnectionChanged) -> None:
        status = self.status_bar
        if event.online:
            status.go_online()
            self.notify(f"Connected to {self.app.endpoint} again.", title="Back online")
            return
        reason = short_reason(event.error) if event.error else ""
        was_online = status.online
        status.go_offline(reason, event.retry_at)
        if was_online and event.error is not None:
            title, severity = toast_for(event.error)
            self.notify(
                f"{event.error}\nShowing the last data received.", title=title, severity=severity
            )

    # -- selection ------------------------------------------------------------------------

    @on(TaskList.TaskHighlighted)
    def _task_highlighted(self, message: TaskList.TaskHighlighted) -> None:
        if message.task_slug != self.task_list.highlighted_slug:
            return  # stale: the cursor has moved on since (the newer message follows)
        if message.task_slug != self.auto_task:
            self.auto_task = None  # the user moved: the cursor is theirs from now on
        self.selected_task = message.task_slug

    @on(TaskList.TaskChosen)
    def _task_chosen(self, message: TaskList.TaskChosen) -> None:
        self.selected_task = message.task_slug
        self.run_table.focus_table()

    @on(RunTable.RunHighlighted)
    def _run_highlighted(self, message: RunTable.RunHighlighted) -> None:
        if not self.all_runs:
            self.selected_run = message.run_id

    @on(RunTable.RunChosen)
    def _run_chosen(self, message: RunTable.RunChosen) -> None:
        if self.all_runs:
            self.all_runs = False
        self.selected_run = message.run_id
        self.log_pane.focus_log()

    def watch_selected_task(self, slug: str | None) -> None:
        # Reset the run selection without firing its watchers: the old task's stream is
        # cancelled here, and the new task's first run is selected when its runs arrive.
        self.runs = {}
        self.set_reactive(DashboardScreen.all_runs, False)
        self.set_reactive(DashboardScreen.selected_run, None)
        self.workers.cancel_group(self, "log-stream")
        self.log_pane.show_message("Select a run to see its log." if slug else "Select a task.")
        self.run_table.show_task(slug)
        if self.poller is not None:
            self.poller.select_task(slug)

    def watch_selected_run(self, run_id: int | None) -> None:
        if self.all_runs:
            return
        if run_id is None:
            self.workers.cancel_group(self, "log-stream")
            self.log_pane.show_message("Select a run to see its log.")
            return
        run = self.runs.get(run_id)
        model = run.model if run is not None else "run"
        self.follow_logs([LogTarget(run_id)], f"{model} · run {run_id}", [])

    def watch_all_runs(self, all_runs: bool) -> None:
        if all_runs:
            self._start_all_runs()
        elif self.selected_run is not None:
            self.watch_selected_run(self.selected_run)

    def _start_all_runs(self) -> None:
        runs = list(self.runs.values())
        if not runs:
            self.log_pane.show_message("No runs yet for this task.")
            return
        targets = [LogTarget(run.id, run.model) for run in runs]
        labels = sorted({run.model for run in runs})
        self.follow_logs(targets, f"All runs · {self.selected_task}", labels)

    # -- actions --------------------------------------------------------------------------

    def action_all_runs_log(self) -> None:
        """Show every run of the task together, each line prefixed by its model."""
        if self.selected_task is None:
            self.notify("Select a task first.", title="All runs", severity="warning")
            return
        self.all_runs = not self.all_runs

    def action_refresh(self) -> None:
        """Poll now and return to the fast cadence."""
        if self.poller is not None:
            self.poller.poke()
        self.notify("Refreshing…", timeout=1.5)

    def action_delete_task(self) -> None:
        """The service has no delete yet (the kaggle CLI says the same)."""
        self.notify(
            "Delete is not supported by the server yet.", title="Delete", severity="warning"
        )

    def action_help(self) -> None:
        """Show every key binding."""
        from kbench_tui.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    @on(LogPane.SaveRequested)
    def _save_requested(self, message: LogPane.SaveRequested) -> None:
        if self.spool is None or self.spool.line_count == 0:
            self.notify("There is no log to save yet.", title="Save log", severity="warning")
            return
        name = (
            f"{self.selected_task or 'log'}-all-runs"
            if self.all_runs
            else (f"{self.selected_task or 'log'}-run-{self.selected_run}")
        )
        self.save_log(self.spool, self.app.settings.save_dir / f"{name}.log")

    @on(LogPane.SearchRequested)
    def _search_requested(self, message: LogPane.SearchRequested) -> None:
        if self.spool is not None:
            self.search_log(self.spool, message.pattern)

    def on_unmount(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None
