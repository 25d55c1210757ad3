"""Shared pieces of the on-demand benchmarks (never part of the default test run).

Every figure is a ratio against a reference measured in the same script, alternating
runs, with the median of several repetitions — these machines are shared and noisy, so
absolute seconds mean little.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KAGGLE_CLI_AT = ROOT / "tests" / "conformance" / "kaggle_cli_at.py"
TOKEN = "demo-token"


@contextmanager
def simulator(*args: str) -> Iterator[str]:
    """`kbench-tui sim` in its own process on a free port; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kbench_tui", "sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def clean_env(endpoint: str) -> dict[str, str]:
    """A private HOME and the demo token: nothing of the caller's kaggle setup is used."""
    home = tempfile.mkdtemp(prefix="kbench-bench-home-")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("KAGGLE_", "HTTP"))}
    env.update(
        HOME=home,
        KAGGLE_API_TOKEN=TOKEN,
        KBENCH_TEST_ENDPOINT=endpoint,
        XDG_CACHE_HOME=str(Path(home) / "cache"),
    )
    return env


def kaggle_cli(*args: str) -> list[str]:
    """The real kaggle CLI 2.2.4 pointed at the simulator (API reference §1.1a)."""
    return [sys.executable, str(KAGGLE_CLI_AT), *args]


def kbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "kbench_tui", *args]


def wall_time(command: list[str], env: dict[str, str]) -> float:
    """Seconds for one whole process, from spawn to exit; output discarded."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed ({done.returncode}): {done.stderr[-500:]!r}")
    return elapsed


def alternate(
    ours: Callable[[], float], reference: Callable[[], float], repetitions: int
) -> tuple[float, float]:
    """Median seconds of ours and of the reference, measured in alternation."""
    mine, theirs = [], []
    for _ in range(repetitions):
        mine.append(ours())
        theirs.append(reference())
    return statistics.median(mine), statistics.median(theirs)


def report(name: str, ours: float, reference: float, goal: str) -> None:
    print(f"{name}: ours {ours:.3f} s, reference {reference:.3f} s, ratio {ours / reference:.2f}x ({goal})")
