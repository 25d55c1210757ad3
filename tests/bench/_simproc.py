"""A simulator in its own process that the benchmarks can steer (not a benchmark itself).

The simulator must not share the measured process's interpreter (the GIL would make the
dashboard pay for the server's work), yet a benchmark needs the engine's hooks: runs with
200,000 log lines, 10,000 tasks, a clock it moves by hand, the request counter. This
script starts `start_sim` and then answers one JSON command per stdin line with one JSON
line on stdout:

    {"op": "add_run", "slug": ..., "model": ..., "log_lines": N, ...}  -> {"run_id": N}
    {"op": "add_task", "slug": ...}                 -> {}   (COMPLETED at once, newest)
    {"op": "add_tasks", "count": N}                 -> {"slugs": [first, last]} (bulk insert)
    {"op": "advance", "seconds": S}                 -> {}   (manual clock only)
    {"op": "requests"}                              -> {"total": N, "by_method": {...}}
    {"op": "faults", "specs": ["latency=50ms"]}     -> {}
    {"op": "quit"}

Usage: python _simproc.py --seed large [--clock manual|real] [--speed S] [--fault SPEC]
The first stdout line is {"url": "http://127.0.0.1:PORT"}.
"""

from __future__ import annotations

import argparse
import json
import sys

from kbench_tui.sim.clock import ManualClock, ScaledClock
from kbench_tui.sim.notebook import analyse, make_notebook
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

_CODE = (
    "import kaggle_benchmarks as kbench\n\n"
    '@kbench.task(name="Bulk task")\n'
    "def bulk_task(llm) -> float:\n"
    '    return 1.0 if "4" in llm.prompt("2+2?") else 0.0\n\n'
    "bulk_task.run(llm=kbench.llm)\n"
)


def add_tasks(sim: RunningSim, count: int) -> list[str]:
    """`count` COMPLETED tasks in one transaction (10,000 through the API would take minutes)."""
    store, owner, now = sim.store, sim.config.default_user, sim.clock.time()
    text = make_notebook(_CODE)
    found = analyse(text, "Bulk task")
    task_id, version_id, _ = store.max_ids()
    tasks, versions = [], []
    for index in range(1, count + 1):
        task_id += 1
        version_id += 1
        slug = f"bulk-{index:05d}"
        tasks.append((task_id, owner, slug, 1, 0, 0))
        versions.append(
            (
                version_id,
                task_id,
                1,
                text,
                f"Bulk {index:05d}",
                found.definition,
                now - 10_000_000 + index,
                1.0,
                "COMPLETED",
                None,
                "[]",
            )
        )
    store.bulk_load(tasks, versions, [])
    return [tasks[0][2], tasks[-1][2]] if tasks else []


def answer(sim: RunningSim, command: dict) -> dict:
    op = command["op"]
    if op == "add_run":
        run_id = sim.engine.add_run(
            sim.config.default_user,
            command["slug"],
            command["model"],
            log_lines=command.get("log_lines"),
            output_padding=command.get("output_padding", 0),
            outcome=command.get("outcome", "COMPLETED"),
            queue_seconds=command.get("queue_seconds", 0.0),
            run_seconds=command.get("run_seconds"),
        )
        if command.get("warm_log"):
            # Generate (and cache) the log now, so the measured stream does not wait for it.
            row = sim.store.get_run(run_id)
            assert row is not None
            sim.engine.run_log(row)
        return {"run_id": run_id}
    if op == "add_task":
        sim.engine.add_task(sim.config.default_user, command["slug"])
        return {}
    if op == "add_tasks":
        return {"slugs": add_tasks(sim, int(command["count"]))}
    if op == "advance":
        sim.clock.advance(float(command["seconds"]))
        return {}
    if op == "requests":
        counts = dict(sim.state.requests)
        return {"total": sum(counts.values()), "by_method": counts}
    if op == "faults":
        sim.set_faults(list(command["specs"]))
        return {}
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", default="large")
    parser.add_argument("--clock", choices=("manual", "real"), default="real")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--fault", action="append", default=[])
    options = parser.parse_args()
    config = SimConfig(seed=options.seed, port=0, speed=options.speed, faults=options.fault)
    clock = ManualClock() if options.clock == "manual" else ScaledClock(options.speed)
    sim = start_sim(config, clock=clock)
    print(json.dumps({"url": sim.url}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                break
            try:
                reply = answer(sim, command)
            except (ValueError, KeyError) as error:
                reply = {"error": str(error)}
            print(json.dumps(reply), flush=True)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
