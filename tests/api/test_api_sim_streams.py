"""Logs and downloads against the simulator, with forced SSE drops and cut downloads."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from api_helpers import FakeSleep

from kbench_tui.api import connection
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState, download_run_output, run_output_dir
from kbench_tui.api.logs import (
    LogEntry,
    LogsNotReady,
    StreamReconnecting,
    fetch_persisted_logs,
    stream_run_logs,
)
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

LINES = 200
RUN_SECONDS = 60.0
SLICE = RUN_SECONDS / LINES  # entry i is due somewhere in [i, i+1) * SLICE after the start


@contextmanager
def sim_with(faults: list[str]) -> Iterator[RunningSim]:
    running = start_sim(SimConfig(seed="empty", faults=faults), clock=ManualClock())
    try:
        running.engine.add_task("demo", "my-task")
        yield running
    finally:
        running.stop()


def make_client(sim: RunningSim, sleep: FakeSleep | None = None) -> BenchmarksClient:
    return BenchmarksClient(
        sim.url,
        Credentials.token("demo-token", source="test"),
        retry=RetryPolicy(max_attempts=5),
        sleep=sleep or FakeSleep(),
    )


async def follow_live_run(
    sim: RunningSim, run_id: int
) -> tuple[list[LogEntry], list[StreamReconnecting]]:
    """Stream a RUNNING run to its end, moving the clock one slice per entry received.

    The clock starts 10 slices into the run and gains a slice per entry, so the next
    entry is always already due: the stream never waits on a clock nobody moves.
    """
    sim.clock.advance(10 * SLICE)
    reconnects: list[StreamReconnecting] = []
    entries: list[LogEntry] = []
    async with make_client(sim, FakeSleep(lambda _: sim.clock.advance(SLICE))) as client:
        async for event in stream_run_logs(client, run_id, on_reconnect=reconnects.append):
            assert isinstance(event, LogEntry)
            entries.append(event)
            sim.clock.advance(SLICE)
    return entries, reconnects


async def persisted(sim: RunningSim, run_id: int) -> list[LogEntry]:
    sim.clock.advance(RUN_SECONDS)
    async with make_client(sim) as client:
        entries = await fetch_persisted_logs(client, run_id)
    assert entries is not None
    return entries


async def test_queued_running_and_finished_logs() -> None:
    with sim_with([]) as sim:
        run_id = sim.engine.add_run(
            "demo",
            "my-task",
            "gemini-2.5-flash",
            log_lines=LINES,
            queue_seconds=5,
            run_seconds=RUN_SECONDS,
        )
        async with make_client(sim) as client:
            events = [e async for e in stream_run_logs(client, run_id)]
        assert len(events) == 1 and isinstance(events[0], LogsNotReady)
        sim.clock.advance(5)
        live, reconnects = await follow_live_run(sim, run_id)
        assert reconnects == []
        assert live == await persisted(sim, run_id)
        assert len(live) == LINES


async def test_forced_sse_drops_lose_and_double_nothing() -> None:
    with sim_with(["sse-drop-after=20,rate=1"]) as sim:
        run_id = sim.engine.add_run(
            "demo",
            "my-task",
            "claude-sonnet-4-6-default",
            log_lines=LINES,
            queue_seconds=0,
            run_seconds=RUN_SECONDS,
        )
        live, reconnects = await follow_live_run(sim, run_id)
        assert len(reconnects) >= LINES // 20 - 1  # the stream really was cut repeatedly
        assert all(r.attempt == 1 for r in reconnects)  # every cut came after new lines
        expected = await persisted(sim, run_id)
        assert len(expected) == LINES
        assert [e.data for e in live] == [e.data for e in expected]
        assert live == expected


def zip_members(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.is_dir()
        }


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


async def test_download_is_byte_identical_after_cuts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges: list[str] = []
    real_get = connection.open_bulk_get

    async def recording_get(url: str, headers: dict[str, str], **options: Any) -> Any:
        # The downloads' GETs bypass httpx (api/bulk.py): note their Range on the way.
        if "Range" in headers:
            ranges.append(headers["Range"])
        return await real_get(url, headers, **options)

    monkeypatch.setattr(connection, "open_bulk_get", recording_get)
    with sim_with(["download-cut=0.5,rate=0.5"]) as sim:
        run_ids = [
            sim.engine.add_run(
                "demo",
                "my-task",
                model,
                outcome="COMPLETED",
                queue_seconds=0,
                run_seconds=1,
                output_padding=300_000,
            )
            for model in ("gemini-2.5-flash", "gpt-5", "grok-4.3", "gemini-2.5-pro")
        ]
        sim.clock.advance(10)
        sleep = FakeSleep()
        async with make_client(sim, sleep) as client:
            for run_id in run_ids:
                run = sim.store.get_run(run_id)
                expected = zip_members(sim.engine.output_zip(run, True))
                dest = run_output_dir(tmp_path, "my-task", 1, run.model, run_id)
                progress: list[int] = []
                result = await download_run_output(
                    client,
                    run_id,
                    dest,
                    include_source=True,
                    progress=lambda done, total, seen=progress: seen.append(done),
                )
                assert result.state is DownloadState.DONE, result.message
                assert tree_hashes(dest) == expected
                assert "__notebook__.ipynb" in expected and any(
                    n.endswith(".run.json") for n in expected
                )
                assert result.transferred == len(sim.engine.output_zip(run, True))  # no byte twice
                assert progress == sorted(progress) and progress[-1] == result.transferred
        assert ranges, "at least one download was cut and resumed with Range"
        assert len(sleep.delays) == len(ranges)
        assert sorted(p.name for p in (tmp_path / "my-task" / "1").iterdir()) == sorted(
            ["gemini-2.5-flash", "gpt-5", "grok-4.3", "gemini-2.5-pro"]
        )


async def test_second_download_is_cached(tmp_path: Path) -> None:
    with sim_with([]) as sim:
        run_id = sim.engine.add_run(
            "demo", "my-task", "gpt-5", outcome="ERRORED", queue_seconds=0, run_seconds=1
        )
        sim.clock.advance(5)
        dest = tmp_path / "out" / str(run_id)
        async with make_client(sim) as client:
            first = await download_run_output(client, run_id, dest)
            second = await download_run_output(client, run_id, dest)
        assert first.state is DownloadState.DONE and second.state is DownloadState.CACHED
        assert second.bytes == first.bytes > 0
