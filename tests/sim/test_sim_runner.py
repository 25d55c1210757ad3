"""Starting and stopping: persistence, seeds, the clock, the `kbench-tui sim` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sim_helpers import GOOD_NOTEBOOK, call

from kbench_tui.sim.catalog import find_model
from kbench_tui.sim.clock import DEFAULT_START, ManualClock, ScaledClock
from kbench_tui.sim.runner import RunningSim, SimConfig, SimConfigError, start_sim, start_sim_async
from kbench_tui.sim.seed import _DEMO_RUNS

AUTH = {"Authorization": "Bearer demo-token"}


def test_state_persists_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "sim.db")
    with (
        start_sim(SimConfig(db=db, seed="demo"), clock=ManualClock()) as first,
        httpx.Client(base_url=first.url, headers=AUTH) as http,
    ):
        created = call(http, "CreateBenchmarkTask", {"slug": "kept-task", "text": GOOD_NOTEBOOK})
        assert created.status_code == 200
        before = call(http, "ListBenchmarkTasks", {"pageSize": 100}).json()
    with (
        start_sim(SimConfig(db=db, seed="demo"), clock=ManualClock()) as second,
        httpx.Client(base_url=second.url, headers=AUTH) as http,
    ):
        after = call(http, "ListBenchmarkTasks", {"pageSize": 100}).json()
        task = call(http, "GetBenchmarkTask", {"slug": {"taskSlug": "kept-task"}}).json()
    assert after == before  # not re-seeded, nothing lost
    assert task["createTime"] == "2026-03-01T12:00:00.000Z"


def test_demo_seed_covers_every_state(demo_sim: RunningSim) -> None:
    engine = demo_sim.engine
    versions = demo_sim.store.latest_versions("demo")
    assert len(versions) == 12
    task_states = Counter(engine.version_state(v) for v in versions)
    assert set(task_states) == {"COMPLETED", "QUEUED", "RUNNING", "ERRORED", "VALIDATION_FAILED"}
    run_states = Counter(
        engine.run_state(run) for v in versions for run in demo_sim.store.runs_of_version(v.id)
    )
    assert set(run_states) == {"COMPLETED", "ERRORED", "RUNNING", "QUEUED"}
    assert all(find_model(model) for runs in _DEMO_RUNS.values() for model, _ in runs)
    # Alive: within a minute queued runs start; within a few builds finish.
    demo_sim.clock.advance(60)
    assert not any(
        engine.run_state(run) == "QUEUED"
        for v in versions
        for run in demo_sim.store.runs_of_version(v.id)
    )


def test_large_seed_is_fast() -> None:
    started = time.perf_counter()
    with start_sim(SimConfig(seed="large"), clock=ManualClock()) as sim:
        elapsed = time.perf_counter() - started
        versions = sim.store.latest_versions("demo")
        assert len(versions) == 1000
        counts = [len(sim.store.runs_of_version(v.id)) for v in versions[:200]]
        assert max(counts) <= 8 and sum(counts) > 0
    assert elapsed < 5  # generous bound; typically well under a second


def test_clocks(tmp_path: Path) -> None:
    manual = ManualClock()
    assert manual.now() == DEFAULT_START
    manual.advance(90)
    assert (manual.now() - DEFAULT_START).total_seconds() == 90
    manual.set(DEFAULT_START)
    assert manual.now() == DEFAULT_START
    frozen = ScaledClock(0, start=DEFAULT_START)
    assert frozen.now() == DEFAULT_START and frozen.real_seconds_until(frozen.time() + 5) is None
    frozen.advance(5)
    assert (frozen.now() - DEFAULT_START).total_seconds() == 5
    fast = ScaledClock(100, start=DEFAULT_START)
    assert fast.real_seconds_until(fast.time() + 100) == pytest.approx(1, abs=0.05)


async def test_wait_changed_wakes_on_advance_from_another_thread() -> None:
    clock = ManualClock()
    assert await clock.wait_changed(0.01) is False  # nothing moved: times out
    seen = clock.changes
    timer = threading.Timer(0.01, clock.advance, args=(1,))
    timer.start()
    assert await clock.wait_changed(5) is True
    assert await clock.wait_changed(5, since=seen) is True  # already moved since `seen`
    timer.join()


async def test_start_from_inside_a_running_loop() -> None:
    sim = await start_sim_async(SimConfig(), clock=ManualClock())
    try:
        async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as http:
            response = await http.post(
                "/api/v1/benchmarks.BenchmarkTasksApiService/ListBenchmarkTasks", json={}
            )
        assert response.status_code == 200
        assert asyncio.get_running_loop().is_running()
    finally:
        sim.stop()
    assert not sim.alive


def test_port_in_use_is_an_os_error(sim: RunningSim) -> None:
    with pytest.raises(OSError):
        start_sim(SimConfig(port=sim.port), clock=ManualClock())


def _sim_command(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kbench_tui", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_sim_command_prints_its_address_and_stops_cleanly() -> None:
    process = _sim_command("--port", "0", "--seed", "empty")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("kbench-sim listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert not url.endswith(":0")
        response = httpx.post(
            url + "/api/v1/benchmarks.BenchmarkTasksApiService/ListBenchmarkTasks",
            json={},
            headers=AUTH,
        )
        assert response.json() == {"tasks": []}
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "Traceback" not in stderr
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--fault", "status=abc"], 2, "bad fault 'status=abc'"),
        (["--user", "nocolon"], 2, "bad --user"),
    ],
)
def test_sim_command_usage_errors(args: list[str], code: int, needle: str) -> None:
    process = _sim_command("--port", "0", *args)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == code
    assert needle in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and stdout == ""


def test_sim_command_port_in_use(sim: RunningSim) -> None:
    process = _sim_command("--port", str(sim.port), "--seed", "empty")
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{sim.port}" in stderr and "Traceback" not in stderr


def test_unusable_db_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    for path in (str(bad), str(tmp_path / "missing" / "dir" / "x.db")):
        with pytest.raises(SimConfigError, match="cannot open --db"):
            start_sim(SimConfig(db=path), clock=ManualClock())


def test_stop_ends_open_log_streams(sim: RunningSim) -> None:
    sim.engine.add_task("demo", "my-task")
    run_id = sim.engine.add_run("demo", "my-task", "gpt-5", queue_seconds=0, log_lines=10)
    sim.clock.advance(30)
    with (
        httpx.Client(base_url=sim.url, headers=AUTH, timeout=10) as http,
        http.stream(
            "POST",
            "/api/v1/benchmarks.BenchmarkTasksApiService/GetBenchmarkTaskRunLogs",
            json={"runId": run_id},
        ) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        started = time.perf_counter()
        sim.stop()
        assert time.perf_counter() - started < 3
        with pytest.raises(httpx.RemoteProtocolError):  # not a clean end of the log
            list(lines)
    assert not sim.alive
