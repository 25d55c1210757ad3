"""`PushStatusScreen`: the live creation status of a push, until COMPLETED or ERRORED.

The dashboard's push worker feeds it (`add_status`, `finish`, `fail`); the screen only
renders. Closing it early does not stop the push: the worker keeps going and reports the
end as a toast, and the task list shows the build state anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kbench_tui.tui.format import state_text
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

if TYPE_CHECKING:
    from kbench_tui.push import PushOutcome, PushStatus

__all__ = ["PushStatusScreen"]


class PushStatusScreen(DialogScreen[None]):
    """Shows each phase of the push as it happens, then the outcome and the task URL."""

    DEFAULT_CSS = """
    PushStatusScreen #push-status-log {
        height: auto;
        max-height: 16;
    }
    PushStatusScreen #push-status-state {
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "cancel", "Close", id="push-status-close"),
    ]

    def __init__(self, slug: str, command: str) -> None:
        super().__init__()
        self.slug = slug
        self.command = command
        self.lines: list[Text] = []
        self.finished = False
        # Set first thing in on_mount (`is_mounted` turns true only after the mount
        # handlers ran); before that, compose and on_mount show what arrived.
        self.ready = False
        self.state_line: Text = state_text("QUEUED") + Text(" waiting…")
        self.title_line = f"Pushing {slug}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="push-status-dialog"):
            yield Static(self.title_line, classes="dialog-title", id="push-status-title")
            with VerticalScroll(id="push-status-log"):
                yield Static(Text("\n").join(self.lines), id="push-status-lines")
            yield Static(self.state_line, id="push-status-state")
            yield Static(
                "The push continues if you close this (esc / enter).", classes="dialog-hint"
            )
            yield CliLine(id="push-status-cli")

    def on_mount(self) -> None:
        self.ready = True
        super().on_mount()
        self.query_one("#push-status-lines", Static).update(Text("\n").join(self.lines))
        self._set_state(self.state_line)

    def cli_command(self) -> str:
        return self.command

    def _append(self, line: Text) -> None:
        self.lines.append(line)
        if self.ready:  # else compose shows what arrived before
            joined = Text("\n").join(self.lines)
            self.query_one("#push-status-lines", Static).update(joined)

    def _set_state(self, state: Text, title: str | None = None) -> None:
        self.state_line = state
        if title is not None:
            self.title_line = title
        if self.ready:
            self.query_one("#push-status-state", Static).update(self.state_line)
            self.query_one("#push-status-title", Static).update(self.title_line)

    def add_status(self, status: PushStatus) -> None:
        """One progress report from the push pipeline (a repeat of the last one is dropped:
        each poll of a long build says "Task status: QUEUED..." again)."""
        if status.phase == "done":
            return  # `finish` shows the headline with the URLs
        if not self.lines or self.lines[-1].plain != f"· {status.message}":
            self._append(Text(f"· {status.message}"))
        if status.state:
            self._set_state(state_text(status.state) + Text(f"  {self.slug}"))

    def finish(self, outcome: PushOutcome) -> None:
        """The push ended: the final state, the server's error if any, and the URLs."""
        self.finished = True
        for warning in outcome.warnings:
            self._append(Text(warning, style="yellow"))
        for note in outcome.notes:
            self._append(Text(note, style="dim"))
        self._append(Text(outcome.headline, style="bold"))
        self._append(Text(f"   Task Details:  {outcome.url}"))
        if outcome.datasets:
            self._append(Text(f"   Attached Kaggle dataset(s): {', '.join(outcome.datasets)}"))
        if outcome.error:
            self._append(Text(outcome.error, style="bold red"))
        elif outcome.state == "COMPLETED":
            self._append(Text(f"   Model Output:  {outcome.model_output_url}"))
            self._append(Text(f"Next: press r on '{outcome.slug}' to run it.", style="green"))
        self._set_state(state_text(outcome.state) + Text(f"  {self.slug}"), outcome.headline)

    def fail(self, message: str) -> None:
        """Nothing was created: say why, in the CLI's words."""
        self.finished = True
        self._append(Text(message, style="bold red"))
        self._set_state(Text("✗ NOT PUSHED", style="bold red"))
