"""`KbenchApp`: wires the connection, pushes the dashboard, owns shutdown. Nothing else.

Start-up reaches the first painted task list without pydantic: the poller reads through
the connection the factory builds (a `TaskReader`, plain records), and the full
`BenchmarksClient` (pydantic models, ~120 ms to import) is built on the same connection
pool the first time an action needs it — normally earlier, in a background thread once
the first task list is on screen (`warm_client`), so the first key press does not wait.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App

from kbench_tui.tui.commands import DashboardCommands
from kbench_tui.tui.settings import DashboardSettings

if TYPE_CHECKING:
    from kbench_tui.api.client import BenchmarksClient
    from kbench_tui.api.connection import RpcConnection
    from kbench_tui.api.reader import TaskReader
    from kbench_tui.config import ProxySettings

_EPOCH = datetime(1970, 1, 1)

# Collector thresholds while the dashboard runs (Python's default: 700, 10, 10). Painting
# makes reference cycles at a high rate: Textual's `Strip` caches itself in its own
# crop/divide caches, so every line of every widget drawn is a small cycle, ~30,000 a
# second while the task list is filtered or a log streams. With the default thresholds a
# full collection (50-90 ms with 1,000+ tasks loaded: it walks every task record) ran
# every few hundred milliseconds and the key that arrived meanwhile waited for it
# (docs/performance.md). Fewer, larger young collections (< 10 ms each) free the same
# cycles; full collections become rare. Memory stays bounded (bench_memory.py's soak).
GC_THRESHOLDS = (20_000, 20, 20)


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
        connection_factory: Callable[[], TaskReader | BenchmarksClient],
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
            connection_factory: builds the one connection, inside the app's loop: a
                `TaskReader` (the poller reads plain records; `client` is then built on
                its pool when first needed) or a `BenchmarksClient` (used for everything).
            endpoint: shown in the status bar.
            token: an access token to look the user up with (IntrospectToken), if any.
            user_hint: the username of legacy (Basic) credentials, shown as is.
            proxy: the `.env` model-proxy settings (the status bar shows the key's expiry).
            credentials_problem: open the credentials help instead of the dashboard.
            settings: keymap, bell, poll cadence, log limits.
            now: the clock (naive UTC); tests and snapshots freeze it.
        """
        super().__init__()
        self._connection_factory = connection_factory
        self._connection: TaskReader | BenchmarksClient | None = None
        self._client: BenchmarksClient | None = None
        self._gc_thresholds = gc.get_threshold()
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
    def reader(self) -> TaskReader | BenchmarksClient:
        """The connection the poller reads tasks, runs, quota and the user through."""
        if self._connection is None:
            raise RuntimeError("the connection is opened when the app mounts")
        return self._connection

    @property
    def client(self) -> BenchmarksClient:
        """The full API client (actions, downloads), on the same connection pool.

        Importing it costs ~120 ms (pydantic and the models), so it is made on first use,
        not at start-up; `warm_client` normally does that in the background first.
        """
        if self._client is None:
            self._client = _client_on(self.reader)
        return self._client

    @work(thread=True, exclusive=True, group="warm-client", exit_on_error=False)
    def warm_client(self) -> None:
        """Import the client's modules off the event loop, once the first frame is out.

        Only the import runs in the thread (a module import is thread-safe: an action
        that needs the client meanwhile waits for the same import); the client itself is
        still made on the loop, by `client`. The import creates ~50,000 long-lived
        objects, kept out of later collections like the start-up's own (tui/main.py).
        """
        if self._client is not None or "kbench_tui.api.client" in sys.modules:
            return
        import kbench_tui.api.client  # noqa: F401

        gc.freeze()

    async def on_mount(self) -> None:
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        for warning in self.settings.warnings:
            self.notify(warning, title="Settings", severity="warning")
        if self.credentials_problem is not None:
            self.show_credentials(self.credentials_problem)
            return
        # httpx binds its connection pool to the running loop: open the connection here.
        connection = self._connection_factory()
        await connection.__aenter__()
        self._connection = connection
        from kbench_tui.tui.screens.dashboard import DashboardScreen

        dashboard = DashboardScreen()
        # The first task-list request travels while the screen is composed and mounted.
        dashboard.start_polling()
        await self.push_screen(dashboard)

    def show_credentials(self, reason: str, *, rejected: bool = False) -> None:
        """Replace everything with the screen that explains how to provide credentials."""
        from kbench_tui.tui.screens.credentials import CredentialsScreen

        self.credentials_rejected = self.credentials_rejected or rejected
        self.workers.cancel_all()
        self.push_screen(CredentialsScreen(reason))

    async def on_unmount(self) -> None:
        gc.set_threshold(*self._gc_thresholds)
        # Workers are cancelled before the app unmounts, so nothing uses the connection
        # now; a client made on it shares its pool, which closes with it.
        self._client = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.__aexit__(None, None, None)


def _client_on(connection: RpcConnection) -> BenchmarksClient:
    """`connection` itself if it is a `BenchmarksClient`, else one sharing its pool."""
    from kbench_tui.api.client import BenchmarksClient
    from kbench_tui.api.reader import sharing

    if isinstance(connection, BenchmarksClient):
        return connection
    return sharing(connection, BenchmarksClient)
