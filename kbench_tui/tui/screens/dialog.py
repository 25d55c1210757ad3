"""What every action dialog shares: the frame, escape to cancel, the CLI-equivalent line.

`DialogScreen[Result]` is a `ModalScreen[Result | None]`-style base: escape dismisses with
None ("cancel changes nothing"), `ctrl+y` copies the `kaggle b …` command line the dialog
would amount to (`cli_command()`), shown under the form by `CliLine`.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Static

ResultT = TypeVar("ResultT")


class CliLine(Static):
    """`$ kaggle b t …` in a dim line, with the key that copies it."""

    DEFAULT_CSS = """
    CliLine {
        height: auto;
        margin-top: 1;
        color: $text-muted;
    }
    """

    command: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text("CLI equivalent (ctrl+y copies): ", style="dim")
        text.append(f"$ {self.command}" if self.command else "—", style="bold")
        return text


class DialogScreen(ModalScreen[ResultT]):
    """Base of the action dialogs: a centred frame, escape cancels, ctrl+y copies the CLI."""

    DEFAULT_CSS = """
    DialogScreen {
        align: center middle;
    }
    DialogScreen .dialog {
        width: 100;
        max-width: 96%;
        height: auto;
        max-height: 96%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    DialogScreen .dialog-title {
        text-style: bold;
        height: auto;
        padding: 0 0 1 0;
    }
    DialogScreen .dialog-hint {
        color: $text-muted;
        height: auto;
    }
    DialogScreen .dialog-error {
        color: $error;
        height: auto;
    }
    DialogScreen .dialog-warning {
        color: $warning;
        height: auto;
    }
    DialogScreen .dialog-buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    DialogScreen .dialog-buttons Button {
        margin-left: 2;
    }
    DialogScreen Input {
        width: 1fr;
    }
    DialogScreen .field-label {
        width: 18;
        height: 3;
        content-align: left middle;
    }
    DialogScreen .field {
        height: auto;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog-cancel"),
        Binding("ctrl+y", "copy_cli", "Copy CLI", id="dialog-copy-cli"),
    ]

    def cli_command(self) -> str:
        """The `kaggle b …` command this dialog amounts to right now ("" when none)."""
        return ""

    def refresh_cli(self) -> None:
        """Re-render the CLI line after the form changed."""
        for line in self.query(CliLine):
            line.command = self.cli_command()

    def on_mount(self) -> None:
        self.refresh_cli()

    def action_cancel(self) -> None:
        """Close without doing anything."""
        self.dismiss(None)

    def action_copy_cli(self) -> None:
        """Copy the CLI equivalent (OSC 52: works over ssh in most terminals)."""
        command = self.cli_command()
        if not command:
            self.notify("This step has no CLI equivalent.", title="CLI equivalent")
            return
        self.app.copy_to_clipboard(command)
        self.notify(command, title="Copied to the clipboard")
