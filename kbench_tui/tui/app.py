"""`KbenchApp`: wires the client, pushes the dashboard, owns shutdown. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar

from textual.app import App

from kbench_tui.tui.commands import DashboardCommands
from kbench_tui.tui.settings import DashboardSettings

if TYPE_CHECKING:
    from kbench_tui.api.client import BenchmarksClient
    from kbench_tui.config import ProxySettings

_EPOCH = datetime(1970, 1, 1)


def utc_now() -> datetime:
    """The real time as a naive UTC datetime (the API's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class KbenchApp(App[int]):
    """The dashboard application; every time it shows comes from the injected `now`."""

    CSS_PATH = "app.tcss"
    TITLE = "kbench"
    COMMANDS: ClassVar = App.COMMANDS | {DashboardCommands}

    def __init__(
        self,
        client_factory: Callable[[], BenchmarksClient],
        *,
        endpoint: str,
        token: str | None = None,
        user_hint: str | None = None,
        proxy: ProxySettings | None = None,
        credentials_problem: str | None = None,
        settings: DashboardSettings | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        """
        Args:
            client_factory: builds the one `BenchmarksClient`; called inside the app's loop.
            endpoint: shown in the status bar.
            token: an access token to look the user up with (IntrospectToken), if any.
            user_hint: the username of legacy (Basic) credentials, shown as is.
            proxy: the `.env` model-proxy settings (the status bar shows the key's expiry).
            credentials_problem: open the credentials help instead of the dashboard.
            settings: keymap, bell, poll cadence, log limits.
            now: the clock (naive UTC); tests and snapshots freeze it.
        """
        super().__init__()
        self._client_factory = client_factory
        self._client: BenchmarksClient | None = None
        self.endpoint = endpoint
        self.token = token
        self.user_hint = user_hint
        self.proxy = proxy
        self.credentials_problem = credentials_problem
        self.settings = settings or DashboardSettings()
        self.now = now
        self.credentials_rejected = False
        """Set when the service refused the credentials (the exit code says so)."""

    def clock_seconds(self) -> float:
        """`now()` as epoch seconds, for countdowns and the poller's deadlines."""
        return (self.now() - _EPOCH).total_seconds()

    @property
    def client(self) -> BenchmarksClient:
        """The one API client (open while the app runs)."""
        if self._client is None:
            raise RuntimeError("the client is opened when the app mounts")
        return self._client

    async def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        for warning in self.settings.warnings:
            self.notify(warning, title="Settings", severity="warning")
        if self.credentials_problem is not None:
            self.show_credentials(self.credentials_problem)
            return
        # httpx binds its connection pool to the running loop: open the client here.
        client = self._client_factory()
        await client.__aenter__()
        self._client = client
        from kbench_tui.tui.screens.dashboard import DashboardScreen

        await self.push_screen(DashboardScreen())

    def show_credentials(self, reason: str, *, rejected: bool = False) -> None:
        """Replace everything with the screen that explains how to provide credentials."""
        from kbench_tui.tui.screens.credentials import CredentialsScreen

        self.credentials_rejected = self.credentials_rejected or rejected
        self.workers.cancel_all()
        self.push_screen(CredentialsScreen(reason))

    async def on_unmount(self) -> None:
        # Workers are cancelled before the app unmounts, so nothing uses the client now.
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)
