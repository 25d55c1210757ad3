"""The status bar (top): endpoint, user, quota, proxy key expiry, connection state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kbench_tui.tui.format import format_duration

if TYPE_CHECKING:
    from kbench_tui.config import ProxySettings

_EPOCH = datetime(1970, 1, 1)


def proxy_note(proxy: ProxySettings | None, now: datetime) -> tuple[str, str] | None:
    """(text, severity) about the `.env` model-proxy key; None when there is no key."""
    if proxy is None or (proxy.api_key is None and proxy.expiry is None):
        return None
    status = proxy.expiry_status(now)
    left = proxy.expires_in(now)
    if status == "expired":
        return ("proxy key expired — refresh with `kaggle b auth -y`", "error")
    if status == "soon" and left is not None:
        return (
            f"proxy key expires in {format_duration(left.total_seconds())} — "
            "refresh with `kaggle b auth -y`",
            "warning",
        )
    if status == "ok" and left is not None:
        days = left // timedelta(days=1)
        remaining = f"{days} d" if days >= 1 else format_duration(left.total_seconds())
        return (f"proxy key valid {remaining}", "information")
    return ("proxy key expiry unknown", "information")


class StatusBar(Static):
    """One line of facts about the session; the connection part counts down while offline."""

    endpoint: reactive[str] = reactive("")
    user: reactive[str] = reactive("")
    quota: reactive[tuple[float, float] | None] = reactive(None)
    proxy: reactive[ProxySettings | None] = reactive(None)
    """The `.env` model-proxy settings, for the key's expiry."""
    online: reactive[bool] = reactive(True)
    offline_reason: reactive[str] = reactive("")
    retry_at: reactive[float | None] = reactive(None)
    polling: reactive[str] = reactive("")

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now

    def on_mount(self) -> None:
        # The countdown while offline and the proxy key's expiry change by themselves.
        self.set_interval(1.0, self.refresh)

    def go_offline(self, reason: str, retry_at: float | None) -> None:
        """Show "offline — retrying in N s"; the panes keep their last data."""
        self.online = False
        self.offline_reason = reason
        self.retry_at = retry_at

    def go_online(self) -> None:
        """Back online."""
        self.online = True
        self.offline_reason = ""
        self.retry_at = None

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" kbench ", style="bold reverse")
        text.append(f" {self.endpoint}", style="bold")
        if self.user:
            text.append("  user ", style="dim")
            text.append(self.user)
        if self.quota is not None:
            used, allowed = self.quota
            near = allowed > 0 and used >= 0.9 * allowed
            text.append("  quota ", style="dim")
            text.append(f"${used:.2f} / ${allowed:.2f}", style="bold red" if near else "")
        note_and_severity = proxy_note(self.proxy, self._now())
        if note_and_severity is not None:
            note, severity = note_and_severity
            style = {"error": "bold red", "warning": "bold yellow"}.get(severity, "dim")
            text.append(f"  {note}", style=style)
        text.append("  ")
        if self.online:
            text.append("● online", style="green")
            if self.polling:
                text.append(f" · {self.polling}", style="dim")
        else:
            text.append("○ offline", style="bold red")
            if self.retry_at is not None:
                now = (self._now() - _EPOCH).total_seconds()
                seconds = max(0, round(self.retry_at - now))
                text.append(f" — retrying in {seconds} s", style="bold red")
            if self.offline_reason:
                text.append(f" ({self.offline_reason})", style="dim")
        return text
