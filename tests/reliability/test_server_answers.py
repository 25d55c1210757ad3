"""Hostile answers from the service: the export either carries the data intact or stops
with one clear line — never a traceback, never a half-written file.

The service here is an in-memory fake (`httpx.MockTransport`) that answers every RPC
like the real one except for the single hostile answer a row is about.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from reliability_support import EXPORT_ATTEMPTS, assert_clear_error, run_cli

TASK = {
    "slug": {"ownerSlug": "demo", "taskSlug": "hostile", "versionNumber": 1},
    "creationState": "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED",
    "url": "/benchmarks/tasks/demo/hostile/1",
    "createTime": "2026-03-01T12:00:00Z",
}
RUN = {
    "id": 41,
    "modelVersionSlug": "gemini-2.5-flash",
    "state": "BENCHMARK_TASK_RUN_STATE_COMPLETED",
    "startTime": "2026-03-01T12:00:00Z",
    "endTime": "2026-03-01T12:01:00Z",
}
RUN_FILE = {"results": [{"type": "AGGREGATED", "booleanResult": True}]}
ONE_MB_LINE = "x" * 1_000_000 + "\n"
MANY_LINES = [f"line {number}\n" for number in range(200_000)]


class _Body(httpx.AsyncByteStream):
    """A streamed body, as a real server sends a zip (MockTransport would pre-read bytes)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.data:
            yield self.data


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD_ZIP = _zip({"hostile.run.json": json.dumps(RUN_FILE).encode()})


def zip_answer(data: bytes) -> httpx.Response:
    return httpx.Response(
        200,
        stream=_Body(data),
        headers={"content-type": "application/zip", "content-length": str(len(data))},
    )


Answer = Callable[[httpx.Request], httpx.Response | None]


class FakeService:
    """Answers like the service; `hostile(method)` may replace one RPC's answer."""

    def __init__(self, hostile: dict[str, Answer]) -> None:
        self.hostile = hostile
        self.calls: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        self.calls[method] += 1
        override = self.hostile.get(method)
        if override is not None:
            answer = override(request)
            if answer is not None:
                return answer
        if method == "ListBenchmarkTasks":
            return httpx.Response(200, json={"tasks": [TASK]})
        if method == "ListBenchmarkTaskRuns":
            return httpx.Response(200, json={"runs": [RUN]})
        if method == "GetBenchmarkTaskRunLogs":
            return httpx.Response(200, json=[{"stream_name": "stdout", "data": "ok\n"}])
        if method == "DownloadBenchmarkTaskRunOutput":
            return zip_answer(GOOD_ZIP)
        return httpx.Response(404, json={"code": 404, "message": "no such RPC"})


def json_answer(body: object, status: int = 200) -> Answer:
    return lambda request: httpx.Response(status, json=body)


def raw_answer(status: int, content: bytes, content_type: str) -> Answer:
    return lambda request: httpx.Response(
        status, content=content, headers={"content-type": content_type}
    )


HTML_PAGE = b"<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class Hostile:
    id: str
    answers: dict[str, Answer]
    code: int
    check: Callable[[dict | None, str, FakeService, Path], None]


def _only_run(document: dict | None) -> dict:
    assert document is not None
    (task,) = document["tasks"]
    (run,) = task["runs"]
    return run


def fails_with(*words: str, attempts: dict[str, int] | None = None) -> Callable:
    def check(document: dict | None, err: str, service: FakeService, outputs: Path) -> None:
        line = assert_clear_error(err)
        assert all(word in line for word in words), line
        if attempts is not None:
            for method, count in attempts.items():
                assert service.calls[method] == count, service.calls

    return check


def check_unknown_enums(document, err, service, outputs) -> None:
    task = document["tasks"][0]
    run = _only_run(document)
    # Shown as sent, not crashed on; an unknown run state is not treated as finished.
    assert task["state"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_REVIEWING"
    assert run["state"] == "BENCHMARK_TASK_RUN_STATE_TELEPORTED"
    assert run["log"] is None and "result" not in run
    assert err == ""


def check_missing_fields(document, err, service, outputs) -> None:
    run = _only_run(document)
    assert document["tasks"][0]["slug"] == "hostile"
    assert run["id"] == 41 and run["model"] == "" and run["started"] is None
    assert run["durationSeconds"] is None
    assert err == ""


def check_log(expected: str) -> Callable:
    def check(document, err, service, outputs) -> None:
        run = _only_run(document)
        assert run["log"] == expected  # every byte, in order, nothing doubled
        # The output was downloaded and read next to the log: the run passed.
        assert run["result"]["kind"] == "boolean" and run["result"]["passed"] is True
        assert err == ""

    return check


def check_bad_zip(document, err, service, outputs) -> None:
    run = _only_run(document)
    assert run["result"] is None and run["log"] == "ok\n"
    line = assert_clear_error(err)
    assert line.startswith("warning: output of run 41") and "Bad zip" in line
    # The run folder was not created: no half-extracted output to mistake for a result.
    assert not (outputs / "hostile" / "1" / "gemini-2.5-flash" / "41").exists()


CASES = [
    Hostile(
        "unknown-enum-values",
        {
            "ListBenchmarkTasks": json_answer(
                {"tasks": [TASK | {"creationState": "BENCHMARK_TASK_VERSION_CREATION_STATE_REVIEWING"}]}
            ),
            "ListBenchmarkTaskRuns": json_answer(
                {"runs": [RUN | {"state": "BENCHMARK_TASK_RUN_STATE_TELEPORTED"}]}
            ),
        },
        0,
        check_unknown_enums,
    ),
    Hostile(
        "missing-fields",
        {"ListBenchmarkTaskRuns": json_answer({"runs": [{"id": 41}]})},
        0,
        check_missing_fields,
    ),
    Hostile(
        "html-error-page",
        {"ListBenchmarkTasks": raw_answer(502, HTML_PAGE, "text/html")},
        4,
        fails_with("HTTP 502", "try again", attempts={"ListBenchmarkTasks": EXPORT_ATTEMPTS}),
    ),
    Hostile(
        "html-page-with-200",
        {"ListBenchmarkTasks": raw_answer(200, HTML_PAGE, "text/html; charset=utf-8")},
        4,
        fails_with("expected JSON, got text/html", "--endpoint"),
    ),
    Hostile(
        "empty-body",
        {"ListBenchmarkTasks": raw_answer(200, b"", "application/json")},
        4,
        fails_with("not valid JSON", "try again"),
    ),
    Hostile(
        "json-array-not-object",
        {"ListBenchmarkTasks": json_answer([TASK])},
        4,
        fails_with("expected a JSON object, got list"),
    ),
    Hostile(
        "wrong-field-types",
        {"ListBenchmarkTaskRuns": json_answer({"runs": [RUN | {"id": "forty-one"}]})},
        4,
        fails_with("ListBenchmarkTaskRuns", "unexpected answer shape"),
    ),
    Hostile(
        "page-token-forever",
        {"ListBenchmarkTasks": json_answer({"tasks": [TASK], "nextPageToken": "again"})},
        4,
        fails_with("came back twice", attempts={"ListBenchmarkTasks": 2}),
    ),
    Hostile(
        "truncated-persisted-log",
        {"GetBenchmarkTaskRunLogs": raw_answer(200, b'[{"data": "ok\\n"}, {"da', "application/json")},
        4,
        fails_with("persisted log is not valid JSON", attempts={"GetBenchmarkTaskRunLogs": EXPORT_ATTEMPTS}),
    ),
    Hostile(
        "huge-1mb-log-line",
        {"GetBenchmarkTaskRunLogs": json_answer([{"stream_name": "stdout", "data": ONE_MB_LINE}])},
        0,
        check_log(ONE_MB_LINE),
    ),
    Hostile(
        "log-of-200k-lines",
        {"GetBenchmarkTaskRunLogs": json_answer([{"data": line} for line in MANY_LINES])},
        0,
        check_log("".join(MANY_LINES)),
    ),
    Hostile(
        "zero-byte-zip",
        {"DownloadBenchmarkTaskRunOutput": lambda request: zip_answer(b"")},
        0,
        check_bad_zip,
    ),
    Hostile(
        "corrupt-zip",
        {"DownloadBenchmarkTaskRunOutput": lambda request: zip_answer(GOOD_ZIP[: len(GOOD_ZIP) // 2] + b"\0" * 64)},
        0,
        check_bad_zip,
    ),
    Hostile(
        "zip-with-bad-crc",
        {
            "DownloadBenchmarkTaskRunOutput": lambda request: zip_answer(
                GOOD_ZIP.replace(b'"AGGREGATED"', b'"AGGREGATEd"')
            )
        },
        0,
        check_bad_zip,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_hostile_answer_is_carried_intact_or_refused_clearly(
    case: Hostile, serve_export_from, capsys, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    service = FakeService(case.answers)
    serve_export_from(service)
    outputs = tmp_path / "outputs"
    target = tmp_path / "export.json"
    result = run_cli(
        capsys,
        [
            "export",
            "--endpoint",
            "http://127.0.0.1:9",
            "--with-results",
            "--with-logs",
            "--download",
            str(outputs),
            "-o",
            str(target),
        ],
    )
    assert result.code == case.code, result.err
    assert result.out == ""
    document = json.loads(target.read_text()) if target.exists() else None
    if case.code != 0:
        assert document is None, "a failed export leaves no file behind"
        assert not list(tmp_path.glob(".export.json.*")), "no temporary file left either"
    case.check(document, result.err, service, outputs)


def test_the_hostile_table_covers_the_issue_list() -> None:
    ids = {case.id for case in CASES}
    for required in (
        "unknown-enum-values",
        "missing-fields",
        "html-error-page",
        "empty-body",
        "huge-1mb-log-line",
        "log-of-200k-lines",
        "zero-byte-zip",
        "corrupt-zip",
    ):
        assert required in ids
