"""Fixtures of the conformance suite (the harness itself is in cli_harness.py).

- `conf_sim`: an empty simulator (user `demo`, token `demo-token`) on a `ManualClock`, with
  fixed timings (`BUILD_SECONDS`, `QUEUE_SECONDS`, `RUN_SECONDS`) and no random run failures,
  so every outcome is the test's choice. Nothing moves until a test advances the clock.
- `run_kaggle(sim, *args, cwd, stdin=None, timeout=30)`: run the CLI to its end -> CliResult.
- `start_kaggle(...)`: the same in the background -> KaggleProcess (for `--wait` and live
  log streams: wait for a line, move the clock, then `finish()`).
- `workdir`: the CLI's working directory, holding `task.py`; `api`: an independent httpx
  reader of the simulator (Bearer demo-token).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cli_harness import (
    BUILD_SECONDS,
    QUEUE_SECONDS,
    RUN_SECONDS,
    TASK_FILE,
    TOKEN,
    USER,
    CliResult,
    KaggleProcess,
)

from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

StartKaggle = Callable[..., KaggleProcess]
RunKaggle = Callable[..., CliResult]


@pytest.fixture
def kaggle_home(tmp_path: Path) -> Path:
    """The CLI's HOME: empty and private to the test (no real ~/.kaggle is read or written)."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "task.py").write_text(TASK_FILE, encoding="utf-8")
    return work


@pytest.fixture
def start_kaggle(kaggle_home: Path) -> Iterator[StartKaggle]:
    started: list[KaggleProcess] = []

    def start(sim: RunningSim, *args: str, cwd: Path, **kwargs) -> KaggleProcess:
        process = KaggleProcess(sim, args, cwd=cwd, home=kaggle_home, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:  # only the children this test started, by handle
        process.kill()


@pytest.fixture
def run_kaggle(start_kaggle: StartKaggle) -> RunKaggle:
    def run(sim: RunningSim, *args: str, cwd: Path, **kwargs) -> CliResult:
        return start_kaggle(sim, *args, cwd=cwd, **kwargs).finish()

    return run


@pytest.fixture
def conf_sim() -> Iterator[RunningSim]:
    config = SimConfig(
        seed="empty",
        users={USER: TOKEN},
        build_seconds=BUILD_SECONDS,
        queue_seconds=QUEUE_SECONDS,
        run_seconds=RUN_SECONDS,
        run_error_rate=0.0,
    )
    running = start_sim(config, clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(conf_sim: RunningSim) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=conf_sim.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as http:
        yield http
