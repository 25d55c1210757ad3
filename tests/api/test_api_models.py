"""Models: lenient parsing like kagglesdk, and requests encoded exactly as the SDK would."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from kagglesdk.benchmarks.types import benchmark_tasks_api_service as sdk_tasks
from kagglesdk.benchmarks.types import benchmarks_api_service as sdk_benchmarks
from kagglesdk.models.types import model_proxy_api_service as sdk_proxy
from kagglesdk.security.types import oauth_service as sdk_oauth

from kbench_tui.api.models import (
    ApiBenchmarkLeaderboard,
    ApiBenchmarkTask,
    ApiBenchmarkTaskRun,
    ApiBenchmarkTaskSlug,
    BatchScheduleBenchmarkTaskRunsRequest,
    BatchScheduleBenchmarkTaskRunsResponse,
    BenchmarkModel,
    BenchmarkTaskOptions,
    BenchmarkTaskVersionSource,
    CreateBenchmarkTaskRequest,
    CreateDefaultModelProxyTokenResponse,
    CreationState,
    DownloadBenchmarkTaskRunOutputRequest,
    GetBenchmarkLeaderboardRequest,
    GetBenchmarkTaskQuotaRequest,
    GetBenchmarkTaskRequest,
    GetBenchmarkTaskRunLogsRequest,
    IntrospectTokenRequest,
    ListBenchmarkModelsRequest,
    ListBenchmarkModelsResponse,
    ListBenchmarkTaskRunsRequest,
    ListBenchmarkTasksRequest,
    ListBenchmarkTasksResponse,
    LogEntry,
    Modality,
    PublishBenchmarkTaskRequest,
    RunState,
    format_timestamp,
    parse_timestamp,
)

# --- enums ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        "BENCHMARK_TASK_RUN_STATE_COMPLETED",
        "benchmark_task_run_state_completed",
        "COMPLETED",
        "completed",
        3,
    ],
)
def test_run_state_parses_leniently_like_the_sdk(wire: object) -> None:
    run = ApiBenchmarkTaskRun.model_validate({"state": wire})
    assert run.state is RunState.COMPLETED
    assert run.state.short == "COMPLETED"
    assert run.state.title == "Completed"
    assert run.state.is_terminal


def test_unknown_enum_value_is_kept_as_is_and_round_trips() -> None:
    run = ApiBenchmarkTaskRun.model_validate({"state": "BENCHMARK_TASK_RUN_STATE_PAUSED"})
    assert not run.state.known
    assert run.state == "BENCHMARK_TASK_RUN_STATE_PAUSED"
    assert run.state.short == run.state.title == "BENCHMARK_TASK_RUN_STATE_PAUSED"
    assert not run.state.is_terminal
    assert run.state != RunState.COMPLETED
    assert run.to_wire()["state"] == "BENCHMARK_TASK_RUN_STATE_PAUSED"


def test_state_helpers_follow_the_cli_semantics() -> None:
    assert {s for s in RunState if s.is_terminal} == {RunState.COMPLETED, RunState.ERRORED}
    assert not RunState.SCORE_PENDING.is_terminal
    assert RunState.SCORE_PENDING.title == "Score_Pending"
    assert {s for s in CreationState if s.is_pending} == {
        CreationState.QUEUED,
        CreationState.RUNNING,
    }
    assert CreationState.KERNEL_WITHOUT_RUN.title == "Kernel_Without_Run"
    assert CreationState.VALIDATION_FAILED.is_failed
    assert not CreationState("WHATEVER_NEW").is_failed  # unknown: keep waiting, not failed


def test_enums_without_a_type_prefix_parse_short_and_long_forms() -> None:
    assert BenchmarkTaskVersionSource("cli") is BenchmarkTaskVersionSource.CLI
    assert BenchmarkTaskVersionSource.CLI.short == "CLI"
    assert Modality("IMAGE") is Modality.IMAGE
    assert Modality.IMAGE.title == "Image"


def test_enums_serialise_by_full_name() -> None:
    assert json.dumps(RunState.ERRORED) == '"BENCHMARK_TASK_RUN_STATE_ERRORED"'
    assert str(CreationState.COMPLETED) == "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED"


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, 0, 0)),
        ("2026-03-01T12:00:00.5Z", datetime(2026, 3, 1, 12, 0, 0, 500000)),
        ("2026-03-01T12:00:00.123456789Z", datetime(2026, 3, 1, 12, 0, 0, 123456)),
        ("2026-03-01T12:00:00", datetime(2026, 3, 1, 12, 0, 0)),
        ("2026-03-01T14:00:00.250+02:00", datetime(2026, 3, 1, 12, 0, 0, 250000)),
        ("2026-03-01T07:30:00-0430", datetime(2026, 3, 1, 12, 0, 0)),
    ],
)
def test_timestamps_parse_to_naive_utc(wire: str, expected: datetime) -> None:
    assert parse_timestamp(wire) == expected
    assert ApiBenchmarkTask.model_validate({"createTime": wire}).create_time == expected


def test_timestamps_serialise_like_the_sdk() -> None:
    naive = datetime(2026, 3, 1, 12, 0, 0, 123456)
    assert format_timestamp(naive) == "2026-03-01T12:00:00.123Z"
    aware = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(aware) == "2026-03-01T12:00:00.000Z"


def test_bad_timestamp_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        ApiBenchmarkTask.model_validate({"createTime": "yesterday"})


# --- nulls, missing fields, unknown fields --------------------------------------------------


def test_null_lists_and_scalars_mean_unset() -> None:
    page = ListBenchmarkTasksResponse.model_validate(
        {"tasks": None, "nextPageToken": None, "totalResults": None, "newField": {"x": 1}}
    )
    assert page.tasks == []
    assert page.next_page_token == ""
    assert page.total_results == 0
    task = ApiBenchmarkTask.model_validate({"slug": None, "options": {"datasetDataSources": None}})
    assert task.slug.task_slug == ""
    assert task.options == BenchmarkTaskOptions()


def test_full_task_example_from_the_reference() -> None:
    task = ApiBenchmarkTask.model_validate(
        {
            "slug": {"ownerSlug": "alice", "taskSlug": "my-task", "versionNumber": 3},
            "url": "/benchmarks/tasks/alice/my-task/3",
            "creationState": "BENCHMARK_TASK_VERSION_CREATION_STATE_ERRORED",
            "createTime": "2026-03-01T12:00:00.000Z",
            "creationErrorMessage": "Traceback ...\nNameError: name 'kbench' is not defined",
            "isPublic": False,
            "sourceKernelId": 51230001,
            "isBackingNotebookPublished": False,
            "options": {"datasetDataSources": ["alice/qa-pairs"]},
            "source": "CLI",
        }
    )
    assert task.slug.ref.owner == "alice"
    assert task.slug.version_number == 3
    assert task.creation_state is CreationState.ERRORED
    assert task.options is not None and task.options.dataset_data_sources == ["alice/qa-pairs"]
    # What we parse, kagglesdk parses identically from our own encoding.
    sdk = sdk_tasks.ApiBenchmarkTask.from_dict(task.to_wire())
    assert sdk.slug.task_slug == "my-task"
    assert sdk.creation_state.name == task.creation_state.value
    assert sdk.create_time == task.create_time


def test_run_helpers() -> None:
    run = ApiBenchmarkTaskRun.model_validate(
        {
            "modelVersionSlug": "anthropic/claude-sonnet-4-6@default",
            "errorMessage": "Traceback (most recent call last):\n  x\nRuntimeError: boom\n\n",
        }
    )
    assert run.model == "claude-sonnet-4-6-default"
    assert run.error_summary == "RuntimeError: boom"


def test_models_catalogue_page_and_modality_label() -> None:
    page = ListBenchmarkModelsResponse.model_validate(
        {
            "benchmarkModels": [
                {
                    "id": 1,
                    "displayName": "Gemini 2.5 Flash",
                    "slug": "gemini-2.5-flash",
                    "version": {
                        "slug": "gemini-2.5-flash",
                        "modelProxySlug": "google/gemini-2.5-flash",
                        "importanceLevel": "CORE",
                        "inputModalities": ["MODALITY_TEXT", "MODALITY_IMAGE"],
                        "outputModalities": ["MODALITY_TEXT"],
                        "knowledgeCutoff": "2025-01-01T00:00:00.000Z",
                    },
                    "organization": {"id": 7, "name": "Google", "slug": "google"},
                }
            ],
            "nextPageToken": "bTM=",
        }
    )
    model = page.benchmark_models[0]
    assert model.version_slug == "gemini-2.5-flash"
    assert model.modality_label == "Image-Text-to-Text"
    everything = ["MODALITY_TEXT", "MODALITY_IMAGE", "MODALITY_AUDIO"]
    omni = BenchmarkModel.model_validate(
        {"version": {"inputModalities": everything, "outputModalities": everything}}
    )
    assert omni.modality_label == "Any-to-Any"
    assert BenchmarkModel().modality_label == "Unknown-to-Unknown"


def test_leaderboard_cells_display_like_the_cli() -> None:
    board = ApiBenchmarkLeaderboard.model_validate(
        {
            "rows": [
                {
                    "modelVersionName": "Gemini",
                    "taskResults": [
                        {"result": {"numericResult": {"value": 0.82, "confidenceInterval": 0.03}}},
                        {"result": {"booleanResult": False}},
                        {"result": {}},
                    ],
                }
            ]
        }
    )
    cells = [t.result.display for t in board.rows[0].task_results if t.result]
    assert cells == ["0.82", "Fail", "N/A"]


def test_secrets_are_hidden_from_repr() -> None:
    assert "s3cr3t" not in repr(IntrospectTokenRequest(token="s3cr3t"))
    assert "s3cr3t" not in repr(CreateDefaultModelProxyTokenResponse(token="s3cr3t"))


def test_log_entry_is_snake_case_and_lenient() -> None:
    entry = LogEntry.model_validate({"stream_name": "stderr", "time": 3.5, "data": "x\n"})
    assert (entry.stream_name, entry.time, entry.data) == ("stderr", 3.5, "x\n")
    odd = LogEntry.model_validate({"stream_name": None, "time": "soon", "data": {"k": 1}})
    assert (odd.stream_name, odd.time, odd.data) == ("stdout", None, '{"k": 1}')


# --- requests: exactly what kagglesdk would send --------------------------------------------

SLUG = ApiBenchmarkTaskSlug(owner_slug="alice", task_slug="my-task")

REQUESTS = [
    (ListBenchmarkTasksRequest(), sdk_tasks.ApiListBenchmarkTasksRequest, {}),
    (
        ListBenchmarkTasksRequest(
            status_filter="completed", regex_filter="^my-", page_token="cGFnZTI="
        ),
        sdk_tasks.ApiListBenchmarkTasksRequest,
        {"statusFilter": "completed", "regexFilter": "^my-", "pageToken": "cGFnZTI="},
    ),
    (
        GetBenchmarkTaskRequest(slug=SLUG),
        sdk_tasks.ApiGetBenchmarkTaskRequest,
        {"slug": {"ownerSlug": "alice", "taskSlug": "my-task"}},
    ),
    (
        GetBenchmarkTaskRequest(
            slug=ApiBenchmarkTaskSlug(owner_slug="", task_slug="t", version_number=0)
        ),
        sdk_tasks.ApiGetBenchmarkTaskRequest,
        {"slug": {"ownerSlug": "", "taskSlug": "t", "versionNumber": 0}},
    ),
    (
        CreateBenchmarkTaskRequest(
            slug="my-task", text="{}", options=BenchmarkTaskOptions(dataset_data_sources=["a/b"])
        ),
        sdk_tasks.ApiCreateBenchmarkTaskRequest,
        {"slug": "my-task", "text": "{}", "options": {"datasetDataSources": ["a/b"]}},
    ),
    (
        BatchScheduleBenchmarkTaskRunsRequest(
            task_slugs=[ApiBenchmarkTaskSlug(task_slug="my-task")],
            model_version_slugs=["gemini-2.5-flash", "claude-sonnet-4-6-default"],
        ),
        sdk_tasks.ApiBatchScheduleBenchmarkTaskRunsRequest,
        {
            "taskSlugs": [{"taskSlug": "my-task"}],
            "modelVersionSlugs": ["gemini-2.5-flash", "claude-sonnet-4-6-default"],
        },
    ),
    (
        ListBenchmarkTaskRunsRequest(task_slug=ApiBenchmarkTaskSlug(task_slug="t"), page_token="x"),
        sdk_tasks.ApiListBenchmarkTaskRunsRequest,
        {"taskSlug": {"taskSlug": "t"}, "pageToken": "x"},
    ),
    (
        DownloadBenchmarkTaskRunOutputRequest(run_id=901, include_source=True),
        sdk_tasks.ApiDownloadBenchmarkTaskRunOutputRequest,
        {"runId": 901, "includeSource": True},
    ),
    (
        GetBenchmarkTaskRunLogsRequest(run_id=902),
        sdk_tasks.ApiGetBenchmarkTaskRunLogsRequest,
        {"runId": 902},
    ),
    (GetBenchmarkTaskQuotaRequest(), sdk_tasks.ApiGetBenchmarkTaskQuotaRequest, {}),
    (
        PublishBenchmarkTaskRequest(slug=ApiBenchmarkTaskSlug(task_slug="t")),
        sdk_tasks.ApiPublishBenchmarkTaskRequest,
        {"slug": {"taskSlug": "t"}},
    ),
    (
        ListBenchmarkModelsRequest(page_token="bTI="),
        sdk_benchmarks.ApiListBenchmarkModelsRequest,
        {"pageToken": "bTI="},
    ),
    (
        GetBenchmarkLeaderboardRequest(
            owner_slug="kaggle", benchmark_slug="suite", version_number=2
        ),
        sdk_benchmarks.ApiGetBenchmarkLeaderboardRequest,
        {"ownerSlug": "kaggle", "benchmarkSlug": "suite", "versionNumber": 2},
    ),
    (IntrospectTokenRequest(token="t0k"), sdk_oauth.IntrospectTokenRequest, {"token": "t0k"}),
]


@pytest.mark.parametrize(("request_model", "sdk_type", "expected"), REQUESTS)
def test_requests_encode_exactly_like_kagglesdk(
    request_model: object, sdk_type: type, expected: dict
) -> None:
    wire = request_model.to_wire()  # type: ignore[attr-defined]
    assert wire == expected
    # Round trip through the SDK's own types gives back the same JSON object.
    assert json.loads(sdk_type.from_dict(wire).to_json()) == expected


def test_responses_parse_what_kagglesdk_writes() -> None:
    sdk = sdk_tasks.ApiBatchScheduleBenchmarkTaskRunsResponse.from_dict(
        {
            "results": [
                {"benchmarkModelVersionId": 11, "runScheduled": True, "benchmarkTaskVersionId": 7}
            ]
        }
    )
    ours = BatchScheduleBenchmarkTaskRunsResponse.model_validate(json.loads(sdk.to_json()))
    assert ours.results[0].run_scheduled and ours.results[0].benchmark_model_version_id == 11
    token = sdk_proxy.ApiCreateDefaultModelProxyTokenResponse.from_dict(
        {"token": "abc", "baseUri": "https://proxy", "expiryTime": "2026-03-02T10:00:00.000Z"}
    )
    parsed = CreateDefaultModelProxyTokenResponse.model_validate(json.loads(token.to_json()))
    assert parsed.expiry_time == datetime(2026, 3, 2, 10, 0)
