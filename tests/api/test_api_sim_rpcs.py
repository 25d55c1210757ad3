"""The client against the simulator: every RPC, auth, pagination (clock advanced by hand)."""

from __future__ import annotations

import pytest
from api_helpers import FakeSleep

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import AuthError, BadRequestError, NotFoundError
from kbench_tui.api.models import CreationState, RunState
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.sim.notebook import make_notebook
from kbench_tui.sim.runner import RunningSim
from kbench_tui.slugs import TaskRef

TASK_CODE = """import kaggle_benchmarks as kbench

@kbench.task(name="My Task")
def my_task(llm):
    assert llm.prompt("2+2?") == "4"
"""


def make_client(
    sim: RunningSim, token: str = "demo-token", sleep: FakeSleep | None = None
) -> BenchmarksClient:
    """A client for a simulator user that never sleeps for real."""
    return BenchmarksClient(
        sim.url,
        Credentials.token(token, source="test"),
        retry=RetryPolicy(max_attempts=3),
        sleep=sleep or FakeSleep(),
    )


async def test_push_build_publish_lifecycle(sim: RunningSim) -> None:
    async with make_client(sim) as client:
        created = await client.create_task("my-task", make_notebook(TASK_CODE), ["demo/qa-pairs"])
        assert created.slug.task_slug == "my-task" and created.slug.version_number == 1
        assert created.creation_state is CreationState.QUEUED
        assert created.options is not None
        assert created.options.dataset_data_sources == ["demo/qa-pairs"]
        sim.clock.advance(sim.config.build_seconds + 1)
        task = await client.get_task("My Task")
        assert task.creation_state is CreationState.COMPLETED and task.creation_state.is_ready
        again = await client.create_task("my-task", make_notebook(TASK_CODE))
        assert again.slug.version_number == 2
        assert (await client.get_task("my-task", version=1)).slug.version_number == 1
        sim.clock.advance(sim.config.build_seconds + 1)
        published = await client.publish_task("demo/my-task")
        assert published.is_public is True
        assert (await client.get_task(TaskRef("my-task", "demo"))).is_public is True


async def test_broken_notebook_fails_its_build(sim: RunningSim) -> None:
    async with make_client(sim) as client:
        await client.create_task("broken", make_notebook("def (:\n"))
        sim.clock.advance(sim.config.build_seconds + 1)
        task = await client.get_task("broken")
        assert task.creation_state.is_failed
        assert task.creation_error_message


async def test_list_filters_and_all_pages(sim: RunningSim) -> None:
    for number in range(45):
        sim.engine.add_task("demo", f"bulk-{number:02d}")
    sim.engine.add_task("demo", "other-task", build_seconds=100)
    async with make_client(sim) as client:
        first = await client.list_tasks()
        assert first.next_page_token and len(first.tasks) < 46  # several pages exist
        everything = await client.list_all_tasks()
        assert len(everything) == 46
        assert len({t.slug.task_slug for t in everything}) == 46
        matching = await client.list_all_tasks(regex="^bulk-4")
        assert sorted(t.slug.task_slug for t in matching) == [f"bulk-4{n}" for n in range(5)]
        queued = await client.list_all_tasks(status="queued")
        assert [t.slug.task_slug for t in queued] == ["other-task"]


async def test_runs_schedule_progress_and_filters(sim: RunningSim) -> None:
    sim.engine.add_task("demo", "my-task")
    async with make_client(sim) as client:
        models = ["google/gemini-2.5-flash", "anthropic/claude-sonnet-4-6@default"]
        scheduled = await client.schedule_runs("my-task", models)
        assert [r.run_scheduled for r in scheduled.results] == [True, True]
        again = await client.schedule_runs("my-task", models[:1])
        assert not again.results[0].run_scheduled and again.results[0].run_skipped_reason
        runs = await client.list_all_runs("my-task")
        assert sorted(r.model for r in runs) == ["claude-sonnet-4-6-default", "gemini-2.5-flash"]
        assert {r.state for r in runs} == {RunState.QUEUED}
        sim.clock.advance(sim.config.queue_seconds + 1)
        assert {r.state for r in await client.list_all_runs("my-task")} == {RunState.RUNNING}
        sim.clock.advance(sim.config.run_seconds + 1)
        finished = await client.list_all_runs(
            "my-task", models=["anthropic/claude-sonnet-4-6@default"]
        )
        assert len(finished) == 1 and finished[0].state.is_terminal
        assert finished[0].start_time is not None and finished[0].end_time is not None
        with pytest.raises(NotFoundError):
            await client.schedule_runs("my-task", ["no-such-model-xyz"])


async def test_catalogue_quota_token_and_proxy(sim: RunningSim) -> None:
    async with make_client(sim) as client:
        models = await client.list_all_models()
        assert len(models) >= 40
        assert len({m.version_slug for m in models}) == len(models)
        assert all(m.display_name and m.version for m in models)
        quota = await client.get_quota()
        assert quota.total_daily_quota_allowed > 0 and quota.daily_quota_used >= 0
        me = await client.introspect_token("demo-token")
        assert me.active and me.username == "demo"
        stranger = await client.introspect_token("not-a-token")
        assert not stranger.active
        proxy = await client.create_model_proxy_token()
        assert proxy.token and proxy.base_uri and proxy.expiry_time is not None


async def test_leaderboard(sim: RunningSim) -> None:
    sim.engine.add_task("demo", "math-qa")
    run_id = sim.engine.add_run("demo", "math-qa", "gemini-2.5-flash", outcome="COMPLETED")
    sim.store.put_benchmark("demo", "suite", 1, [("demo", "math-qa")])
    sim.clock.advance(3600)
    assert sim.engine.run_state(run_id) == "COMPLETED"
    async with make_client(sim) as client:
        board = await client.get_leaderboard("demo", "suite")
        assert [row.model_version_slug for row in board.rows] == ["gemini-2.5-flash"]
        cell = board.rows[0].task_results[0]
        assert cell.benchmark_task_slug == "math-qa" and cell.result is not None
        with pytest.raises(NotFoundError):
            await client.get_leaderboard("demo", "suite", version=9)


async def test_not_found_and_other_users_private_tasks(sim: RunningSim) -> None:
    sim.engine.add_task("alice", "secret-task")
    async with make_client(sim) as client:
        with pytest.raises(NotFoundError):
            await client.get_task("no-such-task")
        with pytest.raises(NotFoundError):
            await client.get_task("alice/secret-task")
    async with make_client(sim, token="alice-token") as alice:
        assert (await alice.get_task("secret-task")).slug.owner_slug == "alice"


async def test_bad_credentials_are_rejected_without_retries(sim: RunningSim) -> None:
    sleep = FakeSleep()
    async with make_client(sim, token="wrong-token-canary", sleep=sleep) as client:
        with pytest.raises(AuthError) as caught:
            await client.list_tasks()
    assert "wrong-token-canary" not in str(caught.value) and sleep.delays == []
    async with BenchmarksClient(sim.url, None, sleep=FakeSleep()) as anonymous:
        with pytest.raises(AuthError):
            await anonymous.get_quota()


async def test_basic_auth_works(sim: RunningSim) -> None:
    async with BenchmarksClient(sim.url, Credentials.basic("demo", "demo-token")) as client:
        assert (await client.get_quota()).total_daily_quota_allowed > 0


async def test_pushing_while_a_version_is_pending_is_refused(sim: RunningSim) -> None:
    async with make_client(sim) as client:
        await client.create_task("my-task", make_notebook(TASK_CODE))
        with pytest.raises(BadRequestError):
            await client.create_task("my-task", make_notebook(TASK_CODE))
