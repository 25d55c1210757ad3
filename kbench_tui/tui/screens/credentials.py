"""Shown instead of the dashboard when credentials are missing or the service rejected them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from kbench_tui.config import CREDENTIAL_HELP


class CredentialsScreen(Screen[None]):
    """Says what went wrong and lists the four ways to provide credentials."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "app.quit", "Quit", id="quit-credentials"),
    ]

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="credentials-dialog"):
            yield Static(Text("Kaggle credentials needed", style="bold"), id="credentials-title")
            yield Static(Text(self.reason, style="bold red"), id="credentials-reason")
            yield Static(CREDENTIAL_HELP, id="credentials-help", markup=False)
            yield Static(
                Text("Then start kbench-tui again. Press q to quit.", style="dim"),
                id="credentials-hint",
            )
        yield Footer()
