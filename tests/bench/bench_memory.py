"""Benchmark: resident memory at scale and over a streaming soak (issue 8, item 3).

Run on demand:  python tests/bench/bench_memory.py [--soak 60] [--rate 2000]
The issue's 10-minute soak:  python tests/bench/bench_memory.py --soak 600

One fresh process runs the dashboard (headless, in-process; the simulator has its own
process with its clock moved by hand):

1. 1,000 tasks loaded, then a 200,000-line log streamed into the log pane as fast as
   the simulator sends it: resident memory (VmRSS) and its peak (VmHWM) — goal <= 200 MB.
   For scale, the same figure of a plain Textual app holding a 1,000-row table (the
   start-up floor, `_floor_app.py`) is printed as the reference.
2. Soak: a live run emitting `--rate` lines per second for `--soak` seconds (the clock is
   advanced every 0.25 s, like a real run). RSS is sampled every 2 s once the pane's
   bounded buffer is full; goal: no growth (the last third's median within 5 MB of the
   first third's).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time

from _common import SimProcess, rss_mb
from _dashboard import dashboard, loaded, screen_of, wait_for
from bench_logs import MODEL, log_requests, new_run, release_when_streaming


async def floor_rss() -> float:
    from _floor_app import FloorApp

    app = FloorApp()
    async with app.run_test(headless=True, size=(160, 50)) as pilot:
        await pilot.pause()
        return rss_mb()[0]


async def measure(options: argparse.Namespace) -> None:
    with SimProcess("--seed", "large", "--clock", "manual") as sim:
        new_run(sim, "bench-memory", 200_000)
        async with dashboard(sim.url) as app:
            await loaded(app, 1000)
            screen = screen_of(app)
            before = log_requests(sim)
            screen.selected_task = "bench-memory"
            await wait_for(lambda: bool(screen.runs))
            screen.selected_run = next(iter(screen.runs))
            await release_when_streaming(sim, before)
            view = screen.log_pane.view
            await wait_for(lambda: bool(view.lines) and view.lines[-1].number >= 200_000)
            await asyncio.sleep(1.0)
            rss, peak = rss_mb()
            print(
                f"memory with 1,000 tasks and a 200,000-line log: RSS {rss:.0f} MB, peak "
                f"{peak:.0f} MB (goal <= 200 MB; {rss / 200:.2f}x of the goal)"
            )

            # -- soak -------------------------------------------------------------------
            soak, rate = options.soak, options.rate
            sim.call("add_task", slug="bench-soak")
            lines = int(rate * (soak + 30))
            sim.call(
                "add_run",
                slug="bench-soak",
                model=MODEL,
                log_lines=lines,
                queue_seconds=0.0,
                run_seconds=soak + 30.0,
                warm_log=True,
            )
            # Choose it the way a user does (cursor onto its row), once the poller shows it.
            table = screen.task_list.table
            await wait_for(lambda: "bench-soak" in table.rows)
            table.move_cursor(row=table.get_row_index("bench-soak"), animate=False)
            await wait_for(lambda: screen.selected_task == "bench-soak" and bool(screen.runs))
            await wait_for(
                lambda: (
                    screen.log_pane.view.lines == []
                    or screen.log_pane.view.lines[-1].number < 200_000
                )
            )
            # Fill the pane's bounded buffer before sampling: growth until then is expected.
            warm = view.max_lines / rate + 5
            samples: list[tuple[float, float]] = []
            start = time.perf_counter()
            next_sample = start + warm
            while (now := time.perf_counter()) - start < soak + warm:
                sim.call("advance", seconds=0.25)
                if now >= next_sample:
                    samples.append((now - start, rss_mb()[0]))
                    next_sample += 2.0
                await asyncio.sleep(0.25)
            shown = view.lines[-1].number if view.lines else 0
            before_collect = rss_mb()[0]
            thresholds = gc.get_threshold()
            gc.collect()
            after_collect = rss_mb()[0]
    third = max(1, len(samples) // 3)
    first = statistics.median(r for _, r in samples[:third])
    last = statistics.median(r for _, r in samples[-third:])
    growth = last - first
    print(
        f"soak {soak:.0f} s at {rate:,} lines/s ({shown:,} lines shown, {len(samples)} samples): "
        f"RSS first third {first:.1f} MB, last third {last:.1f} MB, growth {growth:+.1f} MB "
        f"(goal: no growth, |growth| <= 5 MB) -> {'met' if growth <= 5 else 'MISSED'}"
    )
    print(
        f"  at the end: RSS {before_collect:.1f} MB, {after_collect:.1f} MB after a full "
        f"collection (collector thresholds while running: {thresholds})"
    )
    if options.curve:
        with open(options.curve, "w") as out:
            json.dump({"samples": samples, "end": [before_collect, after_collect]}, out)
    reference = await floor_rss()
    print(f"reference: plain Textual app with a 1,000-row table, RSS {reference:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak", type=float, default=60.0, help="soak seconds (issue: 600)")
    parser.add_argument("--rate", type=int, default=2000, help="lines per second while soaking")
    parser.add_argument("--curve", help="write the soak's (seconds, RSS MB) samples as JSON")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
