"""`BenchmarksClient`: the typed async client of the Kaggle Benchmarks API.

One async method per RPC and `list_all_*` helpers that exhaust page tokens, on top of
`RpcConnection` (connection.py: one keep-alive `httpx.AsyncClient`, explicit timeouts, TLS
verification always on, the retry rules of `retry.py`, typed errors of `errors.py`).
Task arguments may be a `TaskRef`, an `ApiBenchmarkTaskSlug` or a string normalised like the
kaggle CLI (`Owner/My Task` -> `owner/my-task`); model slugs in any form (§9.3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from kbench_tui.api.connection import (
    DEFAULT_TIMEOUT,
    STREAM_TIMEOUT,
    RpcConnection,
)
from kbench_tui.api.errors import error_for_status
from kbench_tui.api.models import (
    ApiBenchmarkLeaderboard,
    ApiBenchmarkTask,
    ApiBenchmarkTaskRun,
    ApiBenchmarkTaskSlug,
    BatchScheduleBenchmarkTaskRunsRequest,
    BatchScheduleBenchmarkTaskRunsResponse,
    BenchmarkModel,
    BenchmarkTaskOptions,
    CreateBenchmarkTaskRequest,
    CreateDefaultModelProxyTokenRequest,
    CreateDefaultModelProxyTokenResponse,
    GetBenchmarkLeaderboardRequest,
    GetBenchmarkTaskQuotaRequest,
    GetBenchmarkTaskQuotaResponse,
    GetBenchmarkTaskRequest,
    IntrospectTokenRequest,
    IntrospectTokenResponse,
    ListBenchmarkModelsRequest,
    ListBenchmarkModelsResponse,
    ListBenchmarkTaskRunsRequest,
    ListBenchmarkTaskRunsResponse,
    ListBenchmarkTasksRequest,
    ListBenchmarkTasksResponse,
    PublishBenchmarkTaskRequest,
)
from kbench_tui.api.paging import LIST_PAGE_SIZE, PageT, all_pages
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.slugs import TaskRef, normalize_model_slug, parse_task_argument

__all__ = [
    "BENCHMARKS",
    "DEFAULT_TIMEOUT",
    "MODEL_PROXY",
    "OAUTH",
    "STREAM_TIMEOUT",
    "TASKS",
    "BenchmarksClient",
    "RetryPolicy",
    "TaskLike",
]

TASKS = "benchmarks.BenchmarkTasksApiService"
BENCHMARKS = "benchmarks.BenchmarksApiService"
OAUTH = "security.OAuthService"
MODEL_PROXY = "models.ModelProxyApiService"

TaskLike = TaskRef | ApiBenchmarkTaskSlug | str


def _task_slug(task: TaskLike, version: int | None = None) -> ApiBenchmarkTaskSlug:
    """Any way of naming a task -> the wire slug; strings are normalised like the CLI (§9.2)."""
    if isinstance(task, ApiBenchmarkTaskSlug):
        if version is None:
            return task
        return task.model_copy(update={"version_number": version})
    if isinstance(task, str):
        task = parse_task_argument(task)
    return ApiBenchmarkTaskSlug.of(task, version)


class BenchmarksClient(RpcConnection):
    """Async client of BenchmarkTasksApiService and friends: one method per RPC.

    Construct with `BenchmarksClient(endpoint, credentials, *, timeout=None, retry=None,
    transport=None, sleep=asyncio.sleep, rng=random.random, on_retry=None)`; use it as an
    async context manager or call `aclose()`.
    """

    # --- BenchmarkTasksApiService -----------------------------------------------------------

    async def create_task(
        self, slug: str, text: str, dataset_sources: Iterable[str] | None = None
    ) -> ApiBenchmarkTask:
        """Push a task version (`text` = ipynb JSON). A non-empty `error` raises ApiError."""
        options = (
            None
            if dataset_sources is None
            else BenchmarkTaskOptions(dataset_data_sources=list(dataset_sources))
        )
        request = CreateBenchmarkTaskRequest(slug=slug, text=text, options=options)
        task = await self._rpc(TASKS, "CreateBenchmarkTask", request, ApiBenchmarkTask, "write")
        if task.error:
            raise error_for_status(400, task.error, rpc="CreateBenchmarkTask")
        return task

    async def get_task(self, task: TaskLike, version: int | None = None) -> ApiBenchmarkTask:
        """A task version (the latest when `version` is None)."""
        request = GetBenchmarkTaskRequest(slug=_task_slug(task, version))
        return await self._rpc(TASKS, "GetBenchmarkTask", request, ApiBenchmarkTask, "read")

    async def list_tasks(
        self,
        status: str | None = None,
        regex: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListBenchmarkTasksResponse:
        """One page of the caller's tasks."""
        request = ListBenchmarkTasksRequest(
            status_filter=status,
            regex_filter=regex,
            page_size=page_size or 0,
            page_token=page_token or "",
        )
        return await self._rpc(
            TASKS, "ListBenchmarkTasks", request, ListBenchmarkTasksResponse, "read"
        )

    async def list_all_tasks(
        self, status: str | None = None, regex: str | None = None, page_size: int | None = None
    ) -> list[ApiBenchmarkTask]:
        """Every page of the caller's tasks."""
        tasks: list[ApiBenchmarkTask] = []
        size = page_size or LIST_PAGE_SIZE
        async for page in self._pages(
            "ListBenchmarkTasks", lambda token: self.list_tasks(status, regex, size, token)
        ):
            tasks.extend(page.tasks)
        return tasks

    async def list_runs(
        self,
        task: TaskLike,
        models: Iterable[str] | None = None,
        page_token: str | None = None,
        page_size: int | None = None,
    ) -> ListBenchmarkTaskRunsResponse:
        """One page of a task's runs; `models` in any slug form (normalised, §9.3)."""
        request = ListBenchmarkTaskRunsRequest(
            task_slug=_task_slug(task),
            model_version_slugs=[normalize_model_slug(m) for m in models or ()],
            page_size=page_size or 0,
            page_token=page_token or "",
        )
        return await self._rpc(
            TASKS, "ListBenchmarkTaskRuns", request, ListBenchmarkTaskRunsResponse, "read"
        )

    async def list_all_runs(
        self, task: TaskLike, models: Iterable[str] | None = None
    ) -> list[ApiBenchmarkTaskRun]:
        """Every run of a task, filtered client-side too (the server may ignore the filter)."""
        wanted = [normalize_model_slug(m) for m in models or ()]
        runs: list[ApiBenchmarkTaskRun] = []
        async for page in self._pages(
            "ListBenchmarkTaskRuns",
            lambda token: self.list_runs(task, wanted, token, LIST_PAGE_SIZE),
        ):
            runs.extend(page.runs)
        if wanted:
            runs = [run for run in runs if run.model in wanted]
        return runs

    async def schedule_runs(
        self, task: TaskLike, models: Iterable[str]
    ) -> BatchScheduleBenchmarkTaskRunsResponse:
        """Schedule runs; `results[i]` belongs to the i-th (normalised) model."""
        request = BatchScheduleBenchmarkTaskRunsRequest(
            task_slugs=[_task_slug(task)],
            model_version_slugs=[normalize_model_slug(m) for m in models],
        )
        return await self._rpc(
            TASKS,
            "BatchScheduleBenchmarkTaskRuns",
            request,
            BatchScheduleBenchmarkTaskRunsResponse,
            "write",
        )

    async def get_quota(self) -> GetBenchmarkTaskQuotaResponse:
        """The caller's daily model-proxy spend and limit (USD)."""
        request = GetBenchmarkTaskQuotaRequest()
        return await self._rpc(
            TASKS, "GetBenchmarkTaskQuota", request, GetBenchmarkTaskQuotaResponse, "read"
        )

    async def publish_task(
        self, task: TaskLike, publish_backing_notebook: bool = True
    ) -> ApiBenchmarkTask:
        """Make a task public (cannot be undone), with its backing notebook by default."""
        request = PublishBenchmarkTaskRequest(
            slug=_task_slug(task), publish_backing_notebook=publish_backing_notebook
        )
        return await self._rpc(TASKS, "PublishBenchmarkTask", request, ApiBenchmarkTask, "write")

    # --- BenchmarksApiService, OAuthService, ModelProxyApiService --------------------------

    async def list_models(
        self, page_token: str | None = None, page_size: int | None = None
    ) -> ListBenchmarkModelsResponse:
        """One page of the model catalogue."""
        request = ListBenchmarkModelsRequest(page_token=page_token or "", page_size=page_size or 0)
        return await self._rpc(
            BENCHMARKS, "ListBenchmarkModels", request, ListBenchmarkModelsResponse, "read"
        )

    async def list_all_models(self) -> list[BenchmarkModel]:
        """The whole model catalogue."""
        models: list[BenchmarkModel] = []
        async for page in self._pages("ListBenchmarkModels", self.list_models):
            models.extend(page.benchmark_models)
        return models

    async def get_leaderboard(
        self, owner: str, benchmark: str, version: int | None = None
    ) -> ApiBenchmarkLeaderboard:
        """A benchmark's leaderboard (its current version when `version` is None)."""
        request = GetBenchmarkLeaderboardRequest(
            owner_slug=owner, benchmark_slug=benchmark, version_number=version
        )
        return await self._rpc(
            BENCHMARKS, "GetBenchmarkLeaderboard", request, ApiBenchmarkLeaderboard, "read"
        )

    async def introspect_token(self, token: str) -> IntrospectTokenResponse:
        """Who a token belongs to (`active` and `username`)."""
        request = IntrospectTokenRequest(token=token)
        return await self._rpc(OAUTH, "IntrospectToken", request, IntrospectTokenResponse, "read")

    async def create_model_proxy_token(self) -> CreateDefaultModelProxyTokenResponse:
        """New model-proxy credentials for `.env` (`token`, `base_uri`, `expiry_time`)."""
        request = CreateDefaultModelProxyTokenRequest()
        return await self._rpc(
            MODEL_PROXY,
            "CreateDefaultModelProxyToken",
            request,
            CreateDefaultModelProxyTokenResponse,
            "write",
        )

    # --- pagination ------------------------------------------------------------------------

    def _pages(
        self, rpc: str, fetch: Callable[[str | None], Awaitable[PageT]]
    ) -> AsyncIterator[PageT]:
        """Pages until `next_page_token` is empty (see `paging.all_pages`)."""
        return all_pages(rpc, fetch)
