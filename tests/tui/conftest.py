"""Dashboard test fixtures: a simulator on a frozen clock and an app factory wired to it.

Every time the dashboard shows comes from the simulator's `ManualClock`, and the tests move
that clock by hand; the only real waiting is `pilot.pause()` while the app's workers talk
to the simulator over loopback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kbench_tui.api.reader import TaskReader
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, start_sim
from kbench_tui.sim.settings import SimConfig
from kbench_tui.tui.app import KbenchApp
from kbench_tui.tui.settings import DashboardSettings

# Shown in the status bar instead of the simulator's random port, so snapshots are stable.
ENDPOINT_LABEL = "http://127.0.0.1:8765"


def sim_config(seed: str = "demo", port: int = 0) -> SimConfig:
    """A demo simulator whose runs error at the seeded rate, reproducibly."""
    return SimConfig(seed=seed, port=port, rng_seed=0)


@pytest.fixture
def manual_sim() -> Iterator[RunningSim]:
    """The demo data on a `ManualClock` frozen at 2026-03-01 12:00 UTC."""
    sim = start_sim(sim_config(), clock=ManualClock())
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def empty_sim() -> Iterator[RunningSim]:
    """No tasks at all."""
    sim = start_sim(sim_config("empty"), clock=ManualClock())
    try:
        yield sim
    finally:
        sim.stop()


def dashboard_settings(tmp_path: Path, **overrides: Any) -> DashboardSettings:
    """Fast cadence, no batching delay, no bell; spool and saved logs under `tmp_path`."""
    values: dict[str, Any] = {
        "bell": False,
        "fast_poll": 0.05,
        "slow_poll": 0.2,
        "offline_delays": (0.1,),
        "log_batch_seconds": 0.0,
        "log_waiting_poll": 0.05,
        "spool_dir": tmp_path,
        "save_dir": tmp_path,
    }
    values.update(overrides)
    return DashboardSettings(**values)


AppFactory = Callable[..., KbenchApp]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build a `KbenchApp` against a simulator; keyword overrides go to the settings."""

    def build(sim: RunningSim, *, token: str = "demo-token", **overrides: Any) -> KbenchApp:
        credentials = Credentials.token(token, source="test")

        def connection() -> TaskReader:
            # As `kbench-tui` builds it: the poller reads plain records, actions get a
            # `BenchmarksClient` on the same pool. One attempt per request: the poller's
            # own offline cadence is what is tested.
            return TaskReader(sim.url, credentials, retry=RetryPolicy(max_attempts=1))

        return KbenchApp(
            connection,
            endpoint=ENDPOINT_LABEL,
            token=token,
            settings=dashboard_settings(tmp_path, **overrides),
            now=sim.clock.now,
        )

    return build


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app work until `predicate()` holds (fails the test after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
