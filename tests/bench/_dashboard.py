"""Driving the real dashboard in-process for the benchmarks (headless, real sockets).

The app is `KbenchApp` exactly as `kbench-tui --endpoint URL` builds it, run with
`run_test(headless=True)`: layout, compositing and rendering of every frame happen as in
a terminal; only the final write to the terminal is skipped. The simulator runs in its
own process (`SimProcess`), so the dashboard's event loop is all that is measured.

Key-to-effect latency is measured the way a user perceives it: the key event is handed
to the driver (as a terminal would), then the clock stops when the effect is visible in
the widget state *and* the screen has refreshed after it. Pilot's `press()` is not used
for this: it waits for the process to go idle (>= 20 ms), which is not what a user waits
for.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from textual import events

from kbench_tui.api.reader import TaskReader
from kbench_tui.config import Credentials
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.settings import DashboardSettings

TOKEN = "demo-token"


@asynccontextmanager
async def dashboard(url: str, size: tuple[int, int] = (160, 50)) -> AsyncIterator[KbenchApp]:
    """The dashboard against `url`, running headless until the block ends."""
    spool = Path(tempfile.mkdtemp(prefix="kbench-bench-spool-"))
    settings = DashboardSettings(bell=False, spool_dir=spool, save_dir=spool)
    credentials = Credentials.token(TOKEN, source="bench")
    app = KbenchApp(lambda: TaskReader(url, credentials), endpoint=url, settings=settings)
    async with app.run_test(headless=True, size=size):
        yield app


def screen_of(app: KbenchApp) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen), screen
    return screen


async def wait_for(predicate: Callable[[], bool], timeout: float = 120.0) -> float:
    """Poll `predicate` every 2 ms; returns the perf_counter time it became true."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.002)
    return time.perf_counter()


async def after_refresh(app: KbenchApp) -> None:
    """Return once the screen has been refreshed (composited and rendered)."""
    done = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: done.done() or done.set_result(None))
    await done


async def key_to_effect(
    app: KbenchApp, key: str, effect: Callable[[], bool], char: str | None = None
) -> float:
    """Seconds from the key reaching the app to its effect being on screen."""
    assert app._driver is not None
    start = time.perf_counter()
    event = events.Key(key, char or (key if len(key) == 1 else None))
    event.set_sender(app)
    app._driver.send_message(event)
    await wait_for(effect, timeout=30)
    await after_refresh(app)
    return time.perf_counter() - start


async def loaded(app: KbenchApp, rows: int) -> None:
    """Wait until the task list holds `rows` rows and the screen has shown them."""
    await wait_for(lambda: isinstance(app.screen, DashboardScreen))
    await wait_for(lambda: screen_of(app).task_list.table.row_count >= rows)
    await after_refresh(app)
