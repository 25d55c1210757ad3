"""kagglesdk 0.1.37's own types as the judge of both ends of the wire.

- Every JSON answer of the simulator, for every RPC and in every state the demo seed has,
  parses with the kagglesdk response type and re-serialises to exactly the same JSON: no
  unknown fields, full enum names, timestamps and defaults as the SDK writes them.
- Every request body our client (`kbench_tui.api`) sends parses with the kagglesdk request
  type and re-serialises to the same JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_harness import QUEUE_SECONDS, RUN_SECONDS, SERVICE_OF, TASKS
from kagglesdk.benchmarks.types import benchmark_tasks_api_service as sdk_tasks
from kagglesdk.benchmarks.types import benchmarks_api_service as sdk_benchmarks
from kagglesdk.kaggle_object import KaggleObject
from kagglesdk.models.types import model_proxy_api_service as sdk_proxy
from kagglesdk.security.types import oauth_service as sdk_oauth

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.download import download_run_output
from kbench_tui.api.logs import stream_run_logs
from kbench_tui.config import Credentials
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.engine import DEFAULT_TASK_CODE
from kbench_tui.sim.notebook import make_notebook
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim
from kbench_tui.sim.seed import DEMO_BENCHMARK

pytestmark = pytest.mark.conformance

RESPONSE_TYPE: dict[str, type[KaggleObject]] = {
    "CreateBenchmarkTask": sdk_tasks.ApiBenchmarkTask,
    "BatchScheduleBenchmarkTaskRuns": sdk_tasks.ApiBatchScheduleBenchmarkTaskRunsResponse,
    "ListBenchmarkTasks": sdk_tasks.ApiListBenchmarkTasksResponse,
    "GetBenchmarkTask": sdk_tasks.ApiBenchmarkTask,
    "ListBenchmarkTaskRuns": sdk_tasks.ApiListBenchmarkTaskRunsResponse,
    "GetBenchmarkTaskQuota": sdk_tasks.ApiGetBenchmarkTaskQuotaResponse,
    "PublishBenchmarkTask": sdk_tasks.ApiBenchmarkTask,
    "ListBenchmarkModels": sdk_benchmarks.ApiListBenchmarkModelsResponse,
    "GetBenchmarkLeaderboard": sdk_benchmarks.ApiBenchmarkLeaderboard,
    "IntrospectToken": sdk_oauth.IntrospectTokenResponse,
    "CreateDefaultModelProxyToken": sdk_proxy.ApiCreateDefaultModelProxyTokenResponse,
}
REQUEST_TYPE: dict[str, type[KaggleObject]] = {
    "CreateBenchmarkTask": sdk_tasks.ApiCreateBenchmarkTaskRequest,
    "BatchScheduleBenchmarkTaskRuns": sdk_tasks.ApiBatchScheduleBenchmarkTaskRunsRequest,
    "ListBenchmarkTasks": sdk_tasks.ApiListBenchmarkTasksRequest,
    "GetBenchmarkTask": sdk_tasks.ApiGetBenchmarkTaskRequest,
    "ListBenchmarkTaskRuns": sdk_tasks.ApiListBenchmarkTaskRunsRequest,
    "DownloadBenchmarkTaskRunOutput": sdk_tasks.ApiDownloadBenchmarkTaskRunOutputRequest,
    "GetBenchmarkTaskRunLogs": sdk_tasks.ApiGetBenchmarkTaskRunLogsRequest,
    "GetBenchmarkTaskQuota": sdk_tasks.ApiGetBenchmarkTaskQuotaRequest,
    "PublishBenchmarkTask": sdk_tasks.ApiPublishBenchmarkTaskRequest,
    "ListBenchmarkModels": sdk_benchmarks.ApiListBenchmarkModelsRequest,
    "GetBenchmarkLeaderboard": sdk_benchmarks.ApiGetBenchmarkLeaderboardRequest,
    "IntrospectToken": sdk_oauth.IntrospectTokenRequest,
    "CreateDefaultModelProxyToken": sdk_proxy.ApiCreateDefaultModelProxyTokenRequest,
}
NOTEBOOK = make_notebook(DEFAULT_TASK_CODE)


# Defaults the simulator sends on purpose although kagglesdk would omit them (it reads them
# the same): empty lists (API reference §2: never `null`) and IntrospectToken's
# `"active": false` for an unknown token (§12).
EXPLICIT_DEFAULTS = {"IntrospectTokenResponse": {"active": False}}


def without_explicit_defaults(kind: type[KaggleObject], value: object) -> object:
    """`value` minus the explicitly sent defaults above, at any depth."""
    if isinstance(value, dict):
        skip = EXPLICIT_DEFAULTS.get(kind.__name__, {})
        return {
            k: without_explicit_defaults(kind, v)
            for k, v in value.items()
            if v != [] and not (k in skip and skip[k] == v)
        }
    if isinstance(value, list):
        return [without_explicit_defaults(kind, item) for item in value]
    return value


def round_trip_problem(kind: type[KaggleObject], body: dict, what: str) -> str | None:
    """None if `body` parses as `kind` and kagglesdk writes it back the same, else why not."""
    try:
        again = kind.from_dict(body).to_dict()
    except Exception as error:  # any parse or serialise failure is the finding
        return f"{what}: kagglesdk {kind.__name__} fails: {error!r}"
    expected = without_explicit_defaults(kind, body)
    if again != expected:
        return f"{what}: {kind.__name__} writes back {again!r}\n   instead of {expected!r}"
    return None


@pytest.fixture
def demo() -> Iterator[RunningSim]:
    """The demo seed (tasks and runs in every state, a leaderboard), users demo and alice."""
    config = SimConfig(seed="demo", users={"demo": "demo-token", "alice": "alice-token"})
    running = start_sim(config, clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


class Recorder:
    """Calls RPCs on the simulator and keeps every 200 JSON answer per method."""

    def __init__(self, sim: RunningSim) -> None:
        self.http = httpx.Client(
            base_url=sim.url, headers={"Authorization": "Bearer demo-token"}, timeout=10
        )
        self.answers: list[tuple[str, dict, dict]] = []

    def __call__(self, method: str, body: dict | None = None, *, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        path = f"/api/v1/{SERVICE_OF.get(method, TASKS)}/{method}"
        response = self.http.post(path, json=body or {}, headers=headers)
        assert response.status_code == 200, f"{method} {body}: {response.text}"
        assert response.headers["content-type"].startswith("application/json")
        answer = response.json()
        self.answers.append((method, body or {}, answer))
        return answer

    def pages(self, method: str, body: dict, key: str) -> list[dict]:
        items: list[dict] = []
        token = ""
        while True:
            page = self(method, {**body, "pageToken": token})
            items.extend(page[key])
            token = page.get("nextPageToken", "")
            if not token:
                return items


@pytest.fixture
def call(demo: RunningSim) -> Iterator[Recorder]:
    recorder = Recorder(demo)
    try:
        yield recorder
    finally:
        recorder.http.close()


def test_every_simulator_answer_parses_with_kagglesdk_types(
    demo: RunningSim, call: Recorder
) -> None:
    tasks = call.pages("ListBenchmarkTasks", {"pageSize": 5}, "tasks")
    call.pages("ListBenchmarkTasks", {"statusFilter": "completed", "regexFilter": "a"}, "tasks")
    states = set()
    for task in tasks:
        slug = {"taskSlug": task["slug"]["taskSlug"]}
        states.add(call("GetBenchmarkTask", {"slug": slug})["creationState"])
        for run in call.pages("ListBenchmarkTaskRuns", {"taskSlug": slug, "pageSize": 2}, "runs"):
            states.add(run["state"])
    assert len(states) >= 7  # build and run states alike were looked at

    call.pages("ListBenchmarkModels", {}, "benchmarkModels")
    owner, benchmark = "demo", DEMO_BENCHMARK[0]
    assert call("GetBenchmarkLeaderboard", {"ownerSlug": owner, "benchmarkSlug": benchmark})["rows"]
    call("GetBenchmarkTaskQuota")
    call("IntrospectToken", {"token": "demo-token"})
    call("IntrospectToken", {"token": "unknown-token"}, token="unknown-token")
    call("CreateDefaultModelProxyToken")

    created = call(
        "CreateBenchmarkTask",
        {"slug": "sdk-check", "text": NOTEBOOK, "options": {"datasetDataSources": ["a/b"]}},
    )
    assert created["creationState"].endswith("_QUEUED")
    call("CreateBenchmarkTask", {"slug": "sdk-broken", "text": make_notebook("def (:\n")})
    demo.clock.advance(3600)
    call("GetBenchmarkTask", {"slug": {"taskSlug": "sdk-broken"}})
    models = ["gemini-2.5-flash", "anthropic/claude-sonnet-4-6@default"]
    call(
        "BatchScheduleBenchmarkTaskRuns",
        {"taskSlugs": [{"taskSlug": "sdk-check"}], "modelVersionSlugs": models},
    )
    skipped = call(
        "BatchScheduleBenchmarkTaskRuns",
        {"taskSlugs": [{"taskSlug": "sdk-check"}], "modelVersionSlugs": models[:1]},
    )
    assert skipped["results"][0].get("runSkippedReason")
    demo.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    call("ListBenchmarkTaskRuns", {"taskSlug": {"taskSlug": "sdk-check"}})
    call(
        "PublishBenchmarkTask", {"slug": {"taskSlug": "sdk-check"}, "publishBackingNotebook": True}
    )
    call(
        "GetBenchmarkTask",
        {"slug": {"ownerSlug": "demo", "taskSlug": "sdk-check", "versionNumber": 1}},
    )

    assert {method for method, _, _ in call.answers} == set(RESPONSE_TYPE)
    problems = [
        round_trip_problem(RESPONSE_TYPE[method], answer, f"{method} answer to {body}")
        for method, body, answer in call.answers
    ]
    assert [p for p in problems if p] == []


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to a real transport and keeps each RPC's method and JSON body."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bodies: list[tuple[str, dict]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "/v1/" in request.url.path:
            content = await request.aread()
            method = request.url.path.rsplit("/", 1)[-1]
            self.bodies.append((method, json.loads(content) if content else {}))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_every_request_our_client_sends_round_trips_through_kagglesdk(
    demo: RunningSim, tmp_path: Path
) -> None:
    transport = RecordingTransport()
    credentials = Credentials.token("demo-token")
    async with BenchmarksClient(demo.url, credentials, transport=transport) as client:
        await client.introspect_token("demo-token")
        await client.list_all_tasks()
        await client.list_all_tasks(status="completed", regex="^m", page_size=5)
        await client.create_task("client-check", NOTEBOOK, ["alice/qa-pairs"])
        await client.create_task("client-check-plain", NOTEBOOK)
        await client.get_task("client-check")
        await client.get_task("demo/client-check", version=1)
        demo.clock.advance(3600)
        await client.schedule_runs("client-check", ["gemini-2.5-flash", "openai/gpt-5"])
        demo.clock.advance(QUEUE_SECONDS + RUN_SECONDS / 2)
        runs = await client.list_all_runs("client-check", ["google/gemini-2.5-flash"])
        await client.list_runs("client-check", page_size=1)
        async for _entry in stream_run_logs(client, runs[0].id):
            demo.clock.advance(RUN_SECONDS)
        await download_run_output(client, runs[0].id, tmp_path / "out", include_source=True)
        await client.get_quota()
        await client.publish_task("client-check")
        await client.publish_task("client-check-plain", publish_backing_notebook=False)
        await client.list_all_models()
        await client.list_models(page_size=3)
        await client.get_leaderboard("demo", DEMO_BENCHMARK[0])
        await client.get_leaderboard("demo", DEMO_BENCHMARK[0], version=1)
        await client.create_model_proxy_token()

    assert {method for method, _ in transport.bodies} == set(REQUEST_TYPE)
    problems = [
        round_trip_problem(REQUEST_TYPE[method], body, f"our {method} request {body}")
        for method, body in transport.bodies
    ]
    assert [p for p in problems if p] == []
