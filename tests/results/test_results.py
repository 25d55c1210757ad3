"""Parsing kaggle-benchmarks `*.run.json` files into the rows the results view and export show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbench_tui.results import RunFileError, headline_result, parse_run, read_run_file

EXAMPLE = {
    "taskVersion": {"name": "Math QA", "description": "Arithmetic word problems"},
    "modelVersion": {"slug": "anthropic/claude-sonnet-4-6@default"},
    "state": "BENCHMARK_TASK_RUN_STATE_COMPLETED",
    "startTime": "2026-03-02T10:15:03.123456Z",
    "endTime": "2026-03-02T10:16:41Z",
    "results": [
        {"type": "AGGREGATED", "numericResult": {"value": 0.8, "confidenceInterval": 0.12}}
    ],
    "assertions": [
        {
            "expectation": "Answer is a number",
            "status": "BENCHMARK_TASK_RUN_ASSERTION_STATUS_PASSED",
            "lineNumber": 14,
        },
        {
            "expectation": "Answer equals 42",
            "status": "BENCHMARK_TASK_RUN_ASSERTION_STATUS_FAILED",
            "lineNumber": 15,
            "conversationRequestIds": [{}],
        },
    ],
    "subruns": [
        {
            "taskVersion": {"name": "Math QA"},
            "modelVersion": {"slug": "anthropic/claude-sonnet-4-6@default"},
            "state": "BENCHMARK_TASK_RUN_STATE_ERRORED",
            "results": [{"type": "AGGREGATED", "booleanResult": False}],
            "pyRunId": "Math QA-Run #2",
            "errorMessage": "Traceback (most recent call last):\nTimeoutError: model call timed out",
        }
    ],
    "pyRunId": "Math QA-Run #1",
}


def test_reference_example_reads_as_the_reference_describes_it() -> None:
    result = parse_run(EXAMPLE)
    assert result.task_name == "Math QA"
    assert result.model == "claude-sonnet-4-6-default"
    assert (result.kind, result.value, result.confidence_interval) == ("numeric", 0.8, 0.12)
    assert (result.assertions_passed, result.assertions_total) == (1, 2)
    assert [a.expectation for a in result.failed_assertions] == ["Answer equals 42"]
    # A failed assertion and an errored row make a numeric result fail.
    assert result.passed is False
    assert result.duration_seconds == pytest.approx(97.876544)
    assert len(result.rows) == 1 and result.rows[0].state == "ERRORED"
    assert result.display_value() == "0.8 ± 0.12"


@pytest.mark.parametrize(
    ("results", "kind", "value", "shown"),
    [
        ([{"type": "AGGREGATED", "booleanResult": True}], "boolean", True, "Pass"),
        ([{"type": "AGGREGATED", "booleanResult": False}], "boolean", False, "Fail"),
        # proto3 drops a value of 0: `{}` is a score of zero, not a missing result.
        ([{"type": "AGGREGATED", "numericResult": {}}], "numeric", 0.0, "0"),
        (
            [{"type": "AGGREGATED", "numericResult": {"value": 8, "confidenceInterval": 10}}],
            "numeric",
            8.0,
            "8 ± 10",
        ),
        (
            [{"type": "AGGREGATED", "dictResult": {"accuracy": 0.9, "ok": True}}],
            "dict",
            {"accuracy": 0.9, "ok": True},
            "accuracy=0.9, ok=True",
        ),
        ([], "none", None, "—"),
    ],
)
def test_every_result_kind(results, kind, value, shown) -> None:
    result = parse_run({"state": "BENCHMARK_TASK_RUN_STATE_COMPLETED", "results": results})
    assert (result.kind, result.value, result.display_value()) == (kind, value, shown)


def test_pass_fail_follows_the_boolean_else_state_and_assertions() -> None:
    passed_bool = parse_run(
        {
            "state": "BENCHMARK_TASK_RUN_STATE_COMPLETED",
            "results": [{"type": "AGGREGATED", "booleanResult": True}],
        }
    )
    errored = parse_run(
        {
            "state": "BENCHMARK_TASK_RUN_STATE_ERRORED",
            "errorMessage": "boom",
            "results": [{"type": "AGGREGATED", "numericResult": {"value": 1}}],
        }
    )
    clean_score = parse_run(
        {
            "state": "BENCHMARK_TASK_RUN_STATE_COMPLETED",
            "results": [{"type": "AGGREGATED", "numericResult": {"value": 1}}],
        }
    )
    assert (passed_bool.passed, errored.passed, clean_score.passed) == (True, False, True)
    assert passed_bool.score == 1.0 and clean_score.score == 1.0


def test_unknown_enum_values_and_string_int64_are_kept_not_crashed() -> None:
    result = parse_run(
        {
            "state": "BENCHMARK_TASK_RUN_STATE_SOMETHING_NEW",
            "assertions": [{"expectation": "x", "status": "WEIRD", "lineNumber": "12"}],
        }
    )
    assert result.state == "SOMETHING_NEW"
    assert result.assertions[0].status == "WEIRD" and result.assertions[0].line == 12


def test_headline_prefers_the_parent_of_dataset_rows(tmp_path: Path) -> None:
    row = {
        "taskVersion": {"name": "T"},
        "state": "BENCHMARK_TASK_RUN_STATE_COMPLETED",
        "results": [{"type": "AGGREGATED", "booleanResult": True}],
    }
    parent = {**row, "subruns": [row, row]}
    (tmp_path / "T-run_param_id_0.run.json").write_text(json.dumps(row))
    (tmp_path / "T-run_id_Run_1.run.json").write_text(json.dumps(parent))
    (tmp_path / "T.task.json").write_text("{}")
    result = headline_result(tmp_path)
    assert result is not None and len(result.rows) == 2
    assert headline_result(tmp_path / "missing") is None


def test_a_corrupt_run_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.run.json"
    bad.write_text("{not json")
    with pytest.raises(RunFileError, match="not valid JSON"):
        read_run_file(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(RunFileError, match="JSON object"):
        read_run_file(bad)
