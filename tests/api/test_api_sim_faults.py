"""Injected faults: retries are bounded, safe for writes, and the outcome is identical."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from api_helpers import FakeSleep

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import ProtocolError, RateLimitedError, ServerError
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.notebook import make_notebook
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

TASK_CODE = 'import kaggle_benchmarks as kbench\n\n@kbench.task(name="T")\ndef t(llm):\n    pass\n'


@contextmanager
def demo_sim_with(faults: list[str]) -> Iterator[RunningSim]:
    running = start_sim(SimConfig(seed="demo", faults=faults), clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


class Counted:
    """A client whose requests are counted, sleeping only in `sleep.delays`."""

    def __init__(self, sim: RunningSim, attempts: int = 8) -> None:
        self.sleep = FakeSleep()
        self.retries: list[tuple[int, float, str]] = []
        self.client = BenchmarksClient(
            sim.url,
            Credentials.token("demo-token", source="test"),
            retry=RetryPolicy(max_attempts=attempts, base=0.5, cap=8.0),
            sleep=self.sleep,
            on_retry=lambda n, d, e: self.retries.append((n, d, type(e).__name__)),
        )
        self.requests: list[httpx.Request] = []

        async def record(request: httpx.Request) -> None:
            self.requests.append(request)

        self.client.http.event_hooks["request"].append(record)


async def snapshot(client: BenchmarksClient) -> dict[str, Any]:
    """Everything a dashboard shows, as wire JSON, for comparing clean and faulty runs."""
    tasks = await client.list_all_tasks()
    runs = {
        t.slug.task_slug: [r.to_wire() for r in await client.list_all_runs(t.slug)] for t in tasks
    }
    models = [m.to_wire() for m in await client.list_all_models()]
    return {"tasks": [t.to_wire() for t in tasks], "runs": runs, "models": models}


async def clean_snapshot() -> tuple[dict[str, Any], int]:
    """The snapshot of a fault-free simulator with the same seed, and its request count."""
    with demo_sim_with([]) as clean:
        counted = Counted(clean)
        async with counted.client:
            return await snapshot(counted.client), len(counted.requests)


@pytest.mark.parametrize(
    "faults",
    [
        ["status=503,rate=0.25"],
        ["status=429,rate=0.15,retry-after=1"],
        ["malformed-json,rate=0.2"],
        ["latency=5ms"],
        [
            "status=503,rate=0.25",
            "status=429,rate=0.15,retry-after=1",
            "malformed-json,rate=0.1",
            "latency=1ms",
        ],
    ],
)
async def test_reads_under_faults_give_the_clean_answer(faults: list[str]) -> None:
    expected, clean_requests = await clean_snapshot()
    with demo_sim_with(faults) as sim:
        counted = Counted(sim)
        async with counted.client:
            assert await snapshot(counted.client) == expected
    # Every extra request is an announced retry, and each retry waited first.
    assert len(counted.requests) == clean_requests + len(counted.retries)
    assert len(counted.sleep.delays) == len(counted.retries)
    if not faults[0].startswith("latency"):
        assert counted.retries, "the fault should have fired at least once"
    if any("retry-after=1" in f for f in faults):
        assert any(delay == 1.0 for _, delay, kind in counted.retries if kind == "RateLimitedError")


async def test_persistent_503_is_bounded_for_reads_and_writes() -> None:
    with demo_sim_with(["status=503,rate=1"]) as sim:
        counted = Counted(sim, attempts=4)
        async with counted.client:
            with pytest.raises(ServerError) as caught:
                await counted.client.list_tasks()
            assert len(counted.requests) == 4 and len(counted.sleep.delays) == 3
            assert "try again" in str(caught.value)
            # 503 is injected before the handler runs: the server cannot have acted, so a
            # create is retried too, and after giving up nothing was created.
            counted.requests.clear()
            with pytest.raises(ServerError):
                await counted.client.create_task("new-task", make_notebook(TASK_CODE))
            assert len(counted.requests) == 4
        sim.set_faults([])
        async with BenchmarksClient(sim.url, Credentials.token("demo-token")) as check:
            slugs = {t.slug.task_slug for t in await check.list_all_tasks()}
        assert "new-task" not in slugs


async def test_persistent_429_honours_retry_after_then_gives_up() -> None:
    with demo_sim_with(["status=429,rate=1,retry-after=1"]) as sim:
        counted = Counted(sim, attempts=3)
        async with counted.client:
            with pytest.raises(RateLimitedError) as caught:
                await counted.client.schedule_runs("what-is-kaggle", ["gemini-2.5-pro"])
        assert counted.sleep.delays == [1.0, 1.0]
        assert caught.value.retry_after == 1.0 and len(counted.requests) == 3


async def test_500_on_a_write_is_not_repeated_but_reads_are() -> None:
    with demo_sim_with(["status=500,rate=1"]) as sim:
        counted = Counted(sim, attempts=3)
        async with counted.client:
            with pytest.raises(ServerError):
                await counted.client.publish_task("what-is-kaggle")
            assert len(counted.requests) == 1  # a 500 may mean the write happened
            with pytest.raises(ServerError):
                await counted.client.get_task("what-is-kaggle")
            assert len(counted.requests) == 4


async def test_malformed_answer_to_a_write_is_reported_not_repeated() -> None:
    with demo_sim_with(["malformed-json,rate=1"]) as sim:
        counted = Counted(sim, attempts=3)
        async with counted.client:
            with pytest.raises(ProtocolError):
                await counted.client.create_task("fresh-task", make_notebook(TASK_CODE))
        assert len(counted.requests) == 1
        sim.set_faults([])
        # The server did act: repeating the create would have made a second version.
        async with BenchmarksClient(sim.url, Credentials.token("demo-token")) as check:
            assert (await check.get_task("fresh-task")).slug.version_number == 1
