"""Shared pieces of the on-demand benchmarks (never part of the default test run).

Every figure is a ratio against a reference measured in the same script, alternating
runs, with the median of several repetitions — these machines are shared and noisy, so
absolute seconds mean little.
"""

from __future__ import annotations

import json
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
# Eight catalogue models, for benchmarks that need eight runs of one task.
EIGHT_MODELS = [
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gpt-5",
    "gpt-5-mini",
    "grok-4.3",
    "claude-opus-4-6-default",
    "deepseek-r1-0528",
    "llama-4-maverick",
]


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
    print(
        f"{name}: ours {ours:.3f} s, reference {reference:.3f} s, ratio {ours / reference:.2f}x ({goal})"
    )


SIMPROC = Path(__file__).resolve().parent / "_simproc.py"


class SimProcess:
    """A steerable simulator in its own process (see `_simproc.py`): hooks without the GIL."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SIMPROC), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.url: str = self._read()["url"]

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process ended")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def call(self, op: str, **fields: object) -> dict:
        """Send one command; returns the simulator's answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def requests(self) -> int:
        """Requests the simulator has served so far (every RPC and download GET)."""
        return int(self.call("requests")["total"])

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write('{"op": "quit"}\n')
                self.process.stdin.flush()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def rss_mb(pid: int | None = None) -> tuple[float, float]:
    """(current, peak) resident memory in MB of `pid` (default: this process), from /proc."""
    fields = {}
    with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
