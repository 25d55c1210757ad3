"""The push pipeline against the simulator: new task, new version, pending, datasets, waiting."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.config import Credentials
from kbench_tui.push import (
    PollPolicy,
    PushError,
    PushOutcome,
    PushStatus,
    absolute_task_url,
    adaptive_intervals,
    push_task,
)
from kbench_tui.sim.runner import RunningSim
from kbench_tui.taskfile import PushPlan, validate_push

TASK_FILE = """# %%
import kaggle_benchmarks as kbench

# %%
@kbench.task(name="My Task")
def my_task(llm):
    kbench.assertions.assert_true(True)

# %%
my_task.run(kbench.llm)
"""


def test_adaptive_intervals_are_the_clis() -> None:
    assert list(itertools.islice(adaptive_intervals(60), 10)) == [
        5,
        7,
        10,
        15,
        22,
        33,
        49,
        60,
        60,
        60,
    ]
    assert list(itertools.islice(adaptive_intervals(1), 3)) == [1, 1, 1]
    assert list(itertools.islice(adaptive_intervals(2), 3)) == [2, 2, 2]
    assert list(itertools.islice(adaptive_intervals(0.5), 3)) == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="--poll-interval must be a positive integer"):
        PollPolicy(interval_cap=0)


def test_absolute_url_and_model_output_url() -> None:
    assert absolute_task_url("/benchmarks/tasks/demo/x/3") == (
        "https://www.kaggle.com/benchmarks/tasks/demo/x/3"
    )
    assert absolute_task_url("https://example.org/t") == "https://example.org/t"
    outcome = PushOutcome(
        "x", 3, "QUEUED", "https://www.kaggle.com/benchmarks/tasks/demo/x/3", True
    )
    assert outcome.model_output_url == "https://www.kaggle.com/benchmarks/tasks/demo/x?compare=true"


@pytest.fixture
def plan(tmp_path: Path) -> PushPlan:
    path = tmp_path / "task.py"
    path.write_text(TASK_FILE)
    return validate_push("My Task", path)


@pytest.fixture
async def api(sim: RunningSim) -> AsyncIterator[BenchmarksClient]:
    async with BenchmarksClient(sim.url, Credentials.token("demo-token")) as client:
        yield client


class SimTime:
    """Sleep by moving the simulator's clock; record every sleep."""

    def __init__(self, sim: RunningSim) -> None:
        self.sim = sim
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sim.clock.advance(seconds)

    def policy(self, timeout: float | None = None, cap: float = 60) -> PollPolicy:
        return PollPolicy(
            interval_cap=cap, timeout=timeout, sleep=self.sleep, clock=self.sim.clock.time
        )


async def test_first_push_creates_the_task(api: BenchmarksClient, plan: PushPlan) -> None:
    statuses: list[PushStatus] = []
    outcome = await push_task(api, plan, wait=False, on_status=statuses.append)
    assert outcome.is_new and outcome.version == 1 and outcome.state == "QUEUED"
    assert outcome.url == "https://www.kaggle.com/benchmarks/tasks/demo/my-task/1"
    assert outcome.headline == "Pushed my-task"
    assert outcome.notes == [
        "⚠ Warning: task name 'My Task' was normalized to slug 'my-task'.\n"
        "  Use 'my-task' in future commands."
    ]
    assert [s.phase for s in statuses] == ["checking", "creating", "done"]
    # §10.2 step 7: the new version is visible at once, as QUEUED.
    created = await api.get_task("my-task")
    assert created.slug.version_number == 1 and created.creation_state.short == "QUEUED"


async def test_push_and_wait_polls_adaptively_until_completed(
    api: BenchmarksClient, plan: PushPlan, sim: RunningSim
) -> None:
    time = SimTime(sim)
    statuses: list[PushStatus] = []
    outcome = await push_task(api, plan, wait=True, on_status=statuses.append, poll=time.policy())
    assert outcome.state == "COMPLETED" and not outcome.failed and not outcome.timed_out
    assert time.sleeps == list(itertools.islice(adaptive_intervals(60), len(time.sleeps)))
    building = [s.state for s in statuses if s.phase == "building"]
    assert building and set(building) <= {"QUEUED", "RUNNING"}
    assert statuses[-1] == PushStatus("done", "Pushed my-task", "COMPLETED")


async def test_repush_while_building_is_refused_with_the_clis_words(
    api: BenchmarksClient, plan: PushPlan
) -> None:
    await push_task(api, plan)
    with pytest.raises(PushError) as error:
        await push_task(api, plan)
    assert str(error.value) == (
        "Task 'my-task' creation is still pending. Run again with the --wait flag to wait for "
        "completion."
    )


async def test_repush_with_wait_waits_for_the_previous_version(
    api: BenchmarksClient, plan: PushPlan, sim: RunningSim
) -> None:
    time = SimTime(sim)
    await push_task(api, plan)
    statuses: list[PushStatus] = []
    outcome = await push_task(
        api, plan, wait=True, on_status=statuses.append, poll=time.policy(cap=2)
    )
    assert not outcome.is_new and outcome.version == 2 and outcome.state == "COMPLETED"
    assert outcome.headline == "Pushed new version of my-task"
    assert outcome.url.endswith("/my-task/2")
    phases = [s.phase for s in statuses]
    assert phases.index("waiting-previous") < phases.index("creating")
    assert set(time.sleeps) == {2}


async def test_datasets_are_attached_and_a_repush_without_them_warns(
    api: BenchmarksClient, plan: PushPlan, sim: RunningSim
) -> None:
    time = SimTime(sim)
    first = await push_task(
        api, plan, datasets=["alice/qa-pairs", "bob/extra"], wait=True, poll=time.policy()
    )
    assert first.datasets == ["alice/qa-pairs", "bob/extra"] and first.warnings == []
    second = await push_task(api, plan, wait=True, poll=time.policy())
    assert second.datasets == []
    assert second.warnings == [
        "⚠ Warning: The previous version of 'my-task' had attached Kaggle datasets: "
        "alice/qa-pairs, bob/extra\n"
        "  Re-pushing without --kaggle-dataset / -d will detach them.\n"
        "  To keep them, add: -d alice/qa-pairs -d bob/extra"
    ]
    third = await push_task(api, plan, datasets=["alice/qa-pairs"], wait=True, poll=time.policy())
    assert third.warnings == [] and third.datasets == ["alice/qa-pairs"]


async def test_failed_build_is_an_outcome_with_the_clis_message(
    api: BenchmarksClient, sim: RunningSim
) -> None:
    broken = PushPlan("broken", "broken.py", "# %%\nx = (\n", "broken", "broken", ["broken"])
    outcome = await push_task(api, broken, wait=True, poll=SimTime(sim).policy())
    assert outcome.failed and outcome.state == "ERRORED"
    assert outcome.error is not None
    assert outcome.error.startswith("Task 'broken' creation failed (status: ERRORED).\n  Error: ")
    assert "SyntaxError" in outcome.error


async def test_wait_with_timeout_reports_it(
    api: BenchmarksClient, plan: PushPlan, sim: RunningSim
) -> None:
    time = SimTime(sim)
    outcome = await push_task(api, plan, wait=True, poll=time.policy(timeout=3, cap=1))
    assert outcome.timed_out and outcome.state in ("QUEUED", "RUNNING")
    assert not outcome.failed
    assert outcome.notes[-1] == (
        "Timed out after 3s waiting for task creation.\nCheck status with: kaggle b t status my-task"
    )


async def test_a_name_without_a_slug_is_refused_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "t.py"
    path.write_text('@task(name="!!!")\ndef bang(llm):\n    pass\n')
    plan = validate_push("!!!", path)

    class NoNetwork:
        async def get_task(self, *args: object) -> None:
            raise AssertionError("no request expected")

        create_task = get_task

    with pytest.raises(PushError, match="has no slug"):
        await push_task(NoNetwork(), plan)  # type: ignore[arg-type]
