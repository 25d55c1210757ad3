"""Benchmark: a 200,000-line live log into the log pane (issue 8, item 2).

Run on demand:  python tests/bench/bench_logs.py [--repetitions 3] [--lines 200000]
                                                [--refresh-method]

The simulator (own process, `--seed large`, clock moved by hand) holds a RUNNING run whose
log has `--lines` lines, none of them due yet. Once a client has opened the stream, the
clock jumps past the run's end and the simulator sends the whole log over SSE as fast as
it can. Timed from that jump:

- ours: the dashboard (headless, 1,000 tasks loaded) following the run in its log pane,
  until the last line is in the pane — lines/s ingested (goal >= 50,000/s). Meanwhile a
  key is pressed every 50 ms in the log (`k` scrolls up and pauses, `G` follows again)
  and the time from the key to the end of the frame that shows its effect is recorded
  (`--refresh-method`: the pre-2026-12-02 way, see _dashboard.py) — goal: p99 < 100 ms. (Also
  shown without each run's first key: focusing the log just before it makes the footer
  rebuild its keys, and that lands in the first key's time.)
- reference: `kaggle b t log TASK` (the real CLI 2.2.4) printing the same stream to
  /dev/null, until it exits — goal: our ingest time <= 1.5x the CLI's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from _common import SimProcess, clean_env, kaggle_cli, percentile
from _dashboard import dashboard, key_to_effect, loaded, screen_of, wait_for

LOGS_RPC = "GetBenchmarkTaskRunLogs"
MODEL = "gemini-2.5-flash"


def log_requests(sim: SimProcess) -> int:
    return int(sim.call("requests")["by_method"].get(LOGS_RPC, 0))


def new_run(sim: SimProcess, slug: str, lines: int) -> int:
    """A fresh task with one RUNNING run of `lines` lines, its log pre-generated."""
    sim.call("add_task", slug=slug)
    return int(
        sim.call(
            "add_run",
            slug=slug,
            model=MODEL,
            log_lines=lines,
            queue_seconds=0.0,
            run_seconds=100.0,
            warm_log=True,
        )["run_id"]
    )


async def release_when_streaming(sim: SimProcess, before: int) -> float:
    """Once the log request arrived and its stream is open, end the run; returns the time."""
    await wait_for(lambda: log_requests(sim) > before, timeout=60)
    await asyncio.sleep(0.3)  # the answer's headers are out; the stream waits on the clock
    sim.call("advance", seconds=200.0)
    return time.perf_counter()


async def ours(
    sim: SimProcess,
    slug: str,
    lines: int,
    latencies: list[float],
    later: list[float] | None = None,
    frame_method: bool = True,
) -> float:
    """Seconds from release to the last line in the pane; key latencies appended.

    `later` gets the latencies of all keys but the run's first.
    """
    async with dashboard(sim.url) as app:
        await loaded(app, 1000)
        screen = screen_of(app)
        before = log_requests(sim)
        screen.selected_task = slug
        await wait_for(lambda: bool(screen.runs))
        screen.selected_run = next(iter(screen.runs))
        released = await release_when_streaming(sim, before)
        view = screen.log_pane.view

        def ingested() -> bool:
            return bool(view.lines) and view.lines[-1].number >= lines

        # Keys act on a log that can scroll: wait for the first screenful of lines.
        await wait_for(lambda: len(view.lines) > 2 * view.size.height)
        view.focus()
        await wait_for(lambda: app.focused is view)
        keys = ("k", "G")
        presses = 0
        while not ingested():
            key = keys[presses % 2]
            wanted = key == "G"
            latency = await key_to_effect(
                app,
                key,
                lambda w=wanted: view.following is w,
                painted=view if frame_method else None,
            )
            latencies.append(latency)
            if presses and later is not None:
                later.append(latency)
            presses += 1
            await asyncio.sleep(0.05)
        done = await wait_for(ingested)
        return done - released


async def cli(sim: SimProcess, slug: str, env: dict[str, str]) -> float:
    before = log_requests(sim)
    process = subprocess.Popen(
        kaggle_cli("b", "t", "log", slug),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    released = await release_when_streaming(sim, before)
    _, stderr = await asyncio.to_thread(process.communicate)
    done = time.perf_counter()
    if process.returncode != 0:
        raise RuntimeError(f"kaggle b t log failed: {stderr[-500:]!r}")
    return done - released


async def measure(options: argparse.Namespace) -> None:
    with SimProcess("--seed", "large", "--clock", "manual") as sim:
        env = clean_env(sim.url)
        mine, theirs, latencies, later = [], [], [], []
        for repetition in range(options.repetitions):
            slug = f"bench-log-{repetition}"
            new_run(sim, slug, options.lines)
            mine.append(
                await ours(sim, slug, options.lines, latencies, later, not options.refresh_method)
            )
            slug = f"bench-cli-{repetition}"
            new_run(sim, slug, options.lines)
            theirs.append(await cli(sim, slug, env))
            print(f"  repetition {repetition + 1}: ours {mine[-1]:.2f} s, CLI {theirs[-1]:.2f} s")
    ours_s, cli_s = statistics.median(mine), statistics.median(theirs)
    lines = options.lines
    print(
        f"log ingest of {lines:,} lines: ours {ours_s:.2f} s = {lines / ours_s:,.0f} lines/s "
        f"(goal >= 50,000/s)"
    )
    print(
        f"log ingest vs `kaggle b t log` to /dev/null: ours {ours_s:.2f} s, reference "
        f"{cli_s:.2f} s, ratio {ours_s / cli_s:.2f}x (goal <= 1.50x)"
    )
    print(
        f"key to effect while streaming ({len(latencies)} presses): median "
        f"{1000 * statistics.median(latencies):.1f} ms, p99 "
        f"{1000 * percentile(latencies, 0.99):.1f} ms, max {1000 * max(latencies):.1f} ms "
        f"(goal p99 < 100 ms)"
    )
    if later:
        print(
            f"  without each run's first key ({len(later)} presses): median "
            f"{1000 * statistics.median(later):.1f} ms, p99 "
            f"{1000 * percentile(later, 0.99):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument(
        "--refresh-method",
        action="store_true",
        help="time keys the pre-2026-12-02 way (effect polled, then a refresh round trip)",
    )
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
