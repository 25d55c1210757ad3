"""Benchmark: 8 runs' downloads, concurrently (transfer manager) vs one after another (issue 6).

Run on demand:  python tests/bench/bench_downloads.py [--repetitions 5] [--size 2000000]
                                                        [--speed 4MB]

A simulator with `latency=50ms` injected on every request (the RPC and the signed GET) and
outputs padded to `--size` bytes serves 8 finished runs; `--speed` also sends every body at
most that fast per connection (a distant or throttling storage host). Each repetition
downloads all 8 into a fresh directory, in turn: the transfer manager (8 at a time, its
default; bodies taking turns, api/turns.py), a plain loop over `download_run_output`, and
the transfer manager with every body read at once (no turns). Goal: concurrent < 0.5x the
serial time. Taking turns should win over loopback (the machine is the bottleneck) and cost
nothing when the network holds each stream back (`--speed`).
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
from kbench_tui.api.turns import BodyTurns
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim
from kbench_tui.watch.transfers import TransferManager, TransferPlan, plan_task_downloads

MODELS = EIGHT_MODELS


def prepare(size: int, speed: str | None) -> RunningSim:
    faults = ["latency=50ms"] + ([f"download-speed={speed}"] if speed else [])
    sim = start_sim(SimConfig(seed="empty", faults=faults), clock=ManualClock())
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


async def measure(url: str, repetitions: int) -> tuple[float, float, float]:
    root = Path(tempfile.mkdtemp(prefix="kbench-bench-downloads-"))
    ours: list[float] = []
    reference: list[float] = []
    at_once: list[float] = []
    try:
        async with BenchmarksClient(url, Credentials.token("demo-token")) as client:
            plan = await plan_task_downloads(client, "bench", root / "warm-up")
            await concurrent(client, plan)  # warm the connection pool and the zip cache
            turns = client.body_turns
            for index in range(repetitions):
                ours.append(await concurrent(client, plan.with_output(root / f"c{index}")))
                reference.append(await serial(client, plan.with_output(root / f"s{index}")))
                client.body_turns = BodyTurns(limit=len(plan.jobs))
                at_once.append(await concurrent(client, plan.with_output(root / f"a{index}")))
                client.body_turns = turns
                for name in ("c", "s", "a"):
                    shutil.rmtree(root / f"{name}{index}", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return statistics.median(ours), statistics.median(reference), statistics.median(at_once)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--size", type=int, default=2_000_000, help="padding bytes per output")
    parser.add_argument("--speed", help="per-connection body speed, e.g. 4MB (per second)")
    options = parser.parse_args()
    sim = prepare(options.size, options.speed)
    try:
        ours, reference, at_once = asyncio.run(measure(sim.url, options.repetitions))
    finally:
        sim.stop()
    link = f", bodies at most {options.speed}/s each" if options.speed else ""
    print(
        f"8 downloads of ~{options.size / 1e6:.1f} MB with 50 ms latency{link}: concurrent "
        f"{ours:.3f} s, serial {reference:.3f} s, ratio {ours / reference:.2f}x (goal < 0.50x); "
        f"every body at once (no turns) {at_once:.3f} s, turns/at once {ours / at_once:.2f}x"
    )


if __name__ == "__main__":
    main()
