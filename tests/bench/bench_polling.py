"""Benchmark: polling cost in requests per minute (issue 8, item 4).

Run on demand:  python tests/bench/bench_polling.py [--minutes 15] [--seed large]

The dashboard's `Poller` with the real client, against a simulator in its own process
whose request counter is read before and after. Time is injected: the poller's clock and
sleep are virtual, so 15 minutes of polling run in seconds (each request is still a
real HTTP round trip). Two scenarios on the same seed, one task selected:

1. nothing changing (every run and build finished): requests per minute once backed
   off (the last two thirds of the window) — goal <= 4/min;
2. 8 runs active on the selected task: requests per minute — goal <= 60/min.

`--seed large` (1,000 tasks: the task list takes 10 pages) and `--seed demo` (a dozen
tasks: one page) show how the cost scales with the size of the account.
"""

from __future__ import annotations

import argparse
import asyncio

from _common import EIGHT_MODELS, TOKEN, SimProcess

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.config import Credentials
from kbench_tui.watch.poller import Poller

MODELS = EIGHT_MODELS


class VirtualTime:
    """The poller's clock and sleep: sleeping moves the clock, no real waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def requests_per_minute(sim: SimProcess, slug: str, minutes: float) -> float:
    """Requests per minute over the last two thirds of `minutes` of virtual polling."""
    time = VirtualTime()
    credentials = Credentials.token(TOKEN, source="bench")
    async with BenchmarksClient(sim.url, credentials) as client:
        poller = Poller(client, lambda event: None, clock=time.clock, sleep=time.sleep)
        poller.select_task(slug)
        task = asyncio.ensure_future(poller.run())
        settle = minutes * 60 / 3
        while time.now < settle:
            await asyncio.sleep(0.001)
        start_requests, start_time = sim.requests(), time.now
        while time.now < minutes * 60:
            await asyncio.sleep(0.001)
        end_requests, end_time = sim.requests(), time.now
        task.cancel()
    return (end_requests - start_requests) / ((end_time - start_time) / 60)


async def measure(options: argparse.Namespace) -> None:
    with SimProcess("--seed", options.seed, "--clock", "manual") as sim:
        sim.call("add_task", slug="bench-poll")
        sim.call("advance", seconds=10 * 3600)  # every seeded build and run has finished
        for model in MODELS[:1]:
            sim.call("add_run", slug="bench-poll", model=model, run_seconds=1.0)
        sim.call("advance", seconds=60)
        quiet = await requests_per_minute(sim, "bench-poll", options.minutes)
        print(
            f"polling, nothing changing ({options.seed} seed): {quiet:.1f} requests/min "
            f"(goal <= 4; {quiet / 4:.2f}x of the goal)"
        )
        sim.call("add_task", slug="bench-poll-active")
        for model in MODELS:
            sim.call("add_run", slug="bench-poll-active", model=model, run_seconds=1e6)
        active = await requests_per_minute(sim, "bench-poll-active", options.minutes)
        print(
            f"polling, 8 runs active ({options.seed} seed): {active:.1f} requests/min "
            f"(goal <= 60; {active / 60:.2f}x of the goal)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seed", choices=("large", "demo", "empty"), default="large")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
