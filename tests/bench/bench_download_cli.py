"""Benchmark: 8 run downloads, ours against the kaggle CLI's `download` (issue 8, item 6).

Run on demand:  python tests/bench/bench_download_cli.py [--repetitions 3] [--size 20000000]

A simulator in its own process with `latency=50ms` injected on every request serves one
task with 8 finished runs whose output zips are padded to `--size` bytes (20 MB by
default). Each repetition downloads all 8 into a fresh directory, alternating:

- ours: a whole `python -c` process planning the task's downloads and running them
  through the dashboard's transfer manager (`kbench_tui.watch.transfers`, concurrent);
- reference: the real kaggle CLI 2.2.4, `kaggle b t download TASK -o DIR` (one by one).

Goal: ours >= 3x faster (ratio <= 0.33x).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import SimProcess, alternate, clean_env, kaggle_cli, report, wall_time
from bench_polling import MODELS

TASK = "bench-download"
OURS = """
import asyncio, sys
from pathlib import Path
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import DownloadState
from kbench_tui.config import Credentials
from kbench_tui.watch.transfers import TransferManager, plan_task_downloads

async def main(url, task, output):
    async with BenchmarksClient(url, Credentials.token("demo-token", source="bench")) as client:
        plan = await plan_task_downloads(client, task, Path(output))
        summary = await TransferManager(client).run(plan.jobs)
        assert summary.count(DownloadState.DONE) == len(plan.jobs) == 8, summary.line

asyncio.run(main(*sys.argv[1:]))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--size", type=int, default=20_000_000, help="bytes per output")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kbench-bench-dl-"))
    with SimProcess("--seed", "empty", "--clock", "manual") as sim:
        sim.call("add_task", slug=TASK)
        for model in MODELS:
            sim.call(
                "add_run", slug=TASK, model=model, output_padding=options.size, run_seconds=1.0
            )
        sim.call("advance", seconds=3600)
        env = clean_env(sim.url)
        counter = iter(range(10_000))

        def ours() -> float:
            target = root / f"ours-{next(counter)}"
            seconds = wall_time([sys.executable, "-c", OURS, sim.url, TASK, str(target)], env)
            shutil.rmtree(target, ignore_errors=True)
            return seconds

        def cli() -> float:
            target = root / f"cli-{next(counter)}"
            seconds = wall_time(kaggle_cli("b", "t", "download", TASK, "-o", str(target)), env)
            shutil.rmtree(target, ignore_errors=True)
            return seconds

        ours(), cli()  # warm the simulator's zip cache and the OS file cache
        sim.call("faults", specs=["latency=50ms"])
        mine, theirs = alternate(ours, cli, options.repetitions)
    shutil.rmtree(root, ignore_errors=True)
    report(
        f"8 downloads of {options.size / 1e6:.0f} MB, 50 ms latency, vs `kaggle b t download`",
        mine,
        theirs,
        "goal <= 0.33x, i.e. >= 3x faster",
    )


if __name__ == "__main__":
    main()
