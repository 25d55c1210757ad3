"""Model-proxy credentials (`a`): confirm, then show what was written to `.env`.

Like `kaggle b auth`: CreateDefaultModelProxyToken, then MODEL_PROXY_URL / _API_KEY /
_EXPIRY_TIME upserted into `.env` in the working directory (mode 0600, keys replaced, not
duplicated). The key is only ever shown as its last 4 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from kbench_tui.tui.cli_equivalent import auth_command
from kbench_tui.tui.screens.confirm import ConfirmDialog
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

__all__ = ["ProxyCredentials", "ProxyCredentialsScreen", "key_hint", "proxy_confirm_dialog"]


def key_hint(key: str) -> str:
    """`…a1b2`: enough to tell keys apart, never enough to use one."""
    return "…" + key[-4:] if key else "(empty)"


@dataclass(frozen=True)
class ProxyCredentials:
    """What was written: the file, the proxy URL, the key's last 4 characters, the expiry."""

    env_file: Path
    url: str
    key_hint: str
    expiry: datetime | None


def proxy_confirm_dialog(env_file: Path) -> ConfirmDialog:
    """Ask before writing, as `kaggle b auth` does without `-y`."""
    body = Text()
    body.append("Fetch new model-proxy credentials and write MODEL_PROXY_URL, ")
    body.append("MODEL_PROXY_API_KEY and MODEL_PROXY_EXPIRY_TIME into\n")
    body.append(f"  {env_file}\n", style="bold")
    body.append("Existing MODEL_PROXY_* lines are replaced; other lines are kept. Mode 0600.")
    return ConfirmDialog(
        "Model-proxy credentials",
        body,
        confirm_label="Write",
        cli=lambda _: auth_command(env_file.name if env_file.parent == Path.cwd() else env_file),
    )


class ProxyCredentialsScreen(DialogScreen[None]):
    """The outcome: where the settings went, the key's last 4 characters, the new expiry."""

    DEFAULT_CSS = """
    ProxyCredentialsScreen .dialog {
        width: 84;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "cancel", "Close", id="proxy-close"),
    ]

    def __init__(self, written: ProxyCredentials) -> None:
        super().__init__()
        self.written = written

    def compose(self) -> ComposeResult:
        written = self.written
        expiry = written.expiry.strftime("%Y-%m-%d %H:%M:%S UTC") if written.expiry else "unknown"
        body = Text()
        body.append("Updated ", style="green")
        body.append(f"{written.env_file}", style="bold")
        body.append(" (mode 0600)\n\n", style="green")
        body.append(f"  MODEL_PROXY_URL          {written.url}\n")
        body.append(f"  MODEL_PROXY_API_KEY      {written.key_hint}\n")
        body.append(f"  MODEL_PROXY_EXPIRY_TIME  {expiry}\n", style="bold")
        with Vertical(classes="dialog", id="proxy-dialog"):
            yield Static("Model-proxy credentials written", classes="dialog-title")
            yield Static(body, id="proxy-summary")
            yield Static("enter / esc close", classes="dialog-hint")
            yield CliLine(id="proxy-cli")

    def cli_command(self) -> str:
        return auth_command()
