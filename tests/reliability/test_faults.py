"""Injected faults lose nothing: exports, downloads and live logs equal a clean run's.

Every simulator here runs on a hand-driven clock; retries use a no-op sleep, so the suite
proves the outcome and the number of attempts without waiting for real time. The
simulator counts every request it sees (`sim.state.requests`), before any fault applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime, timezone, tzinfo
from pathlib import Path

import pytest
from reliability_support import (
    EXPORT_ATTEMPTS,
    assert_clear_error,
    comparable,
    export_document,
    no_sleep,
    run_cli,
    sha256,
    simulator,
    tree_hashes,
    zip_member_hashes,
)

from kbench_tui import export
from kbench_tui.api import download as download_module
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.api.errors import ProtocolError
from kbench_tui.api.logs import LogEntry, LogsNotReady, fetch_persisted_logs, stream_run_logs
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.cli import main
from kbench_tui.config import Credentials
from kbench_tui.sim.runner import RunningSim

# Each fault of `kbench-tui sim --fault`, at the rates the README shows.
FAULTS = {
    "status-503": "status=503,rate=0.25",
    "status-429-retry-after": "status=429,rate=0.15,retry-after=1",
    "latency-30ms": "latency=30ms",
    "sse-drop-after-20": "sse-drop-after=20,rate=1",
    "download-cut-half": "download-cut=0.5,rate=0.5",
    "malformed-json": "malformed-json,rate=0.05",
}
FAULT_CASES = [pytest.param([spec], id=name) for name, spec in FAULTS.items()] + [
    pytest.param(list(FAULTS.values()), id="all-faults-together")
]
# Faults that change what the export sees on the wire (the others only slow it down, or
# touch live streams, which an export of finished runs never opens).
VISIBLE_IN_EXPORT = ("status=", "download-cut", "malformed-json")
EXPORT_FLAGS = ("--with-results", "--with-logs")
# The faults' draws are a function of the seed and of each request (faults.py), so the
# pattern is the same on every run; this seed makes malformed-json (5%, and only 200 JSON
# answers show it) hit at least one of the export's requests, which the test checks.
DEMO_SEED = {"seed": "demo", "rng_seed": 3}


def _token_client(sim: RunningSim, attempts: int = 5) -> BenchmarksClient:
    return BenchmarksClient(
        sim.url,
        Credentials.token("demo-token", source="test"),
        retry=RetryPolicy(max_attempts=attempts),
        sleep=no_sleep,
    )


def _export_in_process(url: str, download_dir: Path) -> tuple[dict, str]:
    """`kbench-tui export` with results and logs, outside any function-scoped fixture."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["export", "--endpoint", url, *EXPORT_FLAGS, "--download", str(download_dir)])
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue()), err.getvalue()


@pytest.fixture(scope="module")
def clean_export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The reference: the same demo data exported with no fault at all."""
    root = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root / "home"))
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        patch.setenv("KAGGLE_API_TOKEN", "demo-token")
        real = export.make_client
        patch.setattr(
            export, "make_client", lambda e, c, **o: real(e, c, **{"sleep": no_sleep, **o})
        )
        with simulator(**DEMO_SEED) as sim:
            document, err = _export_in_process(sim.url, root / "outputs")
            requests = sum(sim.state.requests.values())
    assert err == ""
    yield {
        "tasks": comparable(document),
        "files": tree_hashes(root / "outputs"),
        "requests": requests,
    }


@pytest.mark.parametrize("faults", FAULT_CASES)
def test_export_under_faults_equals_the_clean_export(
    faults: list[str], clean_export: dict, capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    outputs = tmp_path / "outputs"
    with simulator(faults, **DEMO_SEED) as sim:
        result = run_cli(
            capsys, ["export", "--endpoint", sim.url, *EXPORT_FLAGS, "--download", str(outputs)]
        )
        requests = sum(sim.state.requests.values())
    document = export_document(result)
    # What the user gets: the same tasks, runs, results and full logs, no warning, and
    # byte-identical downloaded outputs.
    assert comparable(document) == clean_export["tasks"]
    assert tree_hashes(outputs) == clean_export["files"]
    assert result.err == ""
    runs = [run for task in document["tasks"] for run in task["runs"]]
    assert any(run.get("log") for run in runs) and any(run.get("result") for run in runs)
    # The faults did fire (the sim saw retries), and the retries stayed bounded.
    if any(spec.startswith(VISIBLE_IN_EXPORT) for spec in faults):
        assert requests > clean_export["requests"]
    else:
        assert requests == clean_export["requests"]
    assert requests <= clean_export["requests"] * EXPORT_ATTEMPTS


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_export_formats_under_all_faults_equal_the_clean_ones(
    capsys, monkeypatch, tmp_path
) -> None:
    """CSV, Markdown and JUnit are rendered from the same data: byte-identical files."""
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    monkeypatch.setattr(export, "datetime", _FrozenDatetime)  # `generatedAt` is wall time
    outputs: dict[str, list[str]] = {}
    for label, faults in (("clean", []), ("faulty", list(FAULTS.values()))):
        with simulator(faults, **DEMO_SEED) as sim:
            for fmt in ("csv", "markdown", "junit"):
                target = tmp_path / f"{label}.{fmt}"
                result = run_cli(
                    capsys,
                    [
                        "export",
                        "--endpoint",
                        sim.url,
                        "--with-results",
                        "--format",
                        fmt,
                        "--download",
                        str(tmp_path / label),
                        "-o",
                        str(target),
                    ],
                )
                assert result.code == 0 and result.err == "", result.err
                # The endpoint (its port differs) is the only thing allowed to differ.
                text = target.read_text().replace(sim.url, "ENDPOINT")
                outputs.setdefault(label, []).append(text)
    assert outputs["faulty"] == outputs["clean"]


# --- downloads ---------------------------------------------------------------------------


@pytest.fixture
def big_runs() -> Iterator[tuple[RunningSim, list[int]]]:
    """Three finished runs whose output zips are ~300 KB each (so cuts land mid-file).

    Under rng seed 2 each cut spec below cuts at least one of the three first GETs (the
    test checks that resumed requests happened).
    """
    with simulator(users={"demo": "demo-token"}, rng_seed=2) as sim:
        sim.engine.add_task("demo", "big-outputs")
        runs = [
            sim.engine.add_run(
                "demo",
                "big-outputs",
                model,
                output_padding=300_000,
                outcome=outcome,
                queue_seconds=0,
                run_seconds=1,
            )
            for model, outcome in (
                ("gemini-2.5-flash", "COMPLETED"),
                ("gemini-2.5-pro", "ERRORED"),
                ("claude-sonnet-4-6@default", "COMPLETED"),
            )
        ]
        sim.clock.advance(5)
        yield sim, runs


@pytest.fixture
def archive_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """sha256 of every downloaded zip as it is handed to extraction (the zip stream)."""
    seen: list[str] = []
    real = download_module.extract_zip

    def spy(path: Path, staging: Path) -> int:
        seen.append(sha256(path.read_bytes()))
        return real(path, staging)

    monkeypatch.setattr(download_module, "extract_zip", spy)
    return seen


@pytest.mark.parametrize(
    "cut",
    [
        "download-cut=0.5,rate=0.5",
        "download-cut=0.1,rate=0.8",
        "download-cut=0.95,rate=0.6",
        "download-cut=0,rate=0.5",
    ],
)
async def test_downloads_are_byte_identical_after_cut_connections(
    cut: str, big_runs, archive_hashes, tmp_path
) -> None:
    sim, runs = big_runs
    sim.set_faults([cut, "latency=1ms"])
    async with _token_client(sim) as client:
        results = [
            await download_run_output(client, run_id, tmp_path / "out" / str(run_id))
            for run_id in runs
        ]
    for run_id, result in zip(runs, results, strict=True):
        assert result.state is DownloadState.DONE, result.message
        clean = sim.engine.output_zip(sim.store.get_run(run_id), False)
        assert sha256(clean) in archive_hashes
        assert tree_hashes(result.path) == zip_member_hashes(clean)
    assert len(archive_hashes) == len(runs)
    gets = sim.state.requests["download"]
    assert gets > len(runs), "the cut fault should have forced resumed requests"
    # Nothing half-written is left beside the run folders.
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if not p.name.isdigit()]
    assert leftovers == []


async def test_a_download_cut_forever_fails_clearly_then_resumes(big_runs, tmp_path) -> None:
    """rate=1: each answer loses half of what is left, so the last byte never arrives."""
    sim, runs = big_runs
    run_id = runs[0]
    dest = tmp_path / "out" / str(run_id)
    sim.set_faults(["download-cut=0.5,rate=1"])
    attempts = 4
    async with _token_client(sim, attempts) as client:
        failed = await download_run_output(client, run_id, dest)
    assert failed.state is DownloadState.FAILED
    assert "received" in failed.message and "try again" in failed.message
    assert "\n" not in failed.message
    # Bounded: the halving makes progress log2(size) times, then `attempts` empty tries.
    size = len(sim.engine.output_zip(sim.store.get_run(run_id), False))
    assert sim.state.requests["download"] <= math.ceil(math.log2(size)) + attempts + 1
    assert not dest.exists(), "a failed download must not leave a half-filled run folder"
    part = tmp_path / "out" / f"{run_id}.zip.part"
    assert part.exists() and part.stat().st_size == size - 1  # kept to resume
    # The service recovers: the next call resumes from the kept bytes.
    sim.set_faults([])
    async with _token_client(sim) as client:
        done = await download_run_output(client, run_id, dest)
    assert done.state is DownloadState.DONE and done.transferred == 1
    clean = sim.engine.output_zip(sim.store.get_run(run_id), False)
    assert tree_hashes(dest) == zip_member_hashes(clean)


# --- live logs ---------------------------------------------------------------------------


async def _until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait (in 2 ms steps of real time) for socket I/O the clock cannot speed up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


@pytest.mark.parametrize(
    ("faults", "drop_every"),
    [
        pytest.param(["sse-drop-after=20,rate=1"], 20, id="drop-every-20"),
        pytest.param(["sse-drop-after=3,rate=1"], 3, id="drop-every-3"),
        pytest.param(["sse-drop-after=7,rate=0.5"], None, id="drop-every-7-half-the-time"),
        pytest.param(
            ["sse-drop-after=5,rate=1", *(f for f in FAULTS.values() if "sse" not in f)],
            5,
            id="all-faults-together",
        ),
    ],
)
async def test_live_log_is_complete_across_dropped_streams(
    faults: list[str], drop_every: int | None
) -> None:
    lines, run_seconds, step = 240, 120.0, 3.0
    with simulator(faults, users={"demo": "demo-token"}) as sim:
        sim.engine.add_task("demo", "live-task")
        run_id = sim.engine.add_run(
            "demo",
            "live-task",
            "gemini-2.5-flash",
            log_lines=lines,
            outcome="COMPLETED",
            queue_seconds=0,
            run_seconds=run_seconds,
        )
        run = sim.store.get_run(run_id)
        times = sim.engine.run_log(run).times
        received: list[str] = []
        async with _token_client(sim, attempts=8) as client:

            async def follow() -> None:
                async for event in stream_run_logs(client, run_id):
                    assert not isinstance(event, LogsNotReady)
                    received.append(event.data)

            follower = asyncio.create_task(follow())
            elapsed = 0.0
            while elapsed < run_seconds:
                sim.clock.advance(step)
                elapsed += step
                due = sum(1 for t in times if t <= elapsed) if elapsed < run_seconds else lines
                # After every step the dashboard has exactly the lines that exist so far.
                await _until(lambda due=due: len(received) >= due or follower.done(), "lines")
                assert len(received) == due
            await asyncio.wait_for(follower, 10)
            sim.set_faults([])
            persisted = await fetch_persisted_logs(client, run_id)
    assert persisted is not None and len(persisted) == lines
    assert received == [entry.data for entry in persisted]  # no line missing, none doubled
    connections = sim.state.requests["GetBenchmarkTaskRunLogs"] - 1  # minus the final fetch
    if drop_every is not None:
        # Each connection carries at most `drop_every` lines (the tail may come as the
        # persisted array once the run has ended): the stream was really cut many times.
        assert connections >= lines // (2 * drop_every), "the stream should have been dropped"


async def test_a_stream_dropped_forever_gives_up_with_a_clear_error() -> None:
    with simulator(["sse-drop-after=0,rate=1"], users={"demo": "demo-token"}) as sim:
        sim.engine.add_task("demo", "silent-task")
        run_id = sim.engine.add_run(
            "demo", "silent-task", "gemini-2.5-flash", queue_seconds=0, run_seconds=60
        )
        sim.clock.advance(30)
        received: list[LogEntry] = []
        async with _token_client(sim, attempts=4) as client:
            with pytest.raises(ProtocolError) as caught:
                async for event in stream_run_logs(client, run_id):
                    received.append(event)  # type: ignore[arg-type]
        assert sim.state.requests["GetBenchmarkTaskRunLogs"] == 4
    assert received == []
    message = str(caught.value)
    assert "GetBenchmarkTaskRunLogs" in message and "cut off" in message and "try again" in message


# --- retries are bounded, and the final error says what to do ----------------------------


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        pytest.param("status=503,rate=1", ("HTTP 503", "try again"), id="503-forever"),
        pytest.param("status=429,rate=1,retry-after=1", ("HTTP 429", "wait 1 s"), id="429-forever"),
        pytest.param("status=500,rate=1", ("HTTP 500", "try again"), id="500-forever"),
        pytest.param("malformed-json,rate=1", ("not valid JSON", "try again"), id="malformed"),
    ],
)
def test_a_persistent_fault_ends_the_export_after_bounded_attempts(
    fault: str, words: tuple[str, ...], capsys, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "export.json"
    with simulator([fault], **DEMO_SEED) as sim:
        result = run_cli(capsys, ["export", "--endpoint", sim.url, "-o", str(target)])
        seen = dict(sim.state.requests)
    assert result.code == 4 and result.out == ""
    line = assert_clear_error(result.err)
    assert line.startswith("kbench-tui export: ListBenchmarkTasks:")
    assert all(word in line for word in words), line
    assert seen == {"ListBenchmarkTasks": EXPORT_ATTEMPTS}
    assert list(folder.iterdir()) == [], "no partial export file"
