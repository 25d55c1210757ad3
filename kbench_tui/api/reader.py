"""`TaskReader`: the read RPCs of the export and the dashboard's poller, without pydantic.

The same connection as `BenchmarksClient` (`RpcConnection`: one keep-alive pool, retries,
typed errors, TLS always verified), the same method names and arguments for what the
export and the poller read — `get_task`, `list_tasks`/`list_all_tasks`,
`list_runs`/`list_all_runs`, `get_quota`, `introspect_token` — and the same requests byte
for byte (tests compare them with the models' `to_wire()`).
Answers become the plain records of `records.py`; an answer that is not plain is handed
to the pydantic model, which returns its own (duck-compatible) objects or refuses it
with the same ProtocolError as the dashboard's client. Downloads and logs take any
`RpcConnection`, so `--with-results` / `--with-logs` work on a reader unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from kbench_tui.api.connection import RpcConnection
from kbench_tui.api.paging import LIST_PAGE_SIZE, all_pages
from kbench_tui.api.records import (
    IntrospectRecord,
    NotPlain,
    QuotaRecord,
    Record,
    RunsPage,
    TaskRecord,
    TasksPage,
)
from kbench_tui.slugs import TaskRef, normalize_model_slug, parse_task_argument

__all__ = ["OAUTH", "TASKS", "TaskReader", "sharing"]

TASKS = "benchmarks.BenchmarkTasksApiService"
OAUTH = "security.OAuthService"


ConnectionT = TypeVar("ConnectionT", bound=RpcConnection)


def sharing(connection: RpcConnection, kind: type[ConnectionT]) -> ConnectionT:
    """A `kind` (another `RpcConnection` class) on `connection`'s very pool and settings.

    Endpoint, credentials, retry policy, timeouts and the `httpx.AsyncClient` are the
    same objects, not copies: keep-alive connections are shared, and closing either
    closes the pool. The dashboard reads through a `TaskReader` from start-up and only
    makes a `BenchmarksClient` (pydantic) on it when an action first needs one.
    """
    other = kind.__new__(kind)
    other.__dict__.update(connection.__dict__)
    return other


def _slug_wire(task: TaskRef | str, version: int | None = None) -> dict[str, Any]:
    """`ApiBenchmarkTaskSlug.of(task, version).to_wire()`: unset fields omitted."""
    if isinstance(task, str):
        task = parse_task_argument(task)
    body: dict[str, Any] = {}
    if task.owner is not None:
        body["ownerSlug"] = task.owner
    if task.task:
        body["taskSlug"] = task.task
    if version is not None:
        body["versionNumber"] = version
    return body


def _decoded(record: type[Record], data: dict[str, Any], rpc: str) -> Any:
    """The plain record, or else whatever the pydantic model makes of the answer."""
    try:
        return record.decode(data)
    except (NotPlain, ValueError, TypeError, ArithmeticError):
        # Not the plain shape: the model decides, with the dashboard's values or refusal.
        from kbench_tui.api import models

        return RpcConnection.validated(getattr(models, record.MODEL), data, rpc)


class TaskReader(RpcConnection):
    """Reads tasks and runs like `BenchmarksClient`, into `records.py` records.

    Construct with `TaskReader(endpoint, credentials, *, timeout=None, retry=None,
    transport=None, sleep=asyncio.sleep, rng=random.random, on_retry=None)`; use it as an
    async context manager or call `aclose()`.
    """

    async def get_task(self, task: TaskRef | str, version: int | None = None) -> TaskRecord:
        """A task version (the latest when `version` is None)."""
        slug = _slug_wire(task, version)
        body = {"slug": slug} if slug else {}
        data = await self.call(TASKS, "GetBenchmarkTask", body, kind="read")
        return _decoded(TaskRecord, data, "GetBenchmarkTask")

    async def list_tasks(
        self,
        status: str | None = None,
        regex: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> TasksPage:
        """One page of the caller's tasks."""
        body: dict[str, Any] = {}
        if status is not None:
            body["statusFilter"] = status
        if regex is not None:
            body["regexFilter"] = regex
        if page_size:
            body["pageSize"] = page_size
        if page_token:
            body["pageToken"] = page_token
        data = await self.call(TASKS, "ListBenchmarkTasks", body, kind="read")
        return _decoded(TasksPage, data, "ListBenchmarkTasks")

    async def list_all_tasks(
        self, status: str | None = None, regex: str | None = None, page_size: int | None = None
    ) -> list[TaskRecord]:
        """Every page of the caller's tasks."""
        tasks: list[TaskRecord] = []
        size = page_size or LIST_PAGE_SIZE
        async for page in all_pages(
            "ListBenchmarkTasks", lambda token: self.list_tasks(status, regex, size, token)
        ):
            tasks.extend(page.tasks)
        return tasks

    async def list_runs(
        self,
        task: TaskRef | str,
        models: Iterable[str] | None = None,
        page_token: str | None = None,
        page_size: int | None = None,
    ) -> RunsPage:
        """One page of a task's runs; `models` in any slug form (normalised, §9.3)."""
        body: dict[str, Any] = {}
        slug = _slug_wire(task)
        if slug:
            body["taskSlug"] = slug
        wanted = [normalize_model_slug(m) for m in models or ()]
        if wanted:
            body["modelVersionSlugs"] = wanted
        if page_size:
            body["pageSize"] = page_size
        if page_token:
            body["pageToken"] = page_token
        data = await self.call(TASKS, "ListBenchmarkTaskRuns", body, kind="read")
        return _decoded(RunsPage, data, "ListBenchmarkTaskRuns")

    async def list_all_runs(
        self, task: TaskRef | str, models: Iterable[str] | None = None
    ) -> list[Any]:
        """Every run of a task, filtered client-side too (the server may ignore the filter)."""
        wanted = [normalize_model_slug(m) for m in models or ()]
        runs: list[Any] = []
        async for page in all_pages(
            "ListBenchmarkTaskRuns",
            lambda token: self.list_runs(task, wanted, token, LIST_PAGE_SIZE),
        ):
            runs.extend(page.runs)
        if wanted:
            runs = [run for run in runs if run.model in wanted]
        return runs

    async def get_quota(self) -> QuotaRecord:
        """The caller's daily model-proxy spend and limit (USD)."""
        data = await self.call(TASKS, "GetBenchmarkTaskQuota", {}, kind="read")
        return _decoded(QuotaRecord, data, "GetBenchmarkTaskQuota")

    async def introspect_token(self, token: str) -> IntrospectRecord:
        """Who a token belongs to (`active` and `username`)."""
        body = {"token": token} if token else {}
        data = await self.call(OAUTH, "IntrospectToken", body, kind="read")
        return _decoded(IntrospectRecord, data, "IntrospectToken")
