"""Shared constants and helpers of the simulator tests (imported by the test modules)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from kbench_tui.sim.engine import DEFAULT_TASK_CODE
from kbench_tui.sim.notebook import make_notebook

TASKS = "benchmarks.BenchmarkTasksApiService"
BENCHMARKS = "benchmarks.BenchmarksApiService"
OAUTH = "security.OAuthService"
PROXY = "models.ModelProxyApiService"
SERVICE_OF = {
    "ListBenchmarkModels": BENCHMARKS,
    "GetBenchmarkLeaderboard": BENCHMARKS,
    "IntrospectToken": OAUTH,
    "CreateDefaultModelProxyToken": PROXY,
}
ALL_RPCS = [
    "CreateBenchmarkTask",
    "BatchScheduleBenchmarkTaskRuns",
    "ListBenchmarkTasks",
    "GetBenchmarkTask",
    "ListBenchmarkTaskRuns",
    "DownloadBenchmarkTaskRunOutput",
    "GetBenchmarkTaskRunLogs",
    "GetBenchmarkTaskQuota",
    "PublishBenchmarkTask",
    "ListBenchmarkModels",
    "GetBenchmarkLeaderboard",
    "IntrospectToken",
    "CreateDefaultModelProxyToken",
]
GOOD_NOTEBOOK = make_notebook(DEFAULT_TASK_CODE)

Rpc = Callable[..., httpx.Response]


def rpc_path(method: str, prefix: str = "/api/v1") -> str:
    return f"{prefix}/{SERVICE_OF.get(method, TASKS)}/{method}"


def call(client: httpx.Client, method: str, body: dict | None = None, **kwargs) -> httpx.Response:
    """POST one RPC with a JSON body (`{}` by default); returns the raw response."""
    return client.post(rpc_path(method), json=body if body is not None else {}, **kwargs)
