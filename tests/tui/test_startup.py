"""Start-up of the dashboard: the first load is painted page by page, the cursor stays put,
the footer is rebuilt only when its keys change, and pydantic stays off the first frame."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.reader import TaskReader
from kbench_tui.api.records import TaskRecord
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, start_sim
from kbench_tui.tui.app import GC_THRESHOLDS, KbenchApp
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.widgets.key_footer import KeyFooter

from .conftest import ENDPOINT_LABEL, AppFactory, dashboard_settings, sim_config, wait_for


class GatedClient(TaskReader):
    """Answers the first page of the task list at once and holds the others until `gate`."""

    gate: asyncio.Event

    async def list_tasks(self, status=None, regex=None, page_size=None, page_token=None):
        if page_token is not None:
            await self.gate.wait()
        return await super().list_tasks(status, regex, page_size, page_token)


async def test_first_page_is_painted_before_the_rest_and_the_cursor_does_not_jump(
    tmp_path: Path,
) -> None:
    sim = start_sim(sim_config("large"), clock=ManualClock())
    gate = asyncio.Event()
    GatedClient.gate = gate
    credentials = Credentials.token("demo-token", source="test")
    app = KbenchApp(
        lambda: GatedClient(sim.url, credentials, retry=RetryPolicy(max_attempts=1)),
        endpoint=ENDPOINT_LABEL,
        settings=dashboard_settings(tmp_path),
        now=sim.clock.now,
    )
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            task_list = screen.task_list
            table = task_list.table
            # The newest page is on screen while the other nine are still on their way.
            await wait_for(pilot, lambda: table.row_count == 100)
            assert task_list.table.ordered_rows[0].key.value == "task-1000"
            assert "100 tasks so far" in str(screen.status_bar.render())
            await wait_for(pilot, lambda: task_list.highlighted_slug is not None)
            await pilot.press("j", "j", "j")
            await pilot.pause()
            chosen, row = task_list.highlighted_slug, table.cursor_row
            assert row >= 3

            gate.set()
            await wait_for(pilot, lambda: table.row_count == 1000)
            await wait_for(pilot, lambda: not screen.status_bar.polling)
            await pilot.pause()
            assert (task_list.highlighted_slug, table.cursor_row) == (chosen, row)
            shown = [entry.key.value for entry in table.ordered_rows]
            tasks = task_list.tasks.values()
            newest_first = sorted(
                tasks, key=lambda t: (t.create_time, t.slug.task_slug), reverse=True
            )
            assert shown == [task.slug.task_slug for task in newest_first]
            assert "tasks so far" not in str(screen.status_bar.render())
    finally:
        sim.stop()


async def dashboard_footer(pilot: Pilot[Any]) -> tuple[DashboardScreen, KeyFooter]:
    """The dashboard with the demo tasks loaded, and its footer."""
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    await wait_for(pilot, lambda: screen.task_list.table.row_count == 12)
    return screen, screen.query_one(KeyFooter)


async def test_footer_repaints_only_when_its_keys_change(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen, footer = await dashboard_footer(pilot)

        def descriptions() -> list[str]:
            return [item.description for item in footer.items]

        before = footer.items
        assert "Filter" in descriptions()
        assert "Filter" in str(footer.render())
        screen.refresh_bindings()  # same keys: the same items, nothing to repaint
        await pilot.pause()
        await pilot.pause()
        assert footer.items is before

        screen.log_pane.focus_log()  # the log pane's keys replace the task list's
        await wait_for(pilot, lambda: "Save log" in descriptions())
        assert "Filter" not in descriptions()
        assert "Save log" in str(footer.render())
        # The footer is one widget: no child per key to mount on a focus move.
        assert not footer.children


async def test_clicking_a_footer_key_presses_it(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen, footer = await dashboard_footer(pilot)
        await pilot.pause()
        span = next(span for span in footer._spans if span[2].description == "Filter")
        await pilot.hover(KeyFooter, offset=(span[0] + 1, 0))
        assert footer._hover is span[2]
        hovered = [s for s in footer.render().spans if s.start == span[0]]
        assert hovered and all(s.style.bgcolor is not None for s in hovered)
        await pilot.click(KeyFooter, offset=(span[0] + 1, 0))
        await wait_for(pilot, lambda: screen.task_list.query_one("#task-filter").has_focus)
        # The palette key sits at the right edge; blank space between presses nothing.
        palette = footer.items[-1]
        assert palette.palette and footer._spans[-1][1] == footer.size.width
        assert footer.item_at(footer._spans[-2][1] + 1) is None


async def test_the_poller_reads_records_and_actions_get_a_client_on_the_same_pool(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await wait_for(pilot, lambda: screen.task_list.tasks != {})
        assert all(type(task) is TaskRecord for task in screen.task_list.tasks.values())
        # The user lookup waits for the first list, then goes through the reader too.
        await wait_for(pilot, lambda: screen.status_bar.user == "demo")
        client = app.client
        assert isinstance(client, BenchmarksClient) and app.client is client
        assert isinstance(app.reader, TaskReader) and client.http is app.reader.http
        task = next(iter(screen.task_list.tasks))
        assert (await client.get_task(task)).slug.task_slug == task
    assert client.http.is_closed


# Runs the dashboard in a fresh interpreter (this one has pydantic loaded by other tests)
# and reports, at the first painted page of tasks and again after the rest has arrived,
# which of the client's modules are loaded and which modules imported them.
_FIRST_FRAME_SCRIPT = textwrap.dedent(
    """
    import asyncio, builtins, json, sys, tempfile
    from pathlib import Path

    HEAVY = ("pydantic", "kbench_tui.api.wire", "kbench_tui.api.models",
             "kbench_tui.api.service_models",
             "kbench_tui.api.client")
    importers = set()
    original_import = builtins.__import__

    def heavy(name):
        return any(name == h or name.startswith(h + ".") for h in HEAVY)

    def spy(name, globals=None, locals=None, fromlist=(), level=0):
        importer = (globals or {}).get("__name__", "?")
        wanted = [name] + [f"{name}.{item}" for item in fromlist or ()]
        if level == 0 and any(heavy(n) for n in wanted) and not heavy(importer):
            importers.add(importer)
        return original_import(name, globals, locals, fromlist, level)

    builtins.__import__ = spy

    from kbench_tui.api.reader import TaskReader
    from kbench_tui.api.retry import RetryPolicy
    from kbench_tui.config import Credentials
    from kbench_tui.tui.app import KbenchApp
    from kbench_tui.tui.settings import DashboardSettings

    url = sys.argv[1]
    gate = asyncio.Event()

    class Gated(TaskReader):
        async def list_tasks(self, status=None, regex=None, page_size=None, page_token=None):
            if page_token:
                await gate.wait()
            return await super().list_tasks(status, regex, page_size, page_token)

    def loaded():
        return [name for name in HEAVY if name in sys.modules]

    async def main():
        credentials = Credentials.token("demo-token", source="test")
        scratch = Path(tempfile.mkdtemp())
        app = KbenchApp(
            lambda: Gated(url, credentials, retry=RetryPolicy(max_attempts=1)),
            endpoint=url,
            token="demo-token",
            settings=DashboardSettings(spool_dir=scratch, save_dir=scratch),
        )
        report = {}
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            while not getattr(screen, "poller", None) or not screen.task_list.tasks:
                await pilot.pause(0.01)
            await pilot.pause()
            report["first_page"] = len(screen.task_list.tasks)
            report["at_first_frame"] = loaded()
            report["importers"] = sorted(importers)
            gate.set()
            for _ in range(3000):
                if "kbench_tui.api.client" in sys.modules and screen.status_bar.user:
                    break
                await pilot.pause(0.01)
            report["after_first_load"] = loaded()
        print(json.dumps(report))

    asyncio.run(main())
    """
)


def test_the_first_frame_does_not_import_pydantic(tmp_path: Path) -> None:
    sim = start_sim(sim_config("large"), clock=ManualClock())
    try:
        done = subprocess.run(
            [sys.executable, "-c", _FIRST_FRAME_SCRIPT, sim.url],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        sim.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first_page"] == 100  # one page painted, nine held back
    # Warmed in the background once the whole list is in.
    assert "kbench_tui.api.client" in report["after_first_load"]
    # Nothing on the way to the first frame imports the models, the client or pydantic.
    assert report["importers"] == [] and report["at_first_frame"] == [], report


async def test_the_dashboard_raises_the_collector_thresholds_while_it_runs(
    manual_sim: RunningSim, make_app: AppFactory
) -> None:
    before = gc.get_threshold()
    app = make_app(manual_sim)
    async with app.run_test(size=(140, 40)):
        assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_threshold() == before
