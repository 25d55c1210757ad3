"""Benchmark: the task list at 10,000 tasks — scroll and filter latency (issue 8, item 5).

Run on demand:  python tests/bench/bench_list.py [--tasks 10000] [--presses 100]

The dashboard (headless, in-process) against a simulator (own process) holding 10,000
extra tasks on top of `--seed large`. Key to effect-on-screen (see `_dashboard.py`):

- scroll: `j` / `k` / `pagedown` in the task list, effect = the cursor row moved;
- filter: `/` then typing `bulk-0012` one key at a time, effect = the list filtered by
  the text typed so far; then `escape` (effect: every task back).

Each time ends with the frame that paints the effect (the table, or the filter field for
`/`).

Goal: p99 < 100 ms for each kind.

The keys follow each other as soon as the previous one's effect is painted, like a held
key: the task list announces the task under the cursor to the dashboard (which switches
the runs and log panes) at once for the first move and then once the cursor rests
(`TaskList.SETTLE`), so most keys here measure the list itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from _common import SimProcess, percentile
from _dashboard import dashboard, key_to_effect, loaded, screen_of, wait_for
from textual.widgets import Input


def summary(name: str, latencies: list[float]) -> None:
    p99 = percentile(latencies, 0.99)
    print(
        f"{name} ({len(latencies)} keys): median {1000 * statistics.median(latencies):.1f} ms, "
        f"p99 {1000 * p99:.1f} ms (goal p99 < 100 ms) -> {'met' if p99 < 0.1 else 'MISSED'}"
    )


async def measure(options: argparse.Namespace) -> None:
    with SimProcess("--seed", "large", "--clock", "manual") as sim:
        sim.call("add_tasks", count=options.tasks)
        total = options.tasks + 1000
        async with dashboard(sim.url) as app:
            await loaded(app, total)
            screen = screen_of(app)
            task_list = screen.task_list
            table = task_list.table
            task_list.focus_table()
            await wait_for(lambda: app.focused is table)
            scroll: list[float] = []
            for press in range(options.presses):
                key = ("j", "j", "pagedown", "k")[press % 4]
                row = table.cursor_row
                scroll.append(
                    await key_to_effect(
                        app, key, lambda r=row: table.cursor_row != r, painted=table
                    )
                )
            summary(f"scroll {total:,} tasks", scroll)

            field = task_list.query_one("#task-filter", Input)
            filtering: list[float] = []
            for _ in range(max(1, options.presses // 20)):
                filtering.append(
                    await key_to_effect(
                        app, "slash", lambda: app.focused is field, char="/", painted=field
                    )
                )
                typed = ""
                for char in "bulk-0012":
                    typed += char
                    key = "minus" if char == "-" else char
                    filtering.append(
                        await key_to_effect(
                            app,
                            key,
                            lambda t=typed: (
                                task_list.pattern is not None and task_list.pattern.pattern == t
                            ),
                            char=char,
                            painted=table,
                        )
                    )
                filtering.append(
                    await key_to_effect(
                        app, "escape", lambda: table.row_count == total, painted=table
                    )
                )
            summary(f"filter {total:,} tasks", filtering)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=100)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
