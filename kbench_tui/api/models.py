"""Pydantic models of every request and response kbench-tui exchanges with the service.

Field names, types and defaults mirror kagglesdk 0.1.37 (`kagglesdk/benchmarks/types`,
`security/types/oauth_service.py`, `models/types/model_proxy_api_service.py`):
implicit-presence fields have a zero default and are omitted on output; proto `optional`
fields are `X | None = None` and sent whenever set. Encoding rules live in `wire.py`.
Datetimes are naive UTC everywhere (see `wire.Timestamp`). The catalogue, leaderboard,
token and log models live in `service_models.py` and the task and run states in
`states.py` (pydantic-free, shared with the export's `records.py`); both are re-exported
here, so every model is importable from `kbench_tui.api.models`.
"""

from __future__ import annotations

from pydantic import Field

from kbench_tui.api.service_models import (
    ApiBenchmarkLeaderboard,
    BenchmarkModel,
    BenchmarkModelImportanceLevel,
    BenchmarkModelVersion,
    BenchmarkResult,
    CreateDefaultModelProxyTokenRequest,
    CreateDefaultModelProxyTokenResponse,
    CustomResult,
    GetBenchmarkLeaderboardRequest,
    IntrospectTokenRequest,
    IntrospectTokenResponse,
    LeaderboardRow,
    License,
    ListBenchmarkModelsRequest,
    ListBenchmarkModelsResponse,
    LogEntry,
    Modality,
    NumericResult,
    OrganizationCard,
    TaskResult,
    UnevenConfidenceInterval,
    UserLicenseAgreementStatus,
)
from kbench_tui.api.states import (
    BenchmarkTaskRunState,
    BenchmarkTaskVersionCreationState,
    BenchmarkTaskVersionSource,
    CreationState,
    RunState,
)
from kbench_tui.api.wire import Timestamp, WireEnum, WireModel, format_timestamp, parse_timestamp
from kbench_tui.slugs import TaskRef, normalize_model_slug

# --- shared task types (§3.0) -------------------------------------------------------------


class ApiBenchmarkTaskSlug(WireModel):
    """A task (and optionally a version); `owner_slug` None means the caller."""

    owner_slug: str | None = None
    task_slug: str = ""
    version_number: int | None = None

    @classmethod
    def of(cls, task: TaskRef | str, version: int | None = None) -> ApiBenchmarkTaskSlug:
        """From a `TaskRef`, or a plain slug already normalised (`my-task`)."""
        if isinstance(task, str):
            task = TaskRef(task=task)
        return cls(owner_slug=task.owner, task_slug=task.task, version_number=version)

    @property
    def ref(self) -> TaskRef:
        """The task as a `TaskRef` (version dropped)."""
        return TaskRef(task=self.task_slug, owner=self.owner_slug or None)


class BenchmarkTaskOptions(WireModel):
    """Attached data sources: `owner/dataset-slug` (latest published version)."""

    dataset_data_sources: list[str] = Field(default_factory=list)


class EnvVariable(WireModel):
    """An environment variable for a container-defined task."""

    key: str = ""
    value: str = ""
    is_secret_name: bool = False


class UserSecret(WireModel):
    """A secret for a container-defined task (its value is hidden from repr)."""

    name: str = ""
    value: str = Field(default="", repr=False)
    override_existing: bool = False


class BenchmarkTaskNotebookDefinition(WireModel):
    """A notebook-defined task (no fields yet)."""


class BenchmarkTaskDockerImageDefinition(WireModel):
    """A task defined by a Docker image."""

    docker_image_url: str = ""
    description: str | None = None
    title: str | None = None
    env_variables: list[EnvVariable] = Field(default_factory=list)
    secrets: list[UserSecret] = Field(default_factory=list)
    nested_virtualization_required: bool = False


class BenchmarkTaskGitDefinition(WireModel):
    """A Harbor task defined by a git repository."""

    url: str = ""
    commit_hash: str = ""
    subpath: str = ""
    env_variables: list[EnvVariable] = Field(default_factory=list)
    secrets: list[UserSecret] = Field(default_factory=list)
    use_accelerator: bool = False


class DatasetMount(WireModel):
    """A dataset version mounted into a Harbor task."""

    dataset_version_slug: str = ""
    mount_path: str = ""


class DefinitionSource(WireModel):
    """Where a Harbor task's definition lives (`owner/slug/versions/N`)."""

    dataset_version_slug: str = ""
    sub_path: str = ""


class BenchmarkTaskKaggleDatasetsDefinition(WireModel):
    """A Harbor task defined by Kaggle datasets."""

    definition_source: DefinitionSource | None = None
    mounts: list[DatasetMount] = Field(default_factory=list)
    env_variables: list[EnvVariable] = Field(default_factory=list)
    secrets: list[UserSecret] = Field(default_factory=list)


class BenchmarkTaskDefinition(WireModel):
    """How a task is defined: exactly one member is set (the CLI never sends this)."""

    notebook: BenchmarkTaskNotebookDefinition | None = None
    docker_image: BenchmarkTaskDockerImageDefinition | None = None
    harbor_git: BenchmarkTaskGitDefinition | None = None
    harbor_kaggle_datasets: BenchmarkTaskKaggleDatasetsDefinition | None = None


class ApiBenchmarkTask(WireModel):
    """One task version (response of Create/Get/Publish, element of ListBenchmarkTasks)."""

    slug: ApiBenchmarkTaskSlug = Field(default_factory=ApiBenchmarkTaskSlug)
    url: str = ""
    error: str | None = None
    creation_state: BenchmarkTaskVersionCreationState = (
        BenchmarkTaskVersionCreationState.UNSPECIFIED
    )
    create_time: Timestamp | None = None
    creation_error_message: str | None = None
    is_public: bool | None = None
    source_kernel_id: int | None = None
    is_backing_notebook_published: bool | None = None
    options: BenchmarkTaskOptions | None = None
    source: BenchmarkTaskVersionSource = BenchmarkTaskVersionSource.UNSPECIFIED


class ApiBenchmarkTaskRun(WireModel):
    """One run of a task version against one model version."""

    task_slug: ApiBenchmarkTaskSlug = Field(default_factory=ApiBenchmarkTaskSlug)
    model_version_slug: str = ""
    id: int = 0
    state: BenchmarkTaskRunState = BenchmarkTaskRunState.UNSPECIFIED
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    error_message: str | None = None

    @property
    def model(self) -> str:
        """The model slug normalised like the CLI shows it (`claude-sonnet-4-6-default`)."""
        return normalize_model_slug(self.model_version_slug)

    @property
    def error_summary(self) -> str:
        """The last non-blank line of the error (usually a traceback's summary), or ""."""
        lines = [line.strip() for line in (self.error_message or "").splitlines()]
        return next((line for line in reversed(lines) if line), "")


class BatchScheduleBenchmarkModelVersionResult(WireModel):
    """Outcome of scheduling one (task, model) pair."""

    benchmark_model_version_id: int = 0
    run_scheduled: bool = False
    run_skipped_reason: str | None = None
    benchmark_task_version_id: int = 0
    parent_task_version_id: int | None = None


# --- BenchmarkTasksApiService (§3.1–3.9) --------------------------------------------------


class CreateBenchmarkTaskRequest(WireModel):
    """Create a task (or a new version): `text` is the notebook's ipynb JSON string."""

    slug: str = ""
    text: str = ""
    options: BenchmarkTaskOptions | None = None
    definition: BenchmarkTaskDefinition | None = None


class BatchScheduleBenchmarkTaskRunsRequest(WireModel):
    """Schedule runs; results pair with `model_version_slugs` by position."""

    task_slugs: list[ApiBenchmarkTaskSlug] = Field(default_factory=list)
    model_version_slugs: list[str] = Field(default_factory=list)


class BatchScheduleBenchmarkTaskRunsResponse(WireModel):
    """One result per (task, model) pair, in request order."""

    results: list[BatchScheduleBenchmarkModelVersionResult] = Field(default_factory=list)


class ListBenchmarkTasksRequest(WireModel):
    """List the caller's tasks (latest version each)."""

    status_filter: str | None = None
    regex_filter: str | None = None
    page_size: int = 0
    page_token: str = ""
    skip: int = 0


class ListBenchmarkTasksResponse(WireModel):
    """A page of tasks; a non-empty `next_page_token` means more pages."""

    tasks: list[ApiBenchmarkTask] = Field(default_factory=list)
    total_results: int = 0
    next_page_token: str = ""


class GetBenchmarkTaskRequest(WireModel):
    """Get a task version (the latest when `slug.version_number` is None)."""

    slug: ApiBenchmarkTaskSlug = Field(default_factory=ApiBenchmarkTaskSlug)


class ListBenchmarkTaskRunsRequest(WireModel):
    """List a task's runs, optionally only for some models."""

    task_slug: ApiBenchmarkTaskSlug = Field(default_factory=ApiBenchmarkTaskSlug)
    model_version_slugs: list[str] = Field(default_factory=list)
    page_size: int = 0
    page_token: str = ""
    skip: int = 0


class ListBenchmarkTaskRunsResponse(WireModel):
    """A page of runs."""

    runs: list[ApiBenchmarkTaskRun] = Field(default_factory=list)
    total_results: int = 0
    next_page_token: str = ""


class DownloadBenchmarkTaskRunOutputRequest(WireModel):
    """Download a run's output zip (raw bytes, not JSON)."""

    run_id: int = 0
    include_source: bool = False


class GetBenchmarkTaskRunLogsRequest(WireModel):
    """A run's log: SSE while running, a JSON array when finished, 404 when none yet."""

    run_id: int = 0


class GetBenchmarkTaskQuotaRequest(WireModel):
    """No fields: always `{}`."""


class GetBenchmarkTaskQuotaResponse(WireModel):
    """The caller's daily model-proxy spend and limit, in USD."""

    daily_quota_used: float = 0.0
    total_daily_quota_allowed: float = 0.0


class PublishBenchmarkTaskRequest(WireModel):
    """Make a task public (cannot be undone)."""

    slug: ApiBenchmarkTaskSlug = Field(default_factory=ApiBenchmarkTaskSlug)
    publish_backing_notebook: bool = False


# kagglesdk's names for the request/response classes carry an `Api` prefix; accept both.
ApiCreateBenchmarkTaskRequest = CreateBenchmarkTaskRequest
ApiBatchScheduleBenchmarkTaskRunsRequest = BatchScheduleBenchmarkTaskRunsRequest
ApiBatchScheduleBenchmarkTaskRunsResponse = BatchScheduleBenchmarkTaskRunsResponse
ApiListBenchmarkTasksRequest = ListBenchmarkTasksRequest
ApiListBenchmarkTasksResponse = ListBenchmarkTasksResponse
ApiGetBenchmarkTaskRequest = GetBenchmarkTaskRequest
ApiListBenchmarkTaskRunsRequest = ListBenchmarkTaskRunsRequest
ApiListBenchmarkTaskRunsResponse = ListBenchmarkTaskRunsResponse
ApiDownloadBenchmarkTaskRunOutputRequest = DownloadBenchmarkTaskRunOutputRequest
ApiGetBenchmarkTaskRunLogsRequest = GetBenchmarkTaskRunLogsRequest
ApiGetBenchmarkTaskQuotaRequest = GetBenchmarkTaskQuotaRequest
ApiGetBenchmarkTaskQuotaResponse = GetBenchmarkTaskQuotaResponse
ApiPublishBenchmarkTaskRequest = PublishBenchmarkTaskRequest
ApiListBenchmarkModelsRequest = ListBenchmarkModelsRequest
ApiListBenchmarkModelsResponse = ListBenchmarkModelsResponse
ApiGetBenchmarkLeaderboardRequest = GetBenchmarkLeaderboardRequest
ApiCreateDefaultModelProxyTokenRequest = CreateDefaultModelProxyTokenRequest
ApiCreateDefaultModelProxyTokenResponse = CreateDefaultModelProxyTokenResponse

__all__ = [
    "ApiBenchmarkLeaderboard",
    "ApiBenchmarkTask",
    "ApiBenchmarkTaskRun",
    "ApiBenchmarkTaskSlug",
    "BatchScheduleBenchmarkModelVersionResult",
    "BenchmarkModel",
    "BenchmarkModelImportanceLevel",
    "BenchmarkModelVersion",
    "BenchmarkResult",
    "BenchmarkTaskOptions",
    "BenchmarkTaskRunState",
    "BenchmarkTaskVersionCreationState",
    "BenchmarkTaskVersionSource",
    "CreateDefaultModelProxyTokenRequest",
    "CreateDefaultModelProxyTokenResponse",
    "CreationState",
    "CustomResult",
    "GetBenchmarkLeaderboardRequest",
    "IntrospectTokenRequest",
    "IntrospectTokenResponse",
    "LeaderboardRow",
    "License",
    "ListBenchmarkModelsRequest",
    "ListBenchmarkModelsResponse",
    "LogEntry",
    "Modality",
    "NumericResult",
    "OrganizationCard",
    "RunState",
    "TaskResult",
    "Timestamp",
    "UnevenConfidenceInterval",
    "UserLicenseAgreementStatus",
    "WireEnum",
    "WireModel",
    "format_timestamp",
    "parse_timestamp",
]
