"""The transfer manager against the simulator: concurrency, identical bytes, resume, states."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from kbench_tui.api.client import BenchmarksClient, RetryPolicy
from kbench_tui.api.download import DownloadResult, DownloadState, download_run_output
from kbench_tui.api.errors import ApiError
from kbench_tui.api.reader import TaskReader
from kbench_tui.config import Credentials
from kbench_tui.sim.runner import RunningSim
from kbench_tui.watch import transfers
from kbench_tui.watch.transfers import (
    TransferEvent,
    TransferFinished,
    TransferJob,
    TransferManager,
    TransferProgress,
    TransferStarted,
    plan_task_downloads,
)

MODELS = [
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gpt-5",
    "gpt-5-mini",
    "grok-4.3",
    "claude-opus-4-6-default",
    "deepseek-r1-0528",
    "llama-4-maverick",
]


async def _no_sleep(_: float) -> None:
    return None


def client_for(sim: RunningSim, attempts: int = 5) -> BenchmarksClient:
    return BenchmarksClient(
        sim.url,
        Credentials.token("demo-token"),
        retry=RetryPolicy(max_attempts=attempts),
        sleep=_no_sleep,
    )


def finished_task(sim: RunningSim, slug: str = "bulk", padding: int = 200_000) -> list[int]:
    """A task with one finished run per model, each output padded to about `padding` bytes."""
    sim.engine.add_task("demo", slug)
    ids = [
        sim.engine.add_run(
            "demo", slug, model, output_padding=padding, outcome="COMPLETED", queue_seconds=0
        )
        for model in MODELS
    ]
    sim.clock.advance(3600)
    return ids


def tree(directory: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `directory`."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


async def test_eight_concurrent_downloads_are_byte_identical_to_serial_ones(
    sim: RunningSim, tmp_path: Path
) -> None:
    finished_task(sim)
    events: list[TransferEvent] = []
    active = 0
    peak = 0

    def on_event(event: TransferEvent) -> None:
        nonlocal active, peak
        events.append(event)
        if isinstance(event, TransferStarted):
            active += 1
            peak = max(peak, active)
        elif isinstance(event, TransferFinished):
            active -= 1

    async with client_for(sim) as client:
        plan = await plan_task_downloads(client, "bulk", tmp_path / "concurrent")
        assert len(plan.jobs) == 8 and plan.version == 1
        summary = await TransferManager(client, concurrency=4, on_event=on_event).run(plan.jobs)
        serial = plan.with_output(tmp_path / "serial")
        for job in serial.jobs:
            result = await download_run_output(client, job.run_id, job.dest)
            assert result.state is DownloadState.DONE

    assert summary.count(DownloadState.DONE) == 8 and not summary.cancelled
    assert summary.line == "Done: 8 run(s) downloaded, 0 run(s) cached."
    assert 1 < peak <= 4, "bounded by the semaphore, and really concurrent"
    concurrent_tree = tree(tmp_path / "concurrent")
    assert concurrent_tree == tree(tmp_path / "serial")
    assert any(path.endswith("padding.bin") for path in concurrent_tree)
    assert (tmp_path / "concurrent" / "bulk" / "1" / "gpt-5").is_dir(), "kaggle CLI layout"
    progress = [e for e in events if isinstance(e, TransferProgress)]
    assert progress and all(e.total and e.total > 100_000 for e in progress)
    assert all(e.rate >= 0 for e in progress)
    last = {e.run_id: e for e in progress}
    assert all(e.fraction == 1.0 for e in last.values()), "the final progress is always sent"


async def test_a_task_reader_plans_and_downloads_like_the_client(
    sim: RunningSim, tmp_path: Path
) -> None:
    """A one-shot process downloads through the pydantic-free reader: same plan, same tree."""
    finished_task(sim)
    reader = TaskReader(sim.url, Credentials.token("demo-token"), sleep=_no_sleep)
    async with reader, client_for(sim) as client:
        plan = await plan_task_downloads(reader, "bulk", tmp_path / "reader")
        reference = await plan_task_downloads(client, "bulk", tmp_path / "client")
        assert plan.jobs == reference.with_output(tmp_path / "reader").jobs
        assert (plan.version, plan.in_progress) == (reference.version, reference.in_progress)
        summary = await TransferManager(reader).run(plan.jobs)
        await TransferManager(client).run(reference.jobs)
    assert summary.count(DownloadState.DONE) == 8
    assert tree(tmp_path / "reader") == tree(tmp_path / "client")


async def test_a_run_awaiting_its_score_is_planned_as_still_in_progress(
    sim: RunningSim, tmp_path: Path
) -> None:
    """SCORE_PENDING is not finished: not downloaded yet, counted in progress (both readers)."""
    sim.engine.add_task("demo", "scored")
    done = sim.engine.add_run("demo", "scored", "gpt-5", outcome="COMPLETED", queue_seconds=0)
    sim.engine.config.score_seconds = 30  # the next run waits for its score
    pending = sim.engine.add_run(
        "demo", "scored", "gemini-2.5-flash", outcome="COMPLETED", queue_seconds=0
    )
    sim.clock.advance(61)
    assert sim.engine.run_state(pending) == "SCORE_PENDING"
    reader = TaskReader(sim.url, Credentials.token("demo-token"), sleep=_no_sleep)
    async with reader, client_for(sim) as client:
        for source in (reader, client):
            plan = await plan_task_downloads(source, "scored", tmp_path)
            assert [job.run_id for job in plan.jobs] == [done] and plan.in_progress == 1
        sim.clock.advance(30)
        plan = await plan_task_downloads(reader, "scored", tmp_path)
        assert sorted(job.run_id for job in plan.jobs) == [done, pending]
        assert plan.in_progress == 0


async def test_second_run_is_cached_and_the_tip_counts_runs_without_sources(
    sim: RunningSim, tmp_path: Path
) -> None:
    finished_task(sim, padding=0)
    async with client_for(sim) as client:
        plan = await plan_task_downloads(client, "bulk", tmp_path)
        await TransferManager(client).run(plan.jobs)
        again = await TransferManager(client, include_source=True).run(plan.jobs)
        assert again.count(DownloadState.CACHED) == 8
        assert again.cached_without_sources == 8
        assert again.tip == (
            "Tip: 8 cached run(s) lack source notebooks. Re-run with -f -s to fetch them."
        )
        forced = await TransferManager(client, include_source=True, force=True).run(plan.jobs)
        assert forced.count(DownloadState.DONE) == 8 and forced.tip is None
    assert (plan.jobs[0].dest / "__notebook__.ipynb").is_file()


async def test_a_cut_download_fails_then_resumes_where_it_stopped(
    sim: RunningSim, tmp_path: Path
) -> None:
    finished_task(sim, padding=400_000)
    async with client_for(sim, attempts=1) as client:
        plan = await plan_task_downloads(client, "bulk", tmp_path)
        job = plan.jobs[0]
        sim.set_faults(["download-cut=0.5"])
        cut = await TransferManager(client).run([job])
        assert cut.results[job.run_id].state is DownloadState.FAILED
        part = job.dest.parent / f"{job.run_id}.zip.part"
        assert part.exists() and part.stat().st_size > 100_000
        sim.set_faults([])
        resumed = await TransferManager(client).run([job])
    result = resumed.results[job.run_id]
    assert result.state is DownloadState.DONE
    assert 0 < result.transferred < result.bytes, "only the missing bytes were fetched"
    assert not part.exists()
    assert (job.dest / "padding.bin").stat().st_size == 400_000


async def test_cancel_stops_every_transfer_and_reports_them(
    sim: RunningSim, tmp_path: Path
) -> None:
    finished_task(sim, padding=0)
    sim.set_faults(["latency=300ms"])
    async with client_for(sim) as client:
        plan = await plan_task_downloads(client, "bulk", tmp_path)
        manager = TransferManager(client, concurrency=2)
        started = asyncio.Event()
        manager.on_event = lambda event: started.set()
        running = asyncio.ensure_future(manager.run(plan.jobs))
        await started.wait()
        manager.cancel()
        summary = await running
    assert len(summary.cancelled) == 8
    assert "8 cancelled" in summary.line


async def test_bad_zip_and_failed_states_are_kept_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = {
        1: DownloadState.DONE,
        2: DownloadState.BAD_ZIP,
        3: DownloadState.FAILED,
        4: DownloadState.CACHED,
    }

    async def fake_download(client, run_id, dest, **kwargs) -> DownloadResult:
        return DownloadResult(outcomes[run_id], dest, 10, 10, "")

    monkeypatch.setattr(transfers, "download_run_output", fake_download)
    jobs = [TransferJob(run_id, "m", tmp_path / str(run_id)) for run_id in outcomes]
    summary = await TransferManager(object()).run(jobs)  # type: ignore[arg-type]
    assert {run: r.state for run, r in summary.results.items()} == outcomes
    assert summary.line == ("Done: 1 run(s) downloaded, 1 run(s) cached, 1 bad zip(s), 1 failed.")


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TransferManager(object(), concurrency=0)  # type: ignore[arg-type]


class _LookupClient:
    """get_task / list_all_runs that record their overlap; errors on demand."""

    def __init__(
        self,
        task_error: Exception | None = None,
        runs_error: Exception | None = None,
        runs_steps: int = 3,
    ) -> None:
        self.task_error, self.runs_error, self.runs_steps = task_error, runs_error, runs_steps
        self.open: set[str] = set()
        self.overlapped = False
        self.runs_finished = False

    async def _call(self, name: str, error: Exception | None, steps: int = 3) -> None:
        self.open.add(name)
        self.overlapped = self.overlapped or len(self.open) == 2
        for _ in range(steps):
            await asyncio.sleep(0)
        self.open.discard(name)
        if error is not None:
            raise error

    async def get_task(self, ref):
        await self._call("task", self.task_error)
        raise AssertionError("only the failing cases reach here")

    async def list_all_runs(self, ref, models=None):
        await self._call("runs", self.runs_error, self.runs_steps)
        self.runs_finished = True
        return []


async def test_planning_asks_for_the_task_and_its_runs_together() -> None:
    missing = ApiError("task not found", status=404, rpc="GetBenchmarkTask")
    client = _LookupClient(task_error=missing, runs_error=ApiError("no runs", status=404))
    with pytest.raises(ApiError, match="task not found"):  # the task's error, not the runs'
        await plan_task_downloads(client, "bulk", Path("out"))  # type: ignore[arg-type]
    assert client.overlapped
    # A failed task lookup does not leave the runs lookup running behind.
    slow = _LookupClient(task_error=missing, runs_steps=50)
    with pytest.raises(ApiError):
        await plan_task_downloads(slow, "bulk", Path("out"))  # type: ignore[arg-type]
    for _ in range(100):
        await asyncio.sleep(0)
    assert not slow.runs_finished
