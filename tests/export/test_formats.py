"""Each export format renders the same document faithfully (pure functions, no server)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

from kbench_tui.export_formats import CSV_COLUMNS, last_line, render

DOC = {
    "schemaVersion": 1,
    "generatedAt": "2026-03-01T12:00:00Z",
    "endpoint": "http://127.0.0.1:1",
    "tasks": [
        {
            "slug": "math-qa",
            "owner": "demo",
            "version": 3,
            "state": "COMPLETED",
            "created": "2026-03-01T11:00:00Z",
            "url": "https://www.kaggle.com/benchmarks/tasks/demo/math-qa/3",
            "public": False,
            "datasets": ["demo/qa-pairs"],
            "error": None,
            "runs": [
                {
                    "id": 1,
                    "model": "gemini-2.5-flash",
                    "state": "COMPLETED",
                    "started": "2026-03-01T11:01:00Z",
                    "ended": "2026-03-01T11:02:00Z",
                    "durationSeconds": 60.0,
                    "error": None,
                    "url": "u",
                    "result": {
                        "passed": True,
                        "kind": "numeric",
                        "value": 0.8,
                        "confidenceInterval": None,
                        "assertionsPassed": 2,
                        "assertionsTotal": 2,
                        "assertions": [],
                        "rows": 0,
                    },
                },
                {
                    "id": 2,
                    "model": "claude-sonnet-4-6-default",
                    "state": "ERRORED",
                    "started": "2026-03-01T11:01:00Z",
                    "ended": "2026-03-01T11:01:30Z",
                    "durationSeconds": 30.0,
                    "error": "Traceback (most recent call last):\n  x\nTimeoutError: a | b <c>\n\n",
                    "url": "u",
                },
                {
                    "id": 3,
                    "model": "grok-4.3",
                    "state": "RUNNING",
                    "started": None,
                    "ended": None,
                    "durationSeconds": None,
                    "error": None,
                    "url": "u",
                },
            ],
        },
        {
            "slug": "empty",
            "owner": None,
            "version": None,
            "state": "ERRORED",
            "created": None,
            "url": None,
            "public": True,
            "datasets": [],
            "error": "NameError: kbench",
            "runs": [],
        },
    ],
}


def test_last_line_is_what_the_cli_shows() -> None:
    assert last_line("a\n  b  \n\n") == "b"
    assert last_line(None) == "" and last_line("\n\n") == ""


def test_json_is_the_document() -> None:
    assert json.loads(render(DOC, "json")) == DOC


def test_csv_has_one_row_per_run_and_keeps_runless_tasks() -> None:
    rows = list(csv.DictReader(io.StringIO(render(DOC, "csv"))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["run_id"] for r in rows] == ["1", "2", "3", ""]
    assert rows[0]["task"] == rows[2]["task"] == "math-qa"
    assert rows[0]["datasets"] == "demo/qa-pairs" and rows[0]["result"] == "0.8"
    assert rows[1]["run_error"].endswith("TimeoutError: a | b <c>\n\n")
    assert rows[3]["task"] == "empty" and rows[3]["task_error"] == "NameError: kbench"


def test_markdown_has_a_table_per_task_with_escaped_cells() -> None:
    text = render(DOC, "markdown")
    assert "## [demo/math-qa](https://www.kaggle.com/benchmarks/tasks/demo/math-qa/3)" in text
    assert "| Model | State | Started | Ended | Duration (s) | Run | Passed | Result |" in text
    assert "TimeoutError: a \\| b <c>" in text  # a pipe would break the table
    assert "## empty" in text and "No runs." in text


def test_junit_reports_errored_runs_as_failures_and_unfinished_as_skipped() -> None:
    root = ET.fromstring(render(DOC, "junit"))
    assert root.attrib["tests"] == "3" and root.attrib["failures"] == "1"
    assert root.attrib["skipped"] == "1"
    suite = root.find("testsuite")
    assert suite is not None and suite.attrib["name"] == "demo/math-qa"
    cases = {c.attrib["name"]: c for c in suite.iter("testcase")}
    failure = cases["claude-sonnet-4-6-default"].find("failure")
    assert failure is not None and failure.attrib["message"] == "TimeoutError: a | b <c>"
    assert "Traceback" in (failure.text or "")
    assert cases["grok-4.3"].find("skipped") is not None
    assert cases["gemini-2.5-flash"].find("failure") is None
    assert cases["gemini-2.5-flash"].attrib["time"] == "60.000"


def test_junit_fails_a_completed_run_whose_result_did_not_pass() -> None:
    doc = json.loads(json.dumps(DOC))
    run = doc["tasks"][0]["runs"][0]
    run["result"].update(
        passed=False,
        assertions=[
            {"expectation": "Answer equals 42", "status": "FAILED", "passed": False, "line": 3}
        ],
    )
    failure = ET.fromstring(render(doc, "junit")).find(
        ".//testcase[@name='gemini-2.5-flash']/failure"
    )
    assert failure is not None and "FAILED: Answer equals 42" in (failure.text or "")
