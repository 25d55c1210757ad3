"""`DownloadDialog` (where and how) and `DownloadProgressScreen` (one bar per run).

The form dismisses with a `DownloadRequest`; enter accepts the defaults (the working
directory, no sources, no force), like `kaggle b t download TASK`. The dashboard's worker
then runs the transfer manager and feeds the progress screen its events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, ProgressBar, Static

from kbench_tui.api.download import DownloadState
from kbench_tui.tui.cli_equivalent import download_command
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen
from kbench_tui.watch.transfers import (
    TransferEvent,
    TransferFinished,
    TransferJob,
    TransferProgress,
    TransferStarted,
    TransferSummary,
)

__all__ = ["DownloadDialog", "DownloadProgressScreen", "DownloadRequest", "format_size"]

_STATE_STYLES = {
    DownloadState.DONE: "bold green",
    DownloadState.CACHED: "bold cyan",
    DownloadState.BAD_ZIP: "bold magenta",
    DownloadState.FAILED: "bold red",
}


def format_size(size: float) -> str:
    """Bytes as the CLI's Size column shows them: `B`, `KB`, `MB` … with 2 decimals, base 1024."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} B" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


@dataclass(frozen=True)
class DownloadRequest:
    """Where to put the outputs and the CLI's `-s` / `-f` flags."""

    output: Path
    include_source: bool = False
    force: bool = False


class DownloadDialog(DialogScreen[DownloadRequest | None]):
    """Output directory, include source notebooks, force; enter accepts."""

    DEFAULT_CSS = """
    DownloadDialog .dialog {
        width: 90;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "accept", "Download", id="download-accept-key"),
    ]

    def __init__(self, task: str, runs: int, in_progress: int = 0, output: str = ".") -> None:
        super().__init__()
        self.task_slug = task
        self.runs = runs
        self.in_progress = in_progress
        self.initial_output = output

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="download-dialog"):
            yield Static(f"Download outputs of {self.task_slug}", classes="dialog-title")
            summary = f"{self.runs} finished run(s) to download"
            if self.in_progress:
                summary += f"; {self.in_progress} still in progress (skipped)"
            yield Static(summary, id="download-summary")
            with Horizontal(classes="field"):
                yield Static("Output directory", classes="field-label")
                yield Input(self.initial_output, id="download-output")
            yield Static("", id="download-error", classes="dialog-error")
            yield Checkbox("Include source notebooks (-s)", False, id="download-source")
            yield Checkbox("Force: download again even if cached (-f)", False, id="download-force")
            yield Static(
                "Layout: <output>/<task>/<version>/<model>/<run_id>/ (as kaggle b t download)",
                classes="dialog-hint",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="download-cancel")
                yield Button("Download (enter)", id="download-accept", variant="primary")
            yield CliLine(id="download-cli")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#download-output", Input).focus()

    def _request(self) -> DownloadRequest:
        output = self.query_one("#download-output", Input).value.strip() or "."
        return DownloadRequest(
            Path(output).expanduser(),
            self.query_one("#download-source", Checkbox).value,
            self.query_one("#download-force", Checkbox).value,
        )

    def cli_command(self) -> str:
        request = self._request()
        return download_command(
            self.task_slug, request.output, request.include_source, request.force
        )

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.query_one("#download-error", Static).update("")
        self.refresh_cli()

    @on(Input.Submitted, "#download-output")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_accept()

    @on(Button.Pressed, "#download-accept")
    def _accept_pressed(self) -> None:
        self.action_accept()

    @on(Button.Pressed, "#download-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_accept(self) -> None:
        """Dismiss with the request, unless the output path names an existing file."""
        request = self._request()
        if request.output.exists() and not request.output.is_dir():
            self.query_one("#download-error", Static).update(
                f"'{request.output}' is a file; choose a directory."
            )
            return
        if self.runs == 0:
            self.query_one("#download-error", Static).update(
                "Nothing to download yet: no run has finished."
            )
            return
        self.dismiss(request)


class TransferRow(Horizontal):
    """One run: `model  id/`, its bar, and bytes/rate or the final state."""

    DEFAULT_CSS = """
    TransferRow {
        height: 1;
    }
    TransferRow .transfer-name {
        width: 44;
    }
    TransferRow ProgressBar {
        width: 30;
    }
    TransferRow .transfer-detail {
        width: 1fr;
    }
    """

    def __init__(self, job: TransferJob) -> None:
        super().__init__(id=f"transfer-{job.run_id}")
        self.job = job
        self.last_progress: TransferEvent | None = None
        self.finished: TransferFinished | None = None
        # Set first thing in on_mount: `is_mounted` only turns true after the mount
        # handlers ran, and an event arriving in between would be lost.
        self.ready = False

    def on_mount(self) -> None:
        # Events can arrive before the row is mounted (the download starts at once):
        # they were recorded, show them now.
        self.ready = True
        self._render_state()

    def record(self, event: TransferEvent) -> None:
        """Keep the newest state of this run and show it if the row is on screen."""
        if isinstance(event, TransferFinished):
            self.finished = event
        elif self.finished is None:
            self.last_progress = event
        if self.ready:
            self._render_state()

    def _render_state(self) -> None:
        if self.last_progress is not None:
            self.show(self.last_progress)
        if self.finished is not None:
            self.show(self.finished)

    def compose(self) -> ComposeResult:
        yield Static(f"{self.job.model[:32]}/{self.job.run_id}/", classes="transfer-name")
        yield ProgressBar(total=None, show_eta=False, id=f"transfer-bar-{self.job.run_id}")
        yield Static(Text("waiting", style="dim"), classes="transfer-detail")

    def show(self, event: TransferEvent) -> None:
        """Render one event of this run."""
        bar = self.query_one(ProgressBar)
        detail = self.query_one(".transfer-detail", Static)
        if isinstance(event, TransferStarted):
            detail.update(Text("starting…", style="dim"))
        elif isinstance(event, TransferProgress):
            bar.update(total=event.total, progress=event.received)
            total = f" / {format_size(event.total)}" if event.total else ""
            rate = f" · {format_size(event.rate)}/s" if event.rate else ""
            detail.update(f"{format_size(event.received)}{total}{rate}")
        elif isinstance(event, TransferFinished):
            result = event.result
            if bar.total is None:
                bar.update(total=1, progress=1)
            else:
                bar.update(progress=bar.total)
            text = Text(result.state.value, style=_STATE_STYLES.get(result.state, "bold"))
            if result.state in (DownloadState.DONE, DownloadState.CACHED):
                text.append(f" · {format_size(result.bytes)}")
            if result.message:
                text.append(f" · {result.message}", style="red")
            detail.update(text)


class DownloadProgressScreen(DialogScreen[None]):
    """A bar per run with bytes and rate, then the final states, the summary and the tip."""

    DEFAULT_CSS = """
    DownloadProgressScreen .dialog {
        width: 120;
    }
    DownloadProgressScreen #download-rows {
        height: auto;
        max-height: 20;
    }
    DownloadProgressScreen #download-result {
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "cancel", "Close", id="download-close"),
    ]

    def __init__(self, task: str, target: Path, jobs: Iterable[TransferJob], command: str) -> None:
        super().__init__()
        self.task_slug = task
        self.target = target
        self.jobs = list(jobs)
        self.command = command
        self.summary: TransferSummary | None = None
        self.failure: str | None = None
        self.ready = False  # see TransferRow.ready
        # Built up front so events that arrive before the screen is mounted are kept.
        self.rows = {job.run_id: TransferRow(job) for job in self.jobs}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="download-progress-dialog"):
            yield Static(f"Downloading output runs for {self.task_slug}", classes="dialog-title")
            yield Static(f"Target directory:  {self.target}/", id="download-target")
            with VerticalScroll(id="download-rows"):
                yield from self.rows.values()
            yield Static("", id="download-result")
            yield Static(
                "Closing this window (esc) cancels downloads still running; "
                "partial files resume next time.",
                classes="dialog-hint",
            )
            yield CliLine(id="download-progress-cli")

    def cli_command(self) -> str:
        return self.command

    def apply(self, event: TransferEvent) -> None:
        """Route one transfer event to its row."""
        row = self.rows.get(event.run_id)
        if row is not None:
            row.record(event)

    def on_mount(self) -> None:
        self.ready = True
        super().on_mount()
        self._render_result()

    def finish(self, summary: TransferSummary) -> None:
        """Show the summary line and, when cached runs lack notebooks, the tip."""
        self.summary = summary
        self._render_result()

    def fail(self, message: str) -> None:
        """The whole download stopped (e.g. credentials rejected)."""
        self.failure = message
        self._render_result()

    def _render_result(self) -> None:
        if not self.ready:
            return  # on_mount renders what arrived before
        text = Text()
        if self.summary is not None:
            text.append(self.summary.line, style="bold")
            if self.summary.tip:
                text.append(
                    f"\n{self.summary.tip}\n(here: tick 'Force' and 'Include source notebooks')",
                    style="yellow",
                )
        if self.failure is not None:
            text.append(self.failure, style="bold red")
        self.query_one("#download-result", Static).update(text)
