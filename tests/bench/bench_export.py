"""Benchmark: `kbench-tui export` against the kaggle CLI on the same simulator (issue 4).

Run on demand:  python tests/bench/bench_export.py [--repetitions 7]

1. A single-task export (whole process) against `kaggle b t status TASK`, alternating
   runs — goal: <= 0.7x its wall time.
2. All 1,000 tasks of `--seed large` exported in one process against the kaggle CLI's
   per-task `status` cost times 1,000 — goal: >= 20x faster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import alternate, clean_env, kaggle_cli, kbench, report, simulator, wall_time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=7)
    options = parser.parse_args()

    with simulator("--seed", "large", "--speed", "0") as url:
        env = clean_env(url)
        listing = subprocess.run(
            kbench("export", "--endpoint", url, "--regex", "^task-0001"),
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        tasks = json.loads(listing.stdout)["tasks"]
        slug = next((t["slug"] for t in tasks if t["runs"]), tasks[0]["slug"])

        ours, cli = alternate(
            lambda: wall_time(kbench("export", slug, "--endpoint", url), env),
            lambda: wall_time(kaggle_cli("b", "t", "status", slug), env),
            options.repetitions,
        )
        report(f"single-task export vs `kaggle b t status {slug}`", ours, cli, "goal <= 0.70x")

        everything, _ = alternate(
            lambda: wall_time(kbench("export", "--endpoint", url), env),
            lambda: 0.0,
            max(3, options.repetitions // 2),
        )
        count = len(
            json.loads(
                subprocess.run(
                    kbench("export", "--endpoint", url),
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )["tasks"]
        )
        per_task_cli = cli * count
        print(
            f"all {count} tasks: ours {everything:.2f} s, kaggle CLI per-task status x {count} = "
            f"{per_task_cli:.1f} s, speed-up {per_task_cli / everything:.1f}x (goal >= 20x)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
