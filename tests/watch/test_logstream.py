"""Log sessions without a terminal: line splitting, batching, spooling, waiting, reconnects."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import AuthError, UnreachableError
from kbench_tui.api.logs import LogRecords, LogsNotReady
from kbench_tui.api.models import LogEntry
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import start_sim
from kbench_tui.sim.settings import SimConfig
from kbench_tui.watch.logstream import (
    LogLine,
    LogLines,
    LogPhase,
    LogSession,
    LogSpool,
    LogStatus,
    LogTarget,
)


def entry(data: str, time: float = 0.0, stream: str = "stdout") -> LogEntry:
    return LogEntry(stream_name=stream, time=time, data=data)


class Collector:
    def __init__(self) -> None:
        self.batches: list[list[LogLine]] = []
        self.statuses: list[LogStatus] = []

    @property
    def lines(self) -> list[LogLine]:
        return [line for batch in self.batches for line in batch]

    def phases(self, run_id: int) -> list[LogPhase]:
        return [s.phase for s in self.statuses if s.run_id == run_id]


def make_session(
    tmp_path: Path,
    scripts: dict[int, list[list[Any]]],
    targets: list[LogTarget] | None = None,
    *,
    batch_seconds: float = 0.0,
    tail_lines: int = 100,
) -> tuple[LogSession, Collector, list[float]]:
    """A session whose stream plays `scripts[run_id]`: one list of items per request.

    An item that is an exception is raised at that point (a dropped connection).
    """
    collector = Collector()
    slept: list[float] = []
    calls: dict[int, int] = {}

    async def stream(client: Any, run_id: int) -> AsyncIterator[Any]:
        attempt = calls.get(run_id, 0)
        calls[run_id] = attempt + 1
        script = scripts[run_id]
        for item in script[min(attempt, len(script) - 1)]:
            if isinstance(item, Exception):
                raise item
            yield item

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    spool = LogSpool(
        collector.batches.append,
        tail_lines=tail_lines,
        batch_seconds=batch_seconds,
        directory=tmp_path,
    )
    session = LogSession(
        None,
        targets or [LogTarget(run_id) for run_id in scripts],
        spool,
        collector.statuses.append,
        waiting_poll=2.0,
        sleep=sleep,
        stream=stream,
    )
    return session, collector, slept


async def test_entries_concatenate_until_a_newline(tmp_path: Path) -> None:
    script = [[entry("Hel", 1.0), entry("lo\nwor", 1.5), entry("ld\n", 2.0), entry("tail", 3.0)]]
    session, out, _ = make_session(tmp_path, {7: script})
    await session.run()
    assert [(line.number, line.text, line.time) for line in out.lines] == [
        (1, "Hello", 1.0),
        (2, "world", 1.5),
        (3, "tail", 3.0),
    ]
    assert out.phases(7) == [LogPhase.CONNECTING, LogPhase.STREAMING, LogPhase.ENDED]
    assert out.statuses[-1].lines == 3


async def test_queued_run_waits_then_switches_to_the_stream_by_itself(tmp_path: Path) -> None:
    script = [[LogsNotReady(7)], [LogsNotReady(7)], [entry("started\n"), entry("done\n")]]
    session, out, slept = make_session(tmp_path, {7: script})
    await session.run()
    assert out.phases(7) == [
        LogPhase.CONNECTING,
        LogPhase.WAITING,
        LogPhase.STREAMING,
        LogPhase.ENDED,
    ]
    assert slept == [2.0, 2.0]
    assert [line.text for line in out.lines] == ["started", "done"]


async def test_a_dropped_stream_is_resumed_without_doubling_lines(tmp_path: Path) -> None:
    full = [entry(f"line {n}\n", n) for n in range(1, 6)]
    script = [[*full[:3], UnreachableError("reset")], full]
    session, out, slept = make_session(tmp_path, {7: script})
    await session.run()
    assert [line.text for line in out.lines] == [f"line {n}" for n in range(1, 6)]
    assert LogPhase.RETRYING in out.phases(7) and slept == [1.0]


async def test_a_refused_log_is_a_visible_failure(tmp_path: Path) -> None:
    session, out, _ = make_session(tmp_path, {7: [[entry("a\n"), AuthError("no", status=403)]]})
    await session.run()
    failed = out.statuses[-1]
    assert failed.phase is LogPhase.FAILED and isinstance(failed.error, AuthError)
    assert [line.text for line in out.lines] == ["a"], "lines received before stay"


async def test_lines_are_batched_into_one_callback(tmp_path: Path) -> None:
    script = [[entry(f"{n}\n") for n in range(500)]]
    session, out, _ = make_session(tmp_path, {7: script}, batch_seconds=0.05)
    await session.run()
    assert len(out.lines) == 500
    assert len(out.batches) == 1, "500 quick lines reach the UI as one batch"


async def test_batches_are_flushed_within_the_interval_while_the_stream_is_idle(
    tmp_path: Path,
) -> None:
    collector = Collector()
    spool = LogSpool(collector.batches.append, batch_seconds=0.02, directory=tmp_path)
    spool.add("one", None, "stdout", None)
    spool.add("two", None, "stdout", None)
    assert collector.batches == []
    await asyncio.sleep(0.06)
    assert [[line.text for line in batch] for batch in collector.batches] == [["one", "two"]]
    spool.close()


async def test_the_spool_keeps_the_whole_log_while_the_tail_is_bounded(tmp_path: Path) -> None:
    script = [[entry(f"line {n}\n") for n in range(1, 51)]]
    session, _, _ = make_session(tmp_path, {7: script}, tail_lines=10)
    await session.run()
    spool = session.spool
    assert [line.number for line in spool.tail] == list(range(41, 51))
    assert next(spool.iter_text()) == "line 1"
    assert spool.search(re.compile(r"line [1-3]$")) == [1, 2, 3]
    saved = spool.save_to(tmp_path / "out" / "run.log")
    assert saved.read_text().splitlines() == [f"line {n}" for n in range(1, 51)]
    spool.close()
    assert not spool.path.exists()


async def test_all_runs_mode_merges_runs_with_their_model(tmp_path: Path) -> None:
    scripts = {
        1: [[entry("a1\n"), entry("a2\n")]],
        2: [[LogsNotReady(2)], [entry("b1\n")]],
    }
    targets = [LogTarget(1, "gemini-2.5-flash"), LogTarget(2, "gpt-5")]
    session, out, _ = make_session(tmp_path, scripts, targets)
    await session.run()
    assert sorted((line.source, line.text) for line in out.lines) == [
        ("gemini-2.5-flash", "a1"),
        ("gemini-2.5-flash", "a2"),
        ("gpt-5", "b1"),
    ]
    assert sorted(line.number for line in out.lines) == [1, 2, 3]
    assert "[gpt-5] b1" in list(session.spool.iter_text())


async def test_against_the_simulator_queued_running_finished(tmp_path: Path) -> None:
    clock = ManualClock()
    sim = start_sim(SimConfig(seed="demo", port=0, rng_seed=0), clock=clock)
    try:
        async with BenchmarksClient(sim.url, Credentials.token("demo-token")) as client:
            await client.schedule_runs("what-is-kaggle", ["gpt-5-mini"])
            runs = await client.list_all_runs("what-is-kaggle")
            run_id = max(r.id for r in runs if r.model == "gpt-5-mini")
            collector = Collector()
            spool = LogSpool(collector.batches.append, batch_seconds=0, directory=tmp_path)
            waits = 0

            async def sleep(seconds: float) -> None:
                # Each poll of a queued run moves the simulated time on a little.
                nonlocal waits
                waits += 1
                clock.advance(5)
                await asyncio.sleep(0)

            session = LogSession(
                client, [LogTarget(run_id)], spool, collector.statuses.append, sleep=sleep
            )
            task = asyncio.create_task(session.run())
            # While the run is queued, only the session's own (injected) sleeps move time
            # on; once it runs, time moves slowly until its stream delivers (the run lasts
            # 60 simulated seconds: ~3 s of real time to connect), then fast to the end.
            for _ in range(1000):
                if sim.engine.run_state(run_id) != "QUEUED" or task.done():
                    break
                await asyncio.sleep(0.01)
            for _ in range(60):
                if LogPhase.STREAMING in collector.phases(run_id) or task.done():
                    break
                clock.advance(1)
                await asyncio.sleep(0.05)
            for _ in range(500):
                if task.done():
                    break
                clock.advance(10)
                await asyncio.sleep(0.01)
            await asyncio.wait_for(task, timeout=10)
        assert waits >= 1
        assert collector.phases(run_id) == [
            LogPhase.CONNECTING,
            LogPhase.WAITING,
            LogPhase.STREAMING,
            LogPhase.ENDED,
        ]
        assert len(collector.lines) == sim.config.log_lines
        spool.close()
    finally:
        sim.stop()


async def test_a_batch_is_handed_on_early_once_it_holds_batch_lines(tmp_path: Path) -> None:
    """A flood does not wait for the timer: the UI gets bounded batches as they fill."""
    collector = Collector()
    spool = LogSpool(collector.batches.append, batch_seconds=60, batch_lines=4, directory=tmp_path)
    spool.extend([f"l{n}" for n in range(10)], [None] * 10, ["stdout"] * 10, None)
    spool.add("last", None, "stdout", None)
    assert [len(b) for b in collector.batches] == [10]  # one read's lines stay together
    spool.extend(["a", "b", "c"], [None] * 3, ["stdout"] * 3, None)
    assert [len(b) for b in collector.batches] == [10, 4]
    assert [line.number for line in collector.lines] == list(range(1, 15))
    spool.close()


FRAGMENTS = ["a", "b\n", "c\r\n", "\n", "", "d\ne\n", "f\nrest", "\r", "x\n", "y\n", "z\n"]


@pytest.mark.parametrize("seed", range(20))
async def test_lines_are_the_same_however_entries_are_grouped(tmp_path: Path, seed: int) -> None:
    """Whole-line reads take a shortcut; it must cut lines exactly like entry by entry."""
    rng = random.Random(seed)
    entries = [
        entry(rng.choice(FRAGMENTS), float(n), rng.choice(["stdout", "stderr", ""]))
        for n in range(rng.randint(1, 60))
    ]
    if rng.random() < 0.5:
        entries += [entry(f"whole {n}\n", 100.0 + n) for n in range(20)]

    async def lines_of(groups: list[list[LogEntry]]) -> list[tuple]:
        session, out, _ = make_session(tmp_path, {7: [groups]})
        await session.run()
        session.spool.close()
        return [(line.number, line.text, line.time, line.stream) for line in out.lines]

    one_by_one = await lines_of(entries)
    groups, start = [], 0
    while start < len(entries):
        size = rng.randint(1, 25)
        groups.append(LogRecords.of(entries[start : start + size]))
        start += size
    assert await lines_of(groups) == one_by_one


def test_log_lines_are_columns_that_read_as_log_line_objects() -> None:
    lines = LogLines(5, ["a", "b", "c"], [1.0, None, 3.0], ["stdout", "stderr", "stdout"])
    lines.sources += [None, None, "gpt-5"]
    assert lines[0] == LogLine(5, "a", 1.0, "stdout")
    assert lines[-1] == LogLine(7, "c", 3.0, "stdout", "gpt-5")
    assert list(lines[1:]) == [
        LogLine(6, "b", None, "stderr"),
        LogLine(7, "c", 3.0, "stdout", "gpt-5"),
    ]
    assert lines == list(lines) and lines != [] and LogLines() == []
    assert LogLines.of(list(lines)) == lines
    lines.extend(LogLines(8, ["d"], [None], ["stdout"], [None]))
    lines.drop_first(2)
    assert [line.number for line in lines] == [7, 8] and lines.first == 7
    with pytest.raises(ValueError, match="does not follow"):
        lines.extend(LogLines(10, ["gap"], [None], ["stdout"], [None]))
    with pytest.raises(IndexError):
        lines[2]
