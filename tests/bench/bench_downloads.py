"""Benchmark: 8 runs' downloads, concurrently (transfer manager) vs one after another (issue 6).

Run on demand:  python tests/bench/bench_downloads.py [--repetitions 5] [--size 2000000]

A simulator with `latency=50ms` injected on every request (the RPC and the signed GET) and
outputs padded to `--size` bytes serves 8 finished runs. Each repetition downloads all 8
into a fresh directory, alternating: the transfer manager (8 at a time, its default) and a
plain loop over `download_run_output`. Goal: concurrent < 0.5x the serial time.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import EIGHT_MODELS

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState, download_run_output
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim
from kbench_tui.watch.transfers import TransferManager, TransferPlan, plan_task_downloads

MODELS = EIGHT_MODELS


def prepare(size: int) -> RunningSim:
    sim = start_sim(SimConfig(seed="empty", faults=["latency=50ms"]), clock=ManualClock())
    sim.engine.add_task("demo", "bench")
    for model in MODELS:
        sim.engine.add_run(
            "demo", "bench", model, output_padding=size, outcome="COMPLETED", queue_seconds=0
        )
    sim.clock.advance(3600)
    return sim


async def concurrent(client: BenchmarksClient, plan: TransferPlan) -> float:
    start = time.perf_counter()
    summary = await TransferManager(client).run(plan.jobs)
    elapsed = time.perf_counter() - start
    assert summary.count(DownloadState.DONE) == len(plan.jobs), summary.line
    return elapsed


async def serial(client: BenchmarksClient, plan: TransferPlan) -> float:
    start = time.perf_counter()
    for job in plan.jobs:
        result = await download_run_output(client, job.run_id, job.dest)
        assert result.state is DownloadState.DONE, result.message
    return time.perf_counter() - start


async def measure(url: str, repetitions: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="kbench-bench-downloads-"))
    ours: list[float] = []
    reference: list[float] = []
    try:
        async with BenchmarksClient(url, Credentials.token("demo-token")) as client:
            plan = await plan_task_downloads(client, "bench", root / "warm-up")
            await concurrent(client, plan)  # warm the connection pool and the zip cache
            for index in range(repetitions):
                ours.append(await concurrent(client, plan.with_output(root / f"c{index}")))
                reference.append(await serial(client, plan.with_output(root / f"s{index}")))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return statistics.median(ours), statistics.median(reference)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--size", type=int, default=2_000_000, help="padding bytes per output")
    options = parser.parse_args()
    sim = prepare(options.size)
    try:
        ours, reference = asyncio.run(measure(sim.url, options.repetitions))
    finally:
        sim.stop()
    print(
        f"8 downloads of ~{options.size / 1e6:.1f} MB with 50 ms latency: concurrent "
        f"{ours:.3f} s, serial {reference:.3f} s, ratio {ours / reference:.2f}x (goal < 0.50x)"
    )


if __name__ == "__main__":
    main()
