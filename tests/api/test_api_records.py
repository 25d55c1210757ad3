"""The export's pydantic-free path (`records.py`, `reader.py`) held to the models' rules.

The reader must send the client's requests byte for byte and read every answer exactly as
the models do — the same values, the same refusals — and take the fast (plain) path for
what the service really sends, or the export's start-up quietly slows down again.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from kbench_tui.api import models
from kbench_tui.api.client import BenchmarksClient
from kbench_tui.api.errors import ProtocolError
from kbench_tui.api.reader import TaskReader, _decoded, sharing
from kbench_tui.api.records import (
    IntrospectRecord,
    NotPlain,
    QuotaRecord,
    Record,
    RunRecord,
    RunsPage,
    TaskOptionsRecord,
    TaskRecord,
    TaskSlugRecord,
    TasksPage,
)
from kbench_tui.api.retry import RetryPolicy
from kbench_tui.config import Credentials
from kbench_tui.slugs import TaskRef

RECORDS = [
    TaskSlugRecord,
    TaskOptionsRecord,
    TaskRecord,
    RunRecord,
    TasksPage,
    RunsPage,
    QuotaRecord,
    IntrospectRecord,
]

SLUG = {"ownerSlug": "demo", "taskSlug": "math-qa", "versionNumber": 2}
TASK = {
    "slug": SLUG,
    "url": "/benchmarks/tasks/demo/math-qa/2",
    "error": "",
    "creationState": "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED",
    "createTime": "2026-03-01T12:00:00.123Z",
    "creationErrorMessage": "boom",
    "isPublic": False,
    "sourceKernelId": 123,
    "isBackingNotebookPublished": True,
    "options": {"datasetDataSources": ["demo/data"]},
    "source": "CLI",
}
RUN = {
    "taskSlug": SLUG,
    "modelVersionSlug": "google/gemini-2.5-flash",
    "id": 41,
    "state": "BENCHMARK_TASK_RUN_STATE_ERRORED",
    "startTime": "2026-03-01T12:00:00Z",
    "endTime": "2026-03-01T14:01:00.5+02:00",
    "errorMessage": "Traceback\n  ...\nValueError: no\n",
}
QUOTA = {"dailyQuotaUsed": 1.25, "totalDailyQuotaAllowed": 10}
WHO = {
    "active": True,
    "clientId": "kbench",
    "username": "demo",
    "userId": "7",
    "scope": "benchmarks",
    "exp": 1772366400,
}
BASES: dict[type[Record], dict[str, Any]] = {
    TaskSlugRecord: SLUG,
    TaskOptionsRecord: TASK["options"],
    TaskRecord: TASK,
    RunRecord: RUN,
    TasksPage: {"tasks": [TASK, TASK], "totalResults": 2, "nextPageToken": "p2"},
    RunsPage: {"runs": [RUN], "totalResults": "1", "nextPageToken": ""},
    QuotaRecord: QUOTA,
    IntrospectRecord: WHO,
}
# Every JSON type, with the near misses where lenient parsers tend to differ.
VALUES: list[Any] = [
    None, "", "x", "41", "-3", "0041", " 41", "4_1", "41.0", "+41", "1e3", "१२",
    "9" * 19, 0, 41, -3, 10**30, 41.0, 41.5, True, False, [], ["a"], ["a", 1], [None],
    {}, {"taskSlug": "t"}, {"datasetDataSources": ["d"]}, {"datasetDataSources": None},
    "2026-03-01T12:00:00Z", "2026-03-01T14:00:00.5+02:00", "2026-13-01T00:00:00Z",
    "COMPLETED", "completed", "BENCHMARK_TASK_RUN_STATE_TELEPORTED", 3, 99, "true", 1, 1.0,
]  # fmt: skip


NESTED = {
    TaskRecord: {"slug": TaskSlugRecord, "options": TaskOptionsRecord},
    RunRecord: {"taskSlug": TaskSlugRecord},
}
LISTS = {TasksPage: {"tasks": TaskRecord}, RunsPage: {"runs": RunRecord}}


def assert_same(ours: Any, theirs: Any, path: str = "") -> None:
    """`ours` (a record, or the models' fallback) reads exactly like the model `theirs`."""
    if isinstance(theirs, BaseModel):
        fields = list(type(theirs).model_fields)
        if isinstance(ours, Record):
            assert [f.name for f in ours.FIELDS] == fields, path
        else:
            assert type(ours) is type(theirs), path
        for name in fields:
            assert_same(getattr(ours, name), getattr(theirs, name), f"{path}.{name}")
    elif isinstance(theirs, list):
        assert type(ours) is list and len(ours) == len(theirs), path
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(mine, other, f"{path}[{index}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, (path, ours, theirs)


def outcome(record: type[Record], data: dict[str, Any]) -> tuple[Any, Any]:
    """(what the reader makes of `data`, what the model makes of it); errors as None."""
    try:
        ours = _decoded(record, data, "Rpc")
    except ProtocolError:
        ours = None
    try:
        theirs = getattr(models, record.MODEL).model_validate(data)
    except ValidationError:
        theirs = None
    return ours, theirs


def variants(base: dict[str, Any], record: type[Record]) -> list[dict[str, Any]]:
    """`base` with each field (by wire name and by Python name, and inside each nested
    object or first list element) replaced by each of VALUES, and by a list of it."""
    out = []
    for field in record.FIELDS:
        for value in VALUES:
            out.append({**base, field.alias: value})
            out.append({**base, field.alias: [value]})
            if field.name != field.alias:
                out.append({**base, field.name: value})
    for key, inner in NESTED.get(record, {}).items():
        out += [{**base, key: changed} for changed in variants(base[key], inner)]
    for key, inner in LISTS.get(record, {}).items():
        out += [{**base, key: [changed]} for changed in variants(base[key][0], inner)]
    return out


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_each_record_has_its_models_fields_wire_names_and_defaults(record) -> None:
    model = getattr(models, record.MODEL)
    assert [f.name for f in record.FIELDS] == list(model.model_fields)
    for field in record.FIELDS:
        assert field.alias == to_camel(field.name) == model.model_fields[field.name].alias
    assert_same(record(), model())
    assert_same(record.decode({}), model.model_validate({}))


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_every_answer_reads_as_the_model_reads_it_or_is_refused_alike(record) -> None:
    cases = variants(BASES[record], record)
    # Each value and a list of it per field, and by its Python name where that differs.
    per_field = [(3 if f.name != f.alias else 2) * len(VALUES) for f in record.FIELDS]
    assert len(cases) >= sum(per_field)
    differ = []
    for data in cases:
        ours, theirs = outcome(record, data)
        if (ours is None) != (theirs is None):
            differ.append((data, ours, theirs))
        elif theirs is not None:
            assert_same(ours, theirs, json.dumps(data)[:200])
    assert differ == []


def test_what_the_service_sends_takes_the_plain_path() -> None:
    for record, base in BASES.items():
        assert isinstance(record.decode(base), record)
    # Unknown enum values, int64 as a string, nulls and unknown keys are plain too.
    run = RunRecord.decode(
        {**RUN, "state": "BENCHMARK_TASK_RUN_STATE_TELEPORTED", "id": "41", "endTime": None}
        | {"newField": {"x": 1}}
    )
    assert run.state == "BENCHMARK_TASK_RUN_STATE_TELEPORTED" and not run.state.known
    assert not run.state.is_terminal and run.id == 41 and run.end_time is None
    assert run.model == "gemini-2.5-flash" and run.error_summary == "ValueError: no"
    assert TaskSlugRecord.decode(SLUG).ref == TaskRef(task="math-qa", owner="demo")
    # Not plain: a float id, a snake_case key, a list where an object belongs.
    for odd in ({**RUN, "id": 41.0}, {**RUN, "model_version_slug": "x"}, {**RUN, "taskSlug": []}):
        with pytest.raises(NotPlain):
            RunRecord.decode(odd)
    with pytest.raises(TypeError):
        RunRecord(nope=1)
    # A quota is a JSON number (an int is a float); a numeric string or a bool is not plain.
    assert QuotaRecord.decode({"dailyQuotaUsed": 2}).daily_quota_used == 2.0
    for odd_number in ("2.5", True):
        with pytest.raises(NotPlain):
            QuotaRecord.decode({"dailyQuotaUsed": odd_number})


def _answer(request: httpx.Request) -> httpx.Response:
    method = request.url.path.rsplit("/", 1)[-1]
    body = json.loads(request.content)
    if method == "GetBenchmarkTask":
        return httpx.Response(200, json=TASK)
    if method == "ListBenchmarkTasks":
        more = body.get("pageToken") != "p2"
        return httpx.Response(200, json={"tasks": [TASK], "nextPageToken": "p2" if more else ""})
    if method == "GetBenchmarkTaskQuota":
        return httpx.Response(200, json=QUOTA)
    if method == "IntrospectToken":
        return httpx.Response(200, json={**WHO, "active": body.get("token") == "tok"})
    if method == "ListBenchmarkTaskRuns":
        other = {**RUN, "id": "42", "modelVersionSlug": "openai/gpt-5@default"}
        if body.get("pageToken") == "p2":
            return httpx.Response(200, json={"runs": [other, {**RUN, "state": 3}]})
        return httpx.Response(200, json={"runs": [RUN], "nextPageToken": "p2"})
    return httpx.Response(404, json={"code": 404, "message": "no such RPC"})


CALLS = [
    ("get_task", (TaskRef(task="math-qa"),)),
    ("get_task", (TaskRef(task="math-qa", owner="demo"), 3)),
    ("get_task", (TaskRef(task="math-qa", owner=""), 0)),
    ("get_task", ("Demo/Math QA",)),
    ("list_tasks", ()),
    ("list_tasks", ("completed", "^m", 100, "tok")),
    ("list_tasks", ("", "", 0, "")),
    ("list_all_tasks", ()),
    ("list_all_tasks", ("errored", "x", 7)),
    ("list_runs", (TaskRef(task="math-qa"),)),
    ("list_runs", ("demo/math-qa", ["google/gemini-2.5-flash", "gpt-5@default"], "tok", 50)),
    ("list_all_runs", (TaskRef(task="math-qa", owner="demo"),)),
    ("list_all_runs", (TaskRef(task="math-qa"), ["Google/Gemini-2.5-Flash"])),
    ("get_quota", ()),
    ("introspect_token", ("tok",)),
    ("introspect_token", ("",)),
]


@pytest.mark.parametrize(("method", "args"), CALLS, ids=lambda c: str(c))
async def test_the_reader_sends_the_clients_requests_and_reads_its_answers(method, args) -> None:
    sent: dict[str, list[tuple[str, dict[str, str], bytes]]] = {"reader": [], "client": []}

    def recorder(name: str) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            headers = {k: v for k, v in request.headers.items() if k != "content-length"}
            sent[name].append((str(request.url), headers, request.content))
            return _answer(request)

        return httpx.MockTransport(handler)

    options = {"retry": RetryPolicy(max_attempts=1)}
    credentials = Credentials.token("demo-token", source="test")
    async with (
        TaskReader("http://sim.test", credentials, transport=recorder("reader"), **options) as r,
        BenchmarksClient(
            "http://sim.test", credentials, transport=recorder("client"), **options
        ) as c,
    ):
        ours = await getattr(r, method)(*args)
        theirs = await getattr(c, method)(*args)
    assert sent["reader"] == sent["client"]
    assert_same(ours, theirs)


async def test_an_answer_the_model_refuses_is_the_clients_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"runs": [{**RUN, "id": "forty-one"}]})

    async with TaskReader(
        "http://sim.test",
        Credentials.token("demo-token", source="test"),
        transport=httpx.MockTransport(handler),
    ) as reader:
        with pytest.raises(ProtocolError, match="unexpected answer shape") as caught:
            await reader.list_runs(TaskRef(task="t"))
    assert caught.value.rpc == "ListBenchmarkTaskRuns"


async def test_the_simulators_tasks_and_runs_read_alike_on_the_plain_path(demo_sim) -> None:
    credentials = Credentials.token("demo-token", source="test")
    async with (
        TaskReader(demo_sim.url, credentials) as reader,
        BenchmarksClient(demo_sim.url, credentials) as client,
    ):
        tasks = await reader.list_all_tasks()
        assert tasks and all(type(task) is TaskRecord for task in tasks)
        assert_same(tasks, await client.list_all_tasks())
        runs = 0
        for task in tasks:
            ours = await reader.list_all_runs(task.slug.ref)
            assert all(type(run) is RunRecord for run in ours)
            assert_same(ours, await client.list_all_runs(task.slug.ref))
            assert_same(await reader.get_task(task.slug.ref), await client.get_task(task.slug.ref))
            runs += len(ours)
        # The dashboard's poller and status bar read these two through the reader too.
        quota = await reader.get_quota()
        assert type(quota) is QuotaRecord
        assert_same(quota, await client.get_quota())
        who = await reader.introspect_token("demo-token")
        assert type(who) is IntrospectRecord and who.active and who.username
        assert_same(who, await client.introspect_token("demo-token"))
    assert runs > 0


async def test_a_client_made_on_a_readers_connection_shares_its_pool_and_settings() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return _answer(request)

    policy = RetryPolicy(max_attempts=2)
    reader = TaskReader(
        "http://sim.test/",
        Credentials.token("demo-token", source="test"),
        transport=httpx.MockTransport(handler),
        retry=policy,
    )
    client = sharing(reader, BenchmarksClient)
    assert type(client) is BenchmarksClient and client.http is reader.http
    assert (client.endpoint, client.credentials, client.retry) == (
        reader.endpoint,
        reader.credentials,
        policy,
    )
    assert client.rpc_url("s", "M") == reader.rpc_url("s", "M") == "http://sim.test/api/v1/s/M"
    assert_same(await reader.get_task("math-qa"), await client.get_task("math-qa"))
    assert sent == ["Bearer demo-token"] * 2
    await reader.aclose()  # one pool: closing the reader closes the client's too
    assert client.http.is_closed


@pytest.mark.parametrize(
    ("record", "data"),
    [
        ("QuotaRecord", {"dailyQuotaUsed": 10**400, "totalDailyQuotaAllowed": 20}),
        ("RunRecord", {"id": 1, "startTime": "0001-01-01T00:00:00+01:00"}),
    ],
)
def test_numbers_and_dates_out_of_range_are_a_protocol_error(record: str, data: dict) -> None:
    """Not a raw OverflowError: the poller and the export handle ProtocolError."""
    from kbench_tui.api import records
    from kbench_tui.api.reader import _decoded

    with pytest.raises(ProtocolError):
        _decoded(getattr(records, record), data, "Rpc")
