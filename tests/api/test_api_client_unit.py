"""The client against an in-memory transport: URLs, headers, error mapping, retry rules."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from api_helpers import CANARY, mock_client

from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnreachableError,
)
from kbench_tui.api.retry import RetryPolicy, parse_retry_after
from kbench_tui.slugs import TaskRef

TASK = {"slug": {"ownerSlug": "demo", "taskSlug": "t", "versionNumber": 1}}


def test_rpc_url_mirrors_kagglesdk() -> None:
    def url(endpoint: str) -> str:
        return BenchmarksClient(endpoint, None).rpc_url("s.Svc", "M")

    assert url("https://api.kaggle.com") == "https://api.kaggle.com/v1/s.Svc/M"
    assert url("http://localhost") == "http://localhost/api/v1/s.Svc/M"
    assert url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765/api/v1/s.Svc/M"
    assert url("http://127.0.0.1:8765/v1") == "http://127.0.0.1:8765/v1/s.Svc/M"
    assert url("http://h/api/v1/") == "http://h/api/v1/s.Svc/M"


async def test_request_shape_headers_and_typed_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=TASK)

    client, _ = mock_client(handler)
    async with client:
        task = await client.get_task("Demo/T")
    assert task.slug.version_number == 1
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/benchmarks.BenchmarkTasksApiService/GetBenchmarkTask"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == f"Bearer {CANARY}"
    assert request.headers["user-agent"].startswith("kbench-tui/")
    assert json.loads(request.content) == {"slug": {"ownerSlug": "demo", "taskSlug": "t"}}
    assert CANARY not in repr(client)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, BadRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
async def test_status_maps_to_typed_errors(status: int, error_type: type[ApiError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": status, "message": "the server says no"})

    client, _ = mock_client(handler, attempts=1)
    with pytest.raises(error_type) as caught:
        await client.get_task(TaskRef("t"))
    error = caught.value
    assert error.status == status
    assert "the server says no" in str(error) or status in (401, 403)
    assert CANARY not in str(error) and CANARY not in repr(error)
    assert " — " in str(error)  # every message says what to do next


async def test_auth_error_says_how_to_fix_credentials() -> None:
    client, _ = mock_client(lambda r: httpx.Response(401, json={"code": 401, "message": "bad"}))
    with pytest.raises(AuthError) as caught:
        await client.list_tasks()
    assert "credentials rejected" in str(caught.value)
    assert "KAGGLE_API_TOKEN" in str(caught.value)


async def test_json_error_body_on_http_200_is_an_error() -> None:
    client, sleep = mock_client(
        lambda r: httpx.Response(200, json={"code": 404, "message": "gone"})
    )
    with pytest.raises(NotFoundError, match="gone"):
        await client.get_task("t")
    assert sleep.delays == []


async def test_html_error_page_is_a_server_error_without_the_html() -> None:
    page = "<html><body>" + "x" * 5000 + "</body></html>"
    client, _ = mock_client(lambda r: httpx.Response(502, text=page), attempts=2)
    with pytest.raises(ServerError) as caught:
        await client.list_tasks()
    assert "<html>" not in str(caught.value) and "Bad Gateway" in str(caught.value)


class Script:
    """Answers requests from a list of responses/exceptions, then repeats the last one."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        return step


def ok() -> httpx.Response:
    return httpx.Response(200, json={"tasks": [TASK]})


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.Response(500, json={"code": 500, "message": "oops"}),
        httpx.Response(503, json={"code": 503, "message": "busy"}),
        httpx.Response(429, json={"code": 429, "message": "slow down"}),
        httpx.Response(200, content=b'{"tasks": [', headers={"content-type": "application/json"}),
        httpx.Response(200, text="<html>proxy login</html>"),
    ],
)
async def test_reads_retry_transient_failures_with_backoff(failure: object) -> None:
    script = Script(failure, failure, ok())  # type: ignore[arg-type]
    retries: list[tuple[int, float, str]] = []
    client, sleep = mock_client(
        script, on_retry=lambda n, d, e: retries.append((n, d, type(e).__name__))
    )
    page = await client.list_tasks()
    assert len(page.tasks) == 1
    assert script.calls == 3
    assert sleep.delays == [0.5, 1.0]  # rng()=1: base * 2**n, full jitter upper bound
    assert [r[:2] for r in retries] == [(1, 0.5), (2, 1.0)]


async def test_retries_are_bounded_and_end_in_the_typed_error() -> None:
    script = Script(httpx.Response(503, json={"code": 503, "message": "busy"}))
    client, sleep = mock_client(script, attempts=4)
    with pytest.raises(ServerError):
        await client.list_tasks()
    assert script.calls == 4
    assert sleep.delays == [0.5, 1.0, 2.0]


async def test_connect_errors_end_as_unreachable_after_retries() -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    client, sleep = mock_client(script, attempts=3)
    with pytest.raises(UnreachableError) as caught:
        await client.get_quota()
    assert script.calls == 3 and len(sleep.delays) == 2
    assert "sim.test" in str(caught.value) and CANARY not in str(caught.value)


async def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_attempts=10, base=0.5, cap=8.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.backoff(3, lambda: 0.25) == 1.0
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


async def test_retry_after_seconds_and_http_date_are_honoured() -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    script = Script(
        httpx.Response(429, json={"code": 429, "message": "x"}, headers={"Retry-After": "3"}),
        httpx.Response(
            503,
            json={"code": 503, "message": "x"},
            headers={"Retry-After": format_datetime(later, usegmt=True)},
        ),
        ok(),
    )
    client, sleep = mock_client(script)
    await client.list_tasks()
    assert sleep.delays[0] == 3.0
    assert 25 <= sleep.delays[1] <= 30


async def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    script = Script(
        httpx.Response(429, json={"code": 429, "message": "x"}, headers={"Retry-After": "3600"})
    )
    client, sleep = mock_client(script)
    with pytest.raises(RateLimitedError) as caught:
        await client.list_tasks()
    assert caught.value.retry_after == 3600 and sleep.delays == [] and script.calls == 1
    assert "3600 s" in str(caught.value)


def test_parse_retry_after() -> None:
    now = datetime(2026, 3, 26, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Thu, 26 Mar 2026 00:00:10 GMT", now) == 10
    assert parse_retry_after("Thu, 26 Mar 2026 00:00:00 GMT", now + timedelta(seconds=5)) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (httpx.ConnectError("refused"), True),  # never reached the server
        (httpx.ConnectTimeout("slow connect"), True),
        (httpx.Response(429, json={"code": 429, "message": "x"}), True),
        (httpx.Response(503, json={"code": 503, "message": "x"}), True),
        (httpx.Response(500, json={"code": 500, "message": "x"}), False),  # may have acted
        (httpx.Response(502, text="bad gateway"), False),
        (httpx.ReadTimeout("no answer"), False),
        (httpx.RemoteProtocolError("dropped"), False),
        (httpx.Response(200, content=b"{", headers={"content-type": "application/json"}), False),
    ],
)
async def test_writes_retry_only_when_the_server_cannot_have_acted(
    failure: object, retried: bool
) -> None:
    script = Script(failure, httpx.Response(200, json={"results": []}))  # type: ignore[arg-type]
    client, _ = mock_client(script)
    if retried:
        await client.schedule_runs("t", ["google/gemini-2.5-flash"])
        assert script.calls == 2
    else:
        with pytest.raises(ApiError):
            await client.schedule_runs("t", ["google/gemini-2.5-flash"])
        assert script.calls == 1


async def test_read_timeout_on_a_write_says_it_may_have_been_applied() -> None:
    client, _ = mock_client(Script(httpx.ReadTimeout("no answer")))
    with pytest.raises(UnreachableError, match="may have been applied"):
        await client.create_task("t", "{}")


async def test_list_all_exhausts_page_tokens() -> None:
    tokens: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = json.loads(request.content).get("pageToken")
        tokens.append(token)
        following = {None: "p2", "p2": "p3", "p3": None}[token]
        return httpx.Response(200, json={"tasks": [TASK], "nextPageToken": following})

    client, _ = mock_client(handler)
    assert len(await client.list_all_tasks()) == 3
    assert tokens == [None, "p2", "p3"]


async def test_a_repeating_page_token_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"runs": [], "nextPageToken": "again"})

    client, _ = mock_client(handler)
    with pytest.raises(ProtocolError, match="twice"):
        await client.list_all_runs("t")


async def test_model_slugs_are_normalised_and_runs_filtered_client_side() -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        runs = [
            {"id": 1, "modelVersionSlug": "claude-sonnet-4-6-default"},
            {"id": 2, "modelVersionSlug": "gemini-2.5-flash"},
        ]
        return httpx.Response(200, json={"runs": runs})

    client, _ = mock_client(handler)
    runs = await client.list_all_runs("My Task", models=["anthropic/claude-sonnet-4-6@default"])
    assert [run.id for run in runs] == [1]
    assert bodies[0] == {
        "taskSlug": {"taskSlug": "my-task"},
        "modelVersionSlugs": ["claude-sonnet-4-6-default"],
        "pageSize": 100,
    }


async def test_create_task_with_an_error_field_fails() -> None:
    client, _ = mock_client(lambda r: httpx.Response(200, json={**TASK, "error": "bad notebook"}))
    with pytest.raises(BadRequestError, match="bad notebook"):
        await client.create_task("t", "{}")


async def test_unexpected_answer_shape_is_a_protocol_error() -> None:
    client, _ = mock_client(lambda r: httpx.Response(200, json={"slug": "not-an-object"}))
    with pytest.raises(ProtocolError, match="shape"):
        await client.get_task("t")
    client, _ = mock_client(lambda r: httpx.Response(200, json=[1, 2]), attempts=1)
    with pytest.raises(ProtocolError, match="JSON object"):
        await client.get_task("t")
