"""Benchmark: 8 run downloads, ours against the kaggle CLI's `download` (issue 8, item 6).

Run on demand:  python tests/bench/bench_download_cli.py [--repetitions 3] [--size 20000000]

A simulator in its own process with `latency=50ms` injected on every request serves one
task with 8 finished runs whose output zips are padded to `--size` bytes (20 MB by
default). Each repetition downloads all 8 into a fresh directory, alternating with the
reference, the real kaggle CLI 2.2.4: `kaggle b t download TASK -o DIR` (one by one).

- ours, the headline: the one-shot command a user runs instead,
  `kbench-tui export --endpoint URL TASK --with-results --download DIR` - a whole process
  (interpreter start, imports, exit) that downloads and extracts every run's output in the
  kaggle CLI's layout, and also parses each result and prints the JSON export;
- ours in a running process: a `python -c` script planning the task's downloads and running
  them through the dashboard's transfer manager (`kbench_tui.watch.transfers`, concurrent,
  reading through the pydantic-free `TaskReader`), timed inside its process from planning
  to the last file: what pressing `d` in a running dashboard costs. The same script's whole
  process is reported too, for reference (a library call as a script: no command, so none of
  the command's exit handling).

After every run the output tree is compared with the first CLI run's: the same files
(`<task>/<version>/<model>/<run_id>/...`), byte for byte (sha256), nothing else beside
them (no `.zip`, `.part` or staging leftovers), so both sides did the same work.

Goal: ours >= 3x faster (ratio <= 0.33x).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SimProcess, alternate, clean_env, kaggle_cli, kbench, report
from bench_polling import MODELS

TASK = "bench-download"
OURS = """
import asyncio, sys, time
from pathlib import Path
from kbench_tui.api.download import DownloadState
from kbench_tui.api.reader import TaskReader
from kbench_tui.config import Credentials
from kbench_tui.watch.transfers import TransferManager, plan_task_downloads

async def main(url, task, output):
    async with TaskReader(url, Credentials.token("demo-token", source="bench")) as client:
        started = time.perf_counter()
        plan = await plan_task_downloads(client, task, Path(output))
        summary = await TransferManager(client).run(plan.jobs)
        print(f"in-process {time.perf_counter() - started:.6f}")
        assert summary.count(DownloadState.DONE) == len(plan.jobs) == 8, summary.line

asyncio.run(main(*sys.argv[1:]))
"""


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under `root`: relative path -> (size, sha256)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[path.relative_to(root).as_posix()] = (path.stat().st_size, digest)
    return files


def check_same(name: str, found: dict, expected: dict) -> None:
    if found != expected:
        extra = sorted(set(found) - set(expected))
        missing = sorted(set(expected) - set(found))
        differ = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
        raise SystemExit(
            f"{name}: output differs: extra {extra}, missing {missing}, differ {differ}"
        )


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
        in_process: list[float] = []  # ours, from the plan to the last file, in its process
        expected: dict[str, tuple[int, str]] = {}

        def timed(name: str, command: list[str], make_target: bool = False) -> float:
            target = root / f"{name}-{next(counter)}"
            if make_target:
                target.mkdir()  # export --download wants an existing directory
            start = time.perf_counter()
            done = subprocess.run([*command, str(target)], env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-500:]}")
            if match := re.search(r"^in-process ([0-9.]+)$", done.stdout, re.MULTILINE):
                in_process.append(float(match.group(1)))
            found = tree(target)
            if not expected:
                expected.update(found)
                if len(found) < 8 * 2:
                    raise SystemExit(f"{name}: only {len(found)} files downloaded")
            check_same(name, found, expected)
            shutil.rmtree(target, ignore_errors=True)
            return seconds

        def ours() -> float:
            return timed("ours", [sys.executable, "-c", OURS, sim.url, TASK])

        def cli() -> float:
            return timed("cli", kaggle_cli("b", "t", "download", TASK, "-o"))

        def export() -> float:
            command = kbench("export", "--endpoint", sim.url, TASK, "--with-results", "--download")
            return timed("export", command, make_target=True)

        cli(), ours(), export()  # warm the simulator's zip cache; the CLI's files are the reference
        sim.call("faults", specs=["latency=50ms"])
        in_process.clear()  # the warm-up's
        exported, theirs = alternate(export, cli, options.repetitions)
        script, theirs_again = alternate(ours, cli, options.repetitions)
    shutil.rmtree(root, ignore_errors=True)
    size = f"{options.size / 1e6:.0f} MB"
    report(
        f"8 downloads of {size}, 50 ms latency: `kbench-tui export TASK --with-results "
        "--download DIR` (whole process) vs `kaggle b t download`",
        exported,
        theirs,
        "goal <= 0.33x, i.e. >= 3x faster; ours also parses and exports every result",
    )
    report(
        f"the same in a running process (the dashboard's `d`: plan to last file), 8 x {size}",
        statistics.median(in_process),
        theirs_again,
        "no interpreter start, imports or exit; the CLI's whole command",
    )
    report(
        f"the transfer manager as a `python -c` script (whole process), 8 x {size}",
        script,
        theirs_again,
        "for reference: a library call, without the command's exit handling",
    )


if __name__ == "__main__":
    main()
