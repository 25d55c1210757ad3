"""The dashboard under faults, a killed server, a persistent fault, secrets and bad input.

Pilot tests against the simulator. The simulator's `ManualClock` is moved by hand, so the
run under test only logs when a test says so; the dashboard's own waits (poll cadence,
offline backoff, log reconnects) are shortened through its settings and the client's
retry sleep, so nothing here waits on real time beyond a few pauses.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reliability_support import CANARY, CANARY_USER, PROXY_CANARY, no_sleep, simulator
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.logs import fetch_persisted_logs
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials, load_dotenv_settings
from kbench_tui.envfile import ProxySettings
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, start_sim
from kbench_tui.sim.settings import SimConfig
from kbench_tui.tui.actions import ActionSettings
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.format import task_state_text
from kbench_tui.tui.screens.confirm import ConfirmDialog
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.screens.help import HelpScreen
from kbench_tui.tui.screens.proxy_credentials import ProxyCredentialsScreen
from kbench_tui.tui.screens.push import PushDialog
from kbench_tui.tui.settings import DashboardSettings
from kbench_tui.tui.widgets.log_pane import LogPane
from kbench_tui.tui.widgets.status_bar import StatusBar
from kbench_tui.watch.logstream import LogPhase
from kbench_tui.watch.poller import ConnectionChanged, PollEvent

USERS = {"demo": "demo-token"}
SIZE = (140, 40)

# Each fault of `kbench-tui sim --fault` that the dashboard meets (downloads are covered by
# test_faults.py), at the rates the README shows; the drop comes every 7 log events.
FAULTS = {
    "status-503": "status=503,rate=0.25",
    "status-429-retry-after": "status=429,rate=0.15,retry-after=1",
    "latency-30ms": "latency=30ms",
    "sse-drop-after-7": "sse-drop-after=7,rate=1",
    "malformed-json": "malformed-json,rate=0.05",
}
FAULT_CASES = [pytest.param([spec], id=name) for name, spec in FAULTS.items()] + [
    pytest.param(list(FAULTS.values()), id="all-faults-together")
]

# A run added by hand: 120 log lines over 60 s of the simulator's clock, followed live.
LIVE_TASK = "live-task"
LIVE_MODEL = "gemini-2.5-flash"
LIVE_LINES = 120
RUN_SECONDS = 60.0
STEP_SECONDS = 6.0

# A key press must take effect within this many `pilot.pause()`s while faults fire.
MAX_PAUSES = 3
# The offline backoff of these tests (real seconds); the default is 2, 4, 8, 16, 30 s.
OFFLINE_DELAYS = (0.1, 0.2, 0.4)


async def brief_sleep(seconds: float) -> None:
    """The client's retry waits (backoff, Retry-After) shortened to a tick of real time."""
    await asyncio.sleep(min(seconds, 0.01))


def dashboard_app(
    sim: RunningSim,
    tmp_path: Path,
    *,
    token: str = "demo-token",
    proxy: ProxySettings | None = None,
    **overrides: Any,
) -> KbenchApp:
    """The dashboard as `kbench-tui` builds it (default retry policy), with short waits."""
    credentials = Credentials.token(token, source="test")

    def client() -> BenchmarksClient:
        return BenchmarksClient(sim.url, credentials, retry=RetryPolicy(), sleep=brief_sleep)

    values: dict[str, Any] = {
        "bell": False,
        "fast_poll": 0.05,
        "slow_poll": 0.2,
        "offline_delays": OFFLINE_DELAYS,
        "log_batch_seconds": 0.0,
        "log_waiting_poll": 0.05,
        "log_retry_delays": (0.05,),
        "spool_dir": tmp_path,
        "save_dir": tmp_path,
    }
    values.update(overrides)
    app = KbenchApp(
        client,
        endpoint="http://127.0.0.1:8765",
        token=token,
        proxy=proxy,
        settings=DashboardSettings(**values),
        now=sim.clock.now,
    )
    app.action_settings = ActionSettings(  # type: ignore[attr-defined]
        push_poll_cap=0.05,
        picks_path=tmp_path / "state" / "picks.json",
        download_output=tmp_path / "out",
        browse_root=tmp_path,
    )
    return app


def robust_client(sim: RunningSim, token: str = "demo-token") -> BenchmarksClient:
    """An independent reader of the simulator's truth that outlasts any sporadic fault."""
    return BenchmarksClient(
        sim.url,
        Credentials.token(token, source="test"),
        retry=RetryPolicy(max_attempts=40),
        sleep=no_sleep,
    )


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app work until `predicate()` holds (fails the test after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


async def within_pauses(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> int:
    """How many pauses it took for `predicate()` to hold; fails past `MAX_PAUSES`."""
    for pauses in range(MAX_PAUSES + 1):
        if predicate():
            return pauses
        await pilot.pause()
    raise AssertionError(f"{what} did not take effect within {MAX_PAUSES} pauses")


def dashboard_of(pilot: Pilot[Any]) -> DashboardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def row_texts(table: DataTable) -> list[list[str]]:
    """Every row's cells as plain text, in screen order."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def count_fault_hits(sim: RunningSim) -> Counter[str]:
    """Count, per fault spec, how many requests each fault really hit."""
    hits: Counter[str] = Counter()
    for fault in sim.state.faults.faults:
        decide = fault.fires

        def fires(
            method: str | None, request: str = "", decide=decide, spec: str = fault.spec
        ) -> bool:
            fired = decide(method, request)
            if fired:
                hits[spec] += 1
            return fired

        fault.fires = fires  # type: ignore[method-assign]
    return hits


def record_connection_changes(screen: DashboardScreen) -> list[ConnectionChanged]:
    """Every online/offline transition the poller reports from now on."""
    assert screen.poller is not None
    seen: list[ConnectionChanged] = []
    report = screen.poller._on_event

    def on_event(event: PollEvent) -> None:
        if isinstance(event, ConnectionChanged):
            seen.append(event)
        report(event)

    screen.poller._on_event = on_event
    return seen


def phase_of(pane: LogPane, run_id: int) -> LogPhase | None:
    """Where the log of `run_id` is in the pane's current session (None: not followed)."""
    status = pane.phases.get(run_id)
    return status.phase if status is not None else None


def toast_text(app: KbenchApp) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


def assert_no_traceback(app: KbenchApp) -> None:
    """Nothing the user can see holds a traceback, and the app is still running."""
    assert app.is_running and app._exception is None
    shown = toast_text(app) + app.export_screenshot()
    assert "Traceback" not in shown and 'File "' not in shown


async def select_task(pilot: Pilot[Any], slug: str) -> DashboardScreen:
    screen = dashboard_of(pilot)
    table = screen.task_list.table
    await wait_for(pilot, lambda: slug in table.rows)
    table.move_cursor(row=table.get_row_index(slug))
    await wait_for(pilot, lambda: screen.run_table.task_slug == slug and bool(screen.runs))
    return screen


async def select_run(pilot: Pilot[Any], screen: DashboardScreen, run_id: int) -> None:
    table = screen.run_table.table
    await wait_for(pilot, lambda: str(run_id) in table.rows)
    table.move_cursor(row=table.get_row_index(str(run_id)))
    await wait_for(pilot, lambda: screen.selected_run == run_id)


async def persisted_lines(sim: RunningSim, run_id: int, token: str = "demo-token") -> list[str]:
    """The finished run's log as the server stores it, one text per line."""
    async with robust_client(sim, token) as client:
        entries = await fetch_persisted_logs(client, run_id)
    assert entries is not None
    return "".join(entry.data for entry in entries).removesuffix("\n").split("\n")


async def server_truth(sim: RunningSim, task: str) -> tuple[dict[str, str], dict[str, str]]:
    """Task states by slug and the states of `task`'s runs by id, read independently."""
    async with robust_client(sim) as client:
        tasks = await client.list_all_tasks()
        runs = await client.list_all_runs(task)
    return (
        # As the task list words them ("● ready" for COMPLETED): mark, then a short word.
        {
            t.slug.task_slug: task_state_text(t.creation_state.short).plain.split(maxsplit=1)[-1]
            for t in tasks
        },
        {str(r.id): r.state.short for r in runs},
    )


def shown_states(table: DataTable) -> dict[str, str]:
    """The state word of each row (the cell may carry a mark before it)."""
    return {
        str(key.value): str(table.get_cell(key, "state")).split(maxsplit=1)[-1]
        for key in table.rows
    }


# -- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("faults", FAULT_CASES)
async def test_dashboard_under_faults_stays_responsive_and_loses_no_line(
    faults: list[str], tmp_path: Path
) -> None:
    with simulator(faults, seed="demo", users=USERS) as sim:
        sim.engine.add_task("demo", LIVE_TASK)
        run_id = sim.engine.add_run(
            "demo",
            LIVE_TASK,
            LIVE_MODEL,
            log_lines=LIVE_LINES,
            outcome="COMPLETED",
            queue_seconds=0,
            run_seconds=RUN_SECONDS,
        )
        times = sim.engine.run_log(sim.store.get_run(run_id)).times
        hits = count_fault_hits(sim)
        app = dashboard_app(sim, tmp_path)
        pauses: list[int] = []
        async with app.run_test(size=SIZE) as pilot:
            screen = dashboard_of(pilot)
            tasks = screen.task_list.table
            await wait_for(pilot, lambda: LIVE_TASK in tasks.rows)
            # Moving in the task list answers at once, whatever the poller is going through.
            screen.task_list.focus_table()
            for key, row in (("j", 1), ("k", 0)):
                await pilot.press(key)
                pauses.append(
                    await within_pauses(pilot, lambda row=row: tasks.cursor_row == row, key)
                )
            screen = await select_task(pilot, LIVE_TASK)
            await select_run(pilot, screen, run_id)
            pane = screen.log_pane
            view = pane.view
            view.focus()
            elapsed = 0.0
            while elapsed < RUN_SECONDS:
                sim.clock.advance(STEP_SECONDS)
                elapsed += STEP_SECONDS
                wrap = view.wrap
                await pilot.press("w")
                pauses.append(
                    await within_pauses(pilot, lambda wrap=wrap: view.wrap is not wrap, "wrap")
                )
                # After every step the pane has exactly the lines that exist so far.
                due = sum(1 for t in times if t <= elapsed) if elapsed < RUN_SECONDS else LIVE_LINES
                await wait_for(pilot, lambda due=due: len(view.lines) >= due)
                assert len(view.lines) == due
            await wait_for(pilot, lambda: phase_of(pane, run_id) is LogPhase.ENDED)
            expected_tasks, expected_runs = await server_truth(sim, LIVE_TASK)
            await wait_for(pilot, lambda: shown_states(tasks) == expected_tasks)
            await wait_for(pilot, lambda: shown_states(screen.run_table.table) == expected_runs)
            assert expected_runs == {str(run_id): "COMPLETED"}
            persisted = await persisted_lines(sim, run_id)
            assert screen.spool is not None
            spooled = await asyncio.to_thread(lambda: list(screen.spool.iter_text()))
            assert_no_traceback(app)
    assert len(persisted) == LIVE_LINES
    assert spooled == persisted, "the saved log has every line once, in order"
    assert [line.text for line in view.lines] == persisted, "so has the pane"
    assert [line.number for line in view.lines] == list(range(1, LIVE_LINES + 1))
    assert max(pauses) <= MAX_PAUSES and len(pauses) == 2 + RUN_SECONDS / STEP_SECONDS
    for spec in faults:
        assert hits[spec] > 0, f"fault {spec!r} never fired"
    if any("sse-drop" in spec for spec in faults):
        # Each connection carries at most 7 events: the stream was really cut many times.
        assert sim.state.requests["GetBenchmarkTaskRunLogs"] >= LIVE_LINES // 7


# -- killed and restarted server -------------------------------------------------------------


async def test_killed_server_shows_offline_keeps_the_data_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    db = str(tmp_path / "sim.db")
    sim = start_sim(SimConfig(seed="demo", rng_seed=0, db=db, users=USERS), clock=clock)
    port = sim.port
    restarted: RunningSim | None = None
    try:
        app = dashboard_app(sim, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await select_task(pilot, "math-qa")
            tasks, runs = screen.task_list.table, screen.run_table.table
            await wait_for(pilot, lambda: tasks.row_count == 12 and runs.row_count == 6)
            task_rows, run_rows = row_texts(tasks), row_texts(runs)
            status = screen.query_one(StatusBar)
            changes = record_connection_changes(screen)
            # Fail every request first, so no answer from a server half-way through its
            # shutdown reaches the poller; then kill the server for real.
            sim.set_faults(["status=503,rate=1"])
            await wait_for(pilot, lambda: not status.online)
            sim.stop()
            await wait_for(pilot, lambda: "unreachable" in str(status.render()))
            shown = str(status.render())
            assert "○ offline" in shown and "retrying in" in shown
            # Back off: count the attempts over a measured stretch of real time.
            assert screen.poller is not None
            cycles, started = screen.poller.cycles, time.monotonic()
            await wait_for(pilot, lambda: len(changes) >= 6)
            attempts = screen.poller.cycles - cycles
            seconds = time.monotonic() - started
            delays = [round(c.retry_at - app.clock_seconds(), 3) for c in changes if c.retry_at]
            assert row_texts(tasks) == task_rows and row_texts(runs) == run_rows
            assert_no_traceback(app)

            restarted = start_sim(
                SimConfig(seed="demo", rng_seed=0, db=db, port=port, users=USERS), clock=clock
            )
            await wait_for(pilot, lambda: status.online)  # no key pressed
            assert "● online" in str(status.render())
            await wait_for(pilot, lambda: "Back online" in toast_text(app))
            assert row_texts(tasks) == task_rows and row_texts(runs) == run_rows
            # The same database: a run added to the restarted server shows up in place.
            run_id = restarted.engine.add_run("demo", "math-qa", "gpt-5-mini")
            await wait_for(pilot, lambda: str(run_id) in runs.rows)
            assert runs.row_count == 7
    finally:
        sim.stop()
        if restarted is not None:
            restarted.stop()
    # The backoff grows from the 503 on, through the kill, and stays at its cap.
    assert delays[:6] == [0.1, 0.2, 0.4, 0.4, 0.4, 0.4]
    assert attempts <= seconds / OFFLINE_DELAYS[0] + 1, "no faster than the shortest delay"


# -- a fault that never stops ----------------------------------------------------------------


async def test_persistent_503_shows_a_clear_state_and_recovers_when_it_stops(
    tmp_path: Path,
) -> None:
    with simulator([], seed="demo", rng_seed=0, users=USERS) as sim:
        app = dashboard_app(sim, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await select_task(pilot, "math-qa")
            await select_run(pilot, screen, 6)
            pane, status = screen.log_pane, screen.query_one(StatusBar)
            await wait_for(pilot, lambda: phase_of(pane, 6) is LogPhase.ENDED)
            tasks, runs = screen.task_list.table, screen.run_table.table
            task_rows, run_rows = row_texts(tasks), row_texts(runs)

            sim.set_faults(["status=503,rate=1"])
            await wait_for(pilot, lambda: not status.online)
            # Choosing the RUNNING run now: its stream cannot even connect.
            await select_run(pilot, screen, 10)
            await wait_for(pilot, lambda: phase_of(pane, 10) is LogPhase.RETRYING)
            assert screen.poller is not None
            cycles = screen.poller.cycles
            await wait_for(pilot, lambda: screen.poller.cycles >= cycles + 5)
            shown = str(status.render())
            assert "○ offline" in shown and "retrying in" in shown and "HTTP 503" in shown
            title = str(pane.query_one("#log-title", Static).render())
            assert "connection lost — reconnecting" in title
            offline = [n for n in app._notifications if n.title == "Server error"]
            assert offline and {n.severity for n in offline} == {"warning"}
            assert any("Showing the last data received" in n.message for n in offline)
            # One toast per failure class, not one per retry.
            assert len(offline) <= 2, toast_text(app)
            assert row_texts(tasks) == task_rows and row_texts(runs) == run_rows
            assert_no_traceback(app)

            sim.set_faults([])
            await wait_for(pilot, lambda: status.online)
            await wait_for(pilot, lambda: "Back online" in toast_text(app))
            sim.clock.advance(3600)  # the run ends; its log must still be whole
            await wait_for(pilot, lambda: phase_of(pane, 10) is LogPhase.ENDED)
            persisted = await persisted_lines(sim, 10)
            assert [line.text for line in pane.view.lines] == persisted
            assert_no_traceback(app)


# -- secrets -------------------------------------------------------------------------------


def assert_no_canary(text: str, where: str) -> None:
    """Neither canary, nor a prefix of it; the proxy key's last 4 characters are allowed."""
    for secret in (CANARY, PROXY_CANARY):
        assert secret not in text, f"a secret leaked into {where}"
        assert secret[:12] not in text, f"the start of a secret leaked into {where}"
        assert secret[:-4] not in text, f"most of a secret leaked into {where}"


async def test_no_secret_in_screenshots_toasts_or_saved_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", CANARY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "MODEL_PROXY_URL=https://proxy.example/v1\n"
        f"MODEL_PROXY_API_KEY={PROXY_CANARY}\n"
        "MODEL_PROXY_EXPIRY_TIME=2026-03-05T12:00:00Z\n"
    )
    proxy = load_dotenv_settings(tmp_path)
    assert proxy.api_key == PROXY_CANARY
    screenshots: dict[str, str] = {}
    with simulator([], seed="demo", users={CANARY_USER: CANARY}) as sim:
        app = dashboard_app(sim, tmp_path, token=CANARY, proxy=proxy)
        app.action_settings = ActionSettings(  # type: ignore[attr-defined]
            picks_path=tmp_path / "state" / "picks.json", download_output=tmp_path / "out"
        )
        async with app.run_test(size=SIZE) as pilot:
            screen = await select_task(pilot, "math-qa")
            await select_run(pilot, screen, 6)
            pane, status = screen.log_pane, screen.query_one(StatusBar)
            await wait_for(pilot, lambda: phase_of(pane, 6) is LogPhase.ENDED)
            await wait_for(pilot, lambda: status.user == CANARY_USER and status.quota is not None)
            assert "proxy key valid" in str(status.render())
            screenshots["dashboard"] = app.export_screenshot()

            pane.focus_log()
            await pilot.press("s")
            saved = tmp_path / "math-qa-run-6.log"
            await wait_for(pilot, saved.exists)

            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            screenshots["help"] = app.export_screenshot()
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            screenshots["proxy confirmation"] = app.export_screenshot()
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, ProxyCredentialsScreen))
            screenshots["proxy credentials"] = app.export_screenshot()
            toasts = toast_text(app)
    new_key = load_dotenv_settings(tmp_path).api_key
    assert new_key and new_key != PROXY_CANARY and new_key[-4:] in screenshots["proxy credentials"]
    for where, svg in screenshots.items():
        assert_no_canary(svg, f"the {where} screenshot")
    assert_no_canary(toasts, "a toast")
    assert_no_canary(saved.read_text(), "the saved log")


# -- bad input in the dashboard ------------------------------------------------------------


async def test_push_dialog_refuses_binary_non_utf8_and_directory_paths_inline(
    tmp_path: Path,
) -> None:
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02PK\x03\x04\xff\xfe" * 64)
    (tmp_path / "latin1.py").write_bytes(
        "# caf\u00e9\nimport kaggle_benchmarks\n".encode("latin-1")
    )
    (tmp_path / "folder.py").mkdir()
    (tmp_path / "tasks").mkdir()
    cases = {
        "binary.py": "",
        "latin1.py": "",
        "folder.py": "directory",
        "tasks": "directory",
    }
    with simulator([], seed="demo", users=USERS) as sim:
        app = dashboard_app(sim, tmp_path)
        async with app.run_test(size=(120, 44)) as pilot:
            await select_task(pilot, "math-qa")
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, PushDialog))
            dialog = app.screen
            assert isinstance(dialog, PushDialog)
            file_input = dialog.query_one("#push-file", Input)
            errors: dict[str, str] = {}
            for name, phrase in cases.items():
                file_input.value = str(tmp_path / name)
                await wait_for(pilot, lambda: dialog.file_error is not None)
                errors[name] = str(dialog.query_one("#push-file-error", Static).render())
                assert phrase in errors[name], errors[name]
                assert dialog.query_one("#push-accept", Button).disabled
                await pilot.press("ctrl+s")  # pushing anyway is refused, inline
                assert isinstance(app.screen, PushDialog)
                file_input.value = ""
                await wait_for(pilot, lambda: dialog.file_error is None)
            assert_no_traceback(app)
    for name, error in errors.items():
        assert error.strip() and "\n" not in error.strip(), f"{name}: {error!r}"
        assert "Traceback" not in error
