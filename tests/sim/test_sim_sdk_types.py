"""Every simulator response parses with kagglesdk 0.1.37's own types and round-trips.

`Type.from_json(body).to_dict()` is what kagglesdk would send for the same object; it must
equal our body, except for default values kagglesdk omits (we send some on purpose, e.g.
`"tasks": []`). A key kagglesdk does not know would be dropped and fail the comparison,
so this also proves we invent no fields.
"""

from __future__ import annotations

import httpx
import pytest
from kagglesdk.benchmarks.types.benchmark_tasks_api_service import (
    ApiBatchScheduleBenchmarkTaskRunsResponse,
    ApiBenchmarkTask,
    ApiGetBenchmarkTaskQuotaResponse,
    ApiListBenchmarkTaskRunsResponse,
    ApiListBenchmarkTasksResponse,
)
from kagglesdk.benchmarks.types.benchmarks_api_service import (
    ApiBenchmarkLeaderboard,
    ApiListBenchmarkModelsResponse,
)
from kagglesdk.models.types.model_proxy_api_service import ApiCreateDefaultModelProxyTokenResponse
from kagglesdk.security.types.oauth_service import IntrospectTokenResponse
from sim_helpers import GOOD_NOTEBOOK, Rpc

from kbench_tui.sim.runner import RunningSim

DEFAULTS = (0, 0.0, False, "", [], None)


def assert_same(ours: object, sdk: object, path: str = "") -> None:
    if isinstance(ours, dict):
        assert isinstance(sdk, dict), path
        for key, value in ours.items():
            if key in sdk:
                assert_same(value, sdk[key], f"{path}.{key}")
            else:
                assert value in DEFAULTS, f"{path}.{key} unknown to kagglesdk"
        assert set(sdk) <= set(ours), path
    elif isinstance(ours, list):
        assert isinstance(sdk, list) and len(ours) == len(sdk), path
        for index, (mine, theirs) in enumerate(zip(ours, sdk, strict=True)):
            assert_same(mine, theirs, f"{path}[{index}]")
    else:
        assert ours == sdk, path


def check(response: httpx.Response, sdk_type: type) -> object:
    assert response.status_code == 200, response.text
    parsed = sdk_type.from_json(response.text)
    assert_same(response.json(), parsed.to_dict())
    return parsed


def test_task_rpcs(demo_sim: RunningSim, demo_client: httpx.Client, rpc: Rpc) -> None:
    tasks = check(rpc(demo_client, "ListBenchmarkTasks"), ApiListBenchmarkTasksResponse)
    assert len(tasks.tasks) == 12
    assert {task.creation_state.name for task in tasks.tasks} >= {
        "BENCHMARK_TASK_VERSION_CREATION_STATE_ERRORED",
        "BENCHMARK_TASK_VERSION_CREATION_STATE_VALIDATION_FAILED",
    }
    for task in tasks.tasks:
        one = check(
            rpc(demo_client, "GetBenchmarkTask", {"slug": {"taskSlug": task.slug.task_slug}}),
            ApiBenchmarkTask,
        )
        assert one.slug.version_number == task.slug.version_number
    created = check(
        rpc(
            demo_client,
            "CreateBenchmarkTask",
            {"slug": "sdk-task", "text": GOOD_NOTEBOOK, "options": {"datasetDataSources": ["a/b"]}},
        ),
        ApiBenchmarkTask,
    )
    assert created.options.dataset_data_sources == ["a/b"]
    check(
        rpc(
            demo_client,
            "PublishBenchmarkTask",
            {"slug": {"taskSlug": "math-qa"}, "publishBackingNotebook": True},
        ),
        ApiBenchmarkTask,
    )


@pytest.mark.parametrize("task", ["what-is-kaggle", "math-qa", "code-golf", "json-extraction"])
def test_run_rpcs(demo_client: httpx.Client, rpc: Rpc, task: str) -> None:
    runs = check(
        rpc(demo_client, "ListBenchmarkTaskRuns", {"taskSlug": {"taskSlug": task}}),
        ApiListBenchmarkTaskRunsResponse,
    )
    for run in runs.runs:
        assert run.model_version_slug and run.id


def test_schedule_quota_models_leaderboard_token(demo_client: httpx.Client, rpc: Rpc) -> None:
    check(
        rpc(
            demo_client,
            "BatchScheduleBenchmarkTaskRuns",
            {
                "taskSlugs": [{"taskSlug": "json-extraction"}],
                "modelVersionSlugs": ["gpt-5", "gpt-5"],
            },
        ),
        ApiBatchScheduleBenchmarkTaskRunsResponse,
    )
    check(rpc(demo_client, "GetBenchmarkTaskQuota"), ApiGetBenchmarkTaskQuotaResponse)
    models = check(
        rpc(demo_client, "ListBenchmarkModels", {"pageSize": 100}), ApiListBenchmarkModelsResponse
    )
    assert all(model.version.slug for model in models.benchmark_models)
    board = check(
        rpc(
            demo_client,
            "GetBenchmarkLeaderboard",
            {"ownerSlug": "demo", "benchmarkSlug": "reasoning-suite"},
        ),
        ApiBenchmarkLeaderboard,
    )
    assert board.rows
    check(rpc(demo_client, "CreateDefaultModelProxyToken"), ApiCreateDefaultModelProxyTokenResponse)
    who = check(
        rpc(demo_client, "IntrospectToken", {"token": "demo-token"}), IntrospectTokenResponse
    )
    assert who.active and who.username == "demo"
