"""Run logs: 404 while queued, live SSE that follows the clock, JSON once finished."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator

import httpx
from sim_helpers import Rpc, rpc_path

from kbench_tui.sim.runner import RunningSim

SSE = {"Accept": "text/event-stream"}


def start_run(sim: RunningSim, lines: int = 10, queue: float = 5, seconds: float = 100) -> int:
    sim.engine.add_task("demo", "my-task")
    return sim.engine.add_run(
        "demo",
        "my-task",
        "gpt-5",
        log_lines=lines,
        queue_seconds=queue,
        run_seconds=seconds,
        outcome="COMPLETED",
    )


def due(sim: RunningSim, run_id: int) -> int:
    """How many log entries exist at the clock's current time."""
    run = sim.store.get_run(run_id)
    log = sim.engine.run_log(run)
    return bisect.bisect_right(log.times, sim.clock.time() - run.start_time)


def events(lines: Iterator[str], count: int) -> list[tuple[str | None, dict]]:
    """Read `count` SSE events as (id, data) pairs; fail on anything but id/data lines."""
    found: list[tuple[str | None, dict]] = []
    event_id = None
    while len(found) < count:
        line = next(lines)
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            found.append((event_id, json.loads(line[6:])))
            event_id = None
        else:
            assert line == "", f"unexpected SSE line {line!r}"
    return found


def test_queued_run_has_no_logs(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    run_id = start_run(sim)
    response = rpc(client, "GetBenchmarkTaskRunLogs", {"runId": run_id})
    assert response.status_code == 404 and response.json()["code"] == 404
    assert rpc(client, "GetBenchmarkTaskRunLogs", {"runId": 999}).status_code == 404


def test_running_run_streams_with_the_clock_then_finished_is_json(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    run_id = start_run(sim)
    sim.clock.advance(5 + 50)  # half-way through the run
    first = due(sim, run_id)
    assert 0 < first < 10
    with client.stream(
        "POST", rpc_path("GetBenchmarkTaskRunLogs"), json={"runId": run_id}, headers=SSE
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in response.headers
        lines = response.iter_lines()
        early = events(lines, first)
        sim.clock.advance(60)  # past the end: the rest arrives and the stream closes
        late = events(lines, 10 - first)
        assert list(lines) == [""] or list(lines) == []
    streamed = [data for _, data in early + late]
    assert [event_id for event_id, _ in early + late] == [str(n) for n in range(1, 11)]
    assert all(set(entry) == {"stream_name", "time", "data"} for entry in streamed)
    assert streamed[0]["data"].startswith("Running ")
    times = [entry["time"] for entry in streamed]
    assert times == sorted(times) and times[-1] <= 100
    finished = rpc(client, "GetBenchmarkTaskRunLogs", {"runId": run_id})
    assert finished.headers["content-type"] == "application/json"
    assert finished.json() == streamed


def test_plain_accept_gets_only_data_lines(sim: RunningSim, client: httpx.Client) -> None:
    """The kaggle CLI prints non-data lines verbatim, so no `id:` without Accept: SSE."""
    run_id = start_run(sim, lines=6)
    sim.clock.advance(5 + 99.9)
    count = due(sim, run_id)
    with client.stream(
        "POST",
        rpc_path("GetBenchmarkTaskRunLogs"),
        json={"runId": run_id},
        headers={"Accept": "*/*"},
    ) as response:
        lines = response.iter_lines()
        got = events(lines, count)
        sim.clock.advance(1)
        rest = list(lines)
    assert all(event_id is None for event_id, _ in got)
    assert all(line == "" or line.startswith("data: ") for line in rest)


def test_last_event_id_resumes_after_that_event(sim: RunningSim, client: httpx.Client) -> None:
    run_id = start_run(sim, lines=10)
    sim.clock.advance(5 + 100 - 0.001)
    total = due(sim, run_id)
    headers = {**SSE, "Last-Event-ID": "4"}
    with client.stream(
        "POST", rpc_path("GetBenchmarkTaskRunLogs"), json={"runId": run_id}, headers=headers
    ) as response:
        resumed = events(response.iter_lines(), total - 4)
    assert [event_id for event_id, _ in resumed] == [str(n) for n in range(5, total + 1)]


def test_stream_wakes_for_each_clock_step(sim: RunningSim, client: httpx.Client) -> None:
    run_id = start_run(sim, lines=5, seconds=50)
    sim.clock.advance(5)
    with client.stream(
        "POST", rpc_path("GetBenchmarkTaskRunLogs"), json={"runId": run_id}, headers=SSE
    ) as response:
        lines = response.iter_lines()
        received = 0
        for _ in range(5):
            sim.clock.advance(10)
            now_due = due(sim, run_id)
            received += len(events(lines, now_due - received))
        assert received == 5


def test_large_log_streams_fast(sim: RunningSim, client: httpx.Client) -> None:
    """A 200k-line backlog goes out in batched writes, not one write per line."""
    run_id = start_run(sim, lines=200_000, queue=0, seconds=1000)
    sim.clock.advance(999.99)
    count = due(sim, run_id)
    assert count > 190_000
    received = 0
    with client.stream(
        "POST", rpc_path("GetBenchmarkTaskRunLogs"), json={"runId": run_id}, headers=SSE
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                received += 1
                if received == count:
                    break
    assert received == count
