"""Transfer manager: download many runs' outputs concurrently, with progress per run.

No Textual import. `TransferManager.run(jobs)` downloads up to `concurrency` runs at a time
(a semaphore, default 8) through `api.download.download_run_output`, which does the
resumable transfer, the zip checks and the atomic swap into the kaggle CLI layout
`<out>/<task>/<version>/<model>/<run_id>/`. Each run reports through one callback:

- `TransferStarted` when its request goes out (it waited for a slot until then);
- `TransferProgress` (bytes, total, rate), coalesced to one per `progress_interval`
  seconds per run, because chunks arrive far faster than any screen can redraw;
- `TransferFinished` with the `DownloadResult` (Done / Cached / Bad zip / Failed).

Cancelling the task that awaits `run()` (or calling `cancel()`) stops every transfer; the
`.part` files stay on disk, so the next run of the same jobs resumes where they stopped.
Rejected credentials stop everything at once (no other run could succeed) and re-raise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kbench_tui.api.download import (
    DownloadResult,
    DownloadState,
    download_run_output,
    run_output_dir,
)
from kbench_tui.api.errors import AuthError
from kbench_tui.slugs import TaskRef, parse_task_argument

if TYPE_CHECKING:
    from kbench_tui.api.client import BenchmarksClient, TaskLike
    from kbench_tui.api.connection import RpcConnection
    from kbench_tui.api.reader import TaskReader

__all__ = [
    "DEFAULT_CONCURRENCY",
    "SOURCE_NOTEBOOKS",
    "TransferEvent",
    "TransferFinished",
    "TransferJob",
    "TransferManager",
    "TransferPlan",
    "TransferProgress",
    "TransferStarted",
    "TransferSummary",
    "lacks_sources",
    "plan_task_downloads",
]

# Run outputs are mostly small, so a batch is bound by round trips (the RPC, then the
# signed GET), not bandwidth: 8 at a time is a modest per-host connection budget.
DEFAULT_CONCURRENCY = 8
# The two notebooks `includeSource` adds to a run's output (API reference §7.3).
SOURCE_NOTEBOOKS = ("__notebook__.ipynb", "__notebook_source__.ipynb")


@dataclass(frozen=True)
class TransferJob:
    """One run to download into `dest` (its run directory in the CLI layout)."""

    run_id: int
    model: str
    dest: Path


@dataclass(frozen=True)
class TransferStarted:
    """A run got a download slot and its request is going out."""

    run_id: int


@dataclass(frozen=True)
class TransferProgress:
    """Bytes of the archive on disk so far (a resumed file starts above 0)."""

    run_id: int
    received: int
    total: int | None
    rate: float
    """Bytes per second received by this attempt (0.0 until a measurable time passed)."""

    @property
    def fraction(self) -> float | None:
        """0..1 when the total size is known."""
        if not self.total:
            return None
        return min(1.0, self.received / self.total)


@dataclass(frozen=True)
class TransferFinished:
    """A run's final state; `lacks_sources` marks a cached copy without its notebooks."""

    run_id: int
    result: DownloadResult
    lacks_sources: bool = False


TransferEvent = TransferStarted | TransferProgress | TransferFinished


@dataclass
class TransferSummary:
    """Counts by final state, plus the runs that never finished (cancelled)."""

    results: dict[int, DownloadResult] = field(default_factory=dict)
    cached_without_sources: int = 0
    cancelled: list[int] = field(default_factory=list)

    def count(self, state: DownloadState) -> int:
        """How many runs ended in `state`."""
        return sum(1 for result in self.results.values() if result.state is state)

    @property
    def tip(self) -> str | None:
        """The kaggle CLI's hint when `-s` met cached runs that have no notebooks (§10.6)."""
        if not self.cached_without_sources:
            return None
        return (
            f"Tip: {self.cached_without_sources} cached run(s) lack source notebooks. "
            "Re-run with -f -s to fetch them."
        )

    @property
    def line(self) -> str:
        """`Done: 2 run(s) downloaded, 1 run(s) cached.` plus bad/failed counts when any."""
        parts = [
            f"{self.count(DownloadState.DONE)} run(s) downloaded",
            f"{self.count(DownloadState.CACHED)} run(s) cached",
        ]
        if bad := self.count(DownloadState.BAD_ZIP):
            parts.append(f"{bad} bad zip(s)")
        if failed := self.count(DownloadState.FAILED):
            parts.append(f"{failed} failed")
        if self.cancelled:
            parts.append(f"{len(self.cancelled)} cancelled")
        return "Done: " + ", ".join(parts) + "."


def lacks_sources(run_dir: Path) -> bool:
    """True when a run directory has neither source notebook (the CLI's tip condition)."""
    return not any((run_dir / name).exists() for name in SOURCE_NOTEBOOKS)


class TransferManager:
    """Downloads a batch of runs, `concurrency` at a time; see the module docstring."""

    def __init__(
        self,
        client: RpcConnection,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        include_source: bool = False,
        force: bool = False,
        on_event: Callable[[TransferEvent], object] | None = None,
        progress_interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.concurrency = concurrency
        self.include_source = include_source
        self.force = force
        self.on_event = on_event
        self.progress_interval = progress_interval
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    def _emit(self, event: TransferEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def cancel(self) -> None:
        """Stop every transfer of the current `run()` (partial files are kept for resume)."""
        for task in self._tasks:
            task.cancel()

    async def run(self, jobs: Iterable[TransferJob]) -> TransferSummary:
        """Download every job; returns when all have finished or were cancelled."""
        summary = TransferSummary()
        semaphore = asyncio.Semaphore(self.concurrency)
        auth_failure: list[AuthError] = []
        job_list = list(jobs)

        async def one(job: TransferJob) -> None:
            async with semaphore:
                try:
                    result = await self._download(job)
                except AuthError as error:
                    # No other run can succeed with rejected credentials: stop them all.
                    auth_failure.append(error)
                    self.cancel()
                    return
            lacking = (
                result.state is DownloadState.CACHED
                and self.include_source
                and lacks_sources(result.path)
            )
            summary.results[job.run_id] = result
            if lacking:
                summary.cached_without_sources += 1
            self._emit(TransferFinished(job.run_id, result, lacking))

        self._tasks = [asyncio.ensure_future(one(job)) for job in job_list]
        try:
            # return_exceptions: one cancelled job must not cancel its siblings' bookkeeping.
            await asyncio.gather(*self._tasks, return_exceptions=True)
        except asyncio.CancelledError:
            # Our own caller was cancelled (a Textual worker, a test): stop the children too.
            self.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            raise
        finally:
            self._tasks = []
        summary.cancelled = [job.run_id for job in job_list if job.run_id not in summary.results]
        if auth_failure:
            raise auth_failure[0]
        return summary

    async def _download(self, job: TransferJob) -> DownloadResult:
        self._emit(TransferStarted(job.run_id))
        started = self.clock()
        last_emit = float("-inf")
        first_offset: int | None = None

        def progress(received: int, total: int | None) -> None:
            nonlocal last_emit, first_offset
            now = self.clock()
            if first_offset is None:
                first_offset = received  # bytes already on disk from an earlier attempt
            finished = total is not None and received >= total
            if not finished and now - last_emit < self.progress_interval:
                return
            last_emit = now
            elapsed = now - started
            rate = (received - first_offset) / elapsed if elapsed > 0 else 0.0
            self._emit(TransferProgress(job.run_id, received, total, max(rate, 0.0)))

        return await download_run_output(
            self.client,
            job.run_id,
            job.dest,
            include_source=self.include_source,
            force=self.force,
            progress=progress,
        )


@dataclass(frozen=True)
class TransferPlan:
    """What `kaggle b t download TASK -o OUT` would fetch: terminal runs and those still going."""

    task: str
    version: int | None
    output: Path
    jobs: list[TransferJob]
    in_progress: int

    @property
    def target_directory(self) -> Path:
        """`<output>/<task>/`, the CLI's "Target directory"."""
        return self.output / self.task

    def with_output(self, output: Path) -> TransferPlan:
        """The same runs, placed under another output directory."""
        jobs = [
            TransferJob(
                job.run_id,
                job.model,
                run_output_dir(output, self.task, self.version, job.model, job.run_id),
            )
            for job in self.jobs
        ]
        return TransferPlan(self.task, self.version, output, jobs, self.in_progress)


async def plan_task_downloads(
    client: BenchmarksClient | TaskReader,
    task: TaskLike,
    output: Path,
    models: Iterable[str] | None = None,
) -> TransferPlan:
    """Look up the task's latest version and its runs; only COMPLETED/ERRORED runs download.

    `client` may be the dashboard's `BenchmarksClient` or a pydantic-free `TaskReader`
    (a one-shot process need not import the models to download).

    Paths follow §7.3: the task part is the normalised argument (`owner/task` adds a level),
    the version is the latest one (`unset` when unknown), runs in server order.
    """
    if isinstance(task, str):
        ref = parse_task_argument(task)
    elif isinstance(task, TaskRef):
        ref = task
    else:
        ref = task.ref
    # Independent lookups: asked together, they cost one round trip instead of two.
    # The task's own error (e.g. not found) is still the one reported, as it is awaited first.
    runs_lookup = asyncio.ensure_future(client.list_all_runs(ref, models))
    try:
        found = await client.get_task(ref)
        runs = await runs_lookup
    finally:
        if not runs_lookup.done():
            runs_lookup.cancel()
        elif not runs_lookup.cancelled():
            runs_lookup.exception()  # retrieved: no "never retrieved" warning
    name = str(ref)
    version = found.slug.version_number
    jobs = [
        TransferJob(run.id, run.model, run_output_dir(output, name, version, run.model, run.id))
        for run in runs
        if run.state.is_terminal
    ]
    return TransferPlan(name, version, output, jobs, len(runs) - len(jobs))
