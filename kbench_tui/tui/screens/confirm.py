"""`ConfirmDialog`: a yes/no question with an optional checkbox; `y` confirms, esc/`n` cancels.

Used for Publish ("cannot be undone", "also publish the backing notebook" on by default)
and for Re-run errored (the exact models that will be scheduled are listed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Static

from kbench_tui.tui.cli_equivalent import publish_command, run_command
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

__all__ = ["ConfirmChoice", "ConfirmDialog", "publish_dialog", "rerun_dialog"]


@dataclass(frozen=True)
class ConfirmChoice:
    """The user said yes; `option` is the checkbox's value (False when there is none)."""

    option: bool = False


class ConfirmDialog(DialogScreen[ConfirmChoice | None]):
    """Ask before an action; dismisses with a `ConfirmChoice`, or None when cancelled."""

    DEFAULT_CSS = """
    ConfirmDialog .dialog {
        width: 84;
    }
    ConfirmDialog #confirm-body {
        height: auto;
    }
    ConfirmDialog #confirm-option {
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm", id="confirm-yes"),
        Binding("n", "cancel", "Cancel", show=False, id="confirm-no"),
    ]

    def __init__(
        self,
        title: str,
        body: str | Text,
        *,
        confirm_label: str = "Confirm",
        option_label: str | None = None,
        option_default: bool = True,
        cli: Callable[[bool], str] | None = None,
        danger: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.option_label = option_label
        self.option_default = option_default
        self.cli = cli
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(self.title_text, classes="dialog-title", id="confirm-title")
            yield Static(self.body, id="confirm-body")
            if self.option_label is not None:
                yield Checkbox(self.option_label, self.option_default, id="confirm-option")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="confirm-cancel")
                yield Button(
                    f"{self.confirm_label} (y)",
                    id="confirm-accept",
                    variant="error" if self.danger else "primary",
                )
            yield CliLine(id="confirm-cli")

    def on_mount(self) -> None:
        super().on_mount()
        # Focus the checkbox when there is one, so space flips it; else the confirm button.
        if self.option_label is not None:
            self.query_one("#confirm-option", Checkbox).focus()
        else:
            self.query_one("#confirm-accept", Button).focus()

    @property
    def option(self) -> bool:
        """The checkbox's current value (False when the dialog has none)."""
        if self.option_label is None:
            return False
        return self.query_one("#confirm-option", Checkbox).value

    def cli_command(self) -> str:
        return self.cli(self.option) if self.cli is not None else ""

    @on(Checkbox.Changed, "#confirm-option")
    def _option_changed(self, event: Checkbox.Changed) -> None:
        self.refresh_cli()

    @on(Button.Pressed, "#confirm-accept")
    def _accept_pressed(self, event: Button.Pressed) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        """Say yes."""
        self.dismiss(ConfirmChoice(self.option))


def publish_dialog(task: str, *, is_public: bool = False) -> ConfirmDialog:
    """The Publish confirmation: says it cannot be undone; notebook checkbox on by default."""
    body = Text()
    if is_public:
        body.append(f"'{task}' is already public. ", style="bold")
        body.append("Confirm to publish its backing notebook too (when ticked).\n")
    else:
        body.append(f"Make '{task}' public on Kaggle.\n")
    body.append("This cannot be undone: published tasks cannot be made private again.", "bold red")
    return ConfirmDialog(
        f"Publish {task}",
        body,
        confirm_label="Publish",
        option_label="Also publish the backing notebook",
        option_default=True,
        cli=lambda notebook: publish_command(task, notebook),
        danger=True,
    )


def rerun_dialog(task: str, models: Sequence[str]) -> ConfirmDialog:
    """The Re-run errored confirmation, listing exactly the models to be scheduled."""
    body = Text(
        f"Schedule a new run of '{task}' for the {len(models)} model(s) whose last run ERRORED:\n"
    )
    for model in models:
        body.append(f"  • {model}\n", style="bold")
    return ConfirmDialog(
        f"Re-run errored · {task}",
        body,
        confirm_label="Re-run",
        cli=lambda _: run_command(task, models),
    )
