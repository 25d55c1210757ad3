"""Benchmark: start-up of the dashboard and of the headless export (issue 8, item 1).

Run on demand:  python tests/bench/bench_startup.py [--repetitions 7] [--only dashboard|export]

1. Dashboard: `kbench-tui --endpoint URL` against a simulator with `--seed large`
   (1,000 tasks), launched in a real pseudo-terminal (120x40), timed from spawn to the
   moment the terminal receives the painted top row of the task list (`task-1000`, the
   newest task) — exactly what a user sees. The reference is the floor: a plain Textual
   app painting a 1,000-row DataTable with no network (`_floor_app.py`), timed the same
   way. Goal: <= 1.3x.
2. Headless export: a whole `kbench-tui export TASK` process against
   `python -c "import httpx, pydantic"`. Goal: <= 1.5x. (The comparison with the kaggle
   CLI is `bench_export.py`.)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from _common import alternate, clean_env, kbench, report, simulator, wall_time

FLOOR_APP = Path(__file__).resolve().parent / "_floor_app.py"
MARKER = b"task-1000"
TIMEOUT = 60.0


def time_to_paint(command: list[str], env: dict[str, str], marker: bytes = MARKER) -> float:
    """Seconds from spawning `command` in a 120x40 pty until `marker` reaches the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**env, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            left = TIMEOUT - (time.perf_counter() - start)
            if left <= 0:
                raise RuntimeError(f"{command}: no {marker!r} after {TIMEOUT} s: {seen[-300:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as error:  # EIO: the child closed the terminal
                raise RuntimeError(f"{command} ended early: {seen[-300:]!r}") from error
            # Keep a short tail: the marker may straddle two reads.
            seen = seen[-64:] + chunk
            if marker in seen:
                return time.perf_counter() - start
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument(
        "--only", choices=("dashboard", "export"), help="measure one figure (default: both)"
    )
    options = parser.parse_args()

    with simulator("--seed", "large", "--speed", "0") as url:
        env = clean_env(url)
        if options.only != "export":
            dashboard(url, env, options.repetitions)
        if options.only != "dashboard":
            export(url, env, options.repetitions)


def dashboard(url: str, env: dict[str, str], repetitions: int) -> None:
    """Item 1a: `kbench-tui --endpoint URL` to the painted list, against the floor app."""
    # An installed kbench-tui starts from bytecode, as Textual does from site-packages: with
    # PYTHONDONTWRITEBYTECODE set, every module edited since its last .pyc was compiled on
    # every launch (tens of ms on a tree being worked on). The warm-up runs write them.
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    # Warm the OS file cache for both (first-run imports are not what users repeat).
    time_to_paint([sys.executable, str(FLOOR_APP)], env)
    time_to_paint(kbench("--endpoint", url), env)
    ours, floor = alternate(
        lambda: time_to_paint(kbench("--endpoint", url), env),
        lambda: time_to_paint([sys.executable, str(FLOOR_APP)], env),
        repetitions,
    )
    report(
        "dashboard: launch to painted 1,000-task list vs plain Textual 1,000-row table",
        ours,
        floor,
        "goal <= 1.30x",
    )


def export(url: str, env: dict[str, str], repetitions: int) -> None:
    """Item 1b: a whole headless `export TASK` process against importing httpx + pydantic."""
    reference = [sys.executable, "-c", "import httpx, pydantic"]
    ours, floor = alternate(
        lambda: wall_time(kbench("export", "task-0001", "--endpoint", url), env),
        lambda: wall_time(reference, env),
        repetitions,
    )
    report(
        'headless export of one task vs `python -c "import httpx, pydantic"`',
        ours,
        floor,
        "goal <= 1.50x",
    )


if __name__ == "__main__":
    main()
