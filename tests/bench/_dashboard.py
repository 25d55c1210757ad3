"""Driving the real dashboard in-process for the benchmarks (headless, real sockets).

The app is `KbenchApp` exactly as `kbench-tui --endpoint URL` builds it, run with
`run_test(headless=True)`: layout, compositing and rendering of every frame happen as in
a terminal; only the final write to the terminal is skipped. The simulator runs in its
own process (`SimProcess`), so the dashboard's event loop is all that is measured.

Key-to-effect latency is measured the way a user perceives it: the key event is handed
to the driver (as a terminal would), then the clock stops when the frame that shows the
effect is complete, i.e. the end of the first compositor refresh that painted the
affected widget while the effect held (`PaintProbe`). Pilot's `press()` is not used for
this: it waits for the process to go idle (>= 20 ms), which is not what a user waits for.

Before 2026-12-02 the clock stopped once a 2 ms poll had seen the effect *and* a
`call_after_refresh` callback posted after that had run: a message round trip that a
frame already showing the effect did not satisfy, so it could add up to a frame interval
(~17-40 ms while streaming) that no user waits for. `key_to_effect` without `painted`
still measures that way.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from textual import events
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

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


class PaintProbe:
    """Tells when a frame has painted `widget` while an expected effect held.

    Wraps, on these two objects only, the widget's `render_lines` (called by the
    compositor for the rows of it that a frame repaints) and the screen's
    `_compositor_refresh` (one frame: render and write).
    """

    def __init__(self, screen: Screen[object], widget: Widget) -> None:
        self._waiting: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        self._painted: list[asyncio.Future[float]] = []
        render_lines = widget.render_lines
        compositor_refresh = screen._compositor_refresh

        def probed_render_lines(crop: Region) -> list[Strip]:
            for entry in list(self._waiting):
                if entry[0]():
                    self._waiting.remove(entry)
                    self._painted.append(entry[1])
            return render_lines(crop)

        def probed_compositor_refresh() -> None:
            compositor_refresh()
            now = time.perf_counter()
            for future in self._painted:
                if not future.done():
                    future.set_result(now)
            self._painted.clear()

        widget.render_lines = probed_render_lines  # type: ignore[method-assign]
        screen._compositor_refresh = probed_compositor_refresh  # type: ignore[method-assign]

    def expect(self, effect: Callable[[], bool]) -> asyncio.Future[float]:
        """A future set to the end time of the first frame painting the widget with `effect`."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.append((effect, future))
        return future


def _probe(widget: Widget) -> PaintProbe:
    """The widget's probe, made on first use (kept on the widget: it dies with it)."""
    probe = getattr(widget, "_bench_paint_probe", None)
    if probe is None:
        probe = PaintProbe(widget.screen, widget)
        widget._bench_paint_probe = probe  # type: ignore[attr-defined]
    return probe


async def key_to_effect(
    app: KbenchApp,
    key: str,
    effect: Callable[[], bool],
    char: str | None = None,
    painted: Widget | None = None,
) -> float:
    """Seconds from the key reaching the app to the frame that shows its effect.

    `painted`: the widget the effect shows in; without it, the earlier method (see the
    module docstring).
    """
    assert app._driver is not None
    shown = _probe(painted).expect(effect) if painted is not None else None
    start = time.perf_counter()
    event = events.Key(key, char or (key if len(key) == 1 else None))
    event.set_sender(app)
    app._driver.send_message(event)
    if shown is not None:
        return await asyncio.wait_for(shown, timeout=30) - start
    await wait_for(effect, timeout=30)
    await after_refresh(app)
    return time.perf_counter() - start


async def loaded(app: KbenchApp, rows: int) -> None:
    """Wait until the task list holds `rows` rows and the screen has shown them."""
    await wait_for(lambda: isinstance(app.screen, DashboardScreen))
    await wait_for(lambda: screen_of(app).task_list.table.row_count >= rows)
    await after_refresh(app)
