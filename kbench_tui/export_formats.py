"""Render an export document (the versioned JSON structure) as JSON, CSV, Markdown or JUnit XML.

Every format is rendered from the same JSON document, so they can never disagree. The
document is built by `kbench_tui.export`; its schema is documented in the README:

    {"schemaVersion": 1, "generatedAt", "endpoint",
     "tasks": [{"slug", "owner", "version", "state", "created", "url", "public",
                "datasets", "error",
                "runs": [{"id", "model", "state", "started", "ended", "durationSeconds",
                          "error", "url", "result"?, "log"?}]}]}
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_VERSION = 1

CSV_COLUMNS = (
    "task",
    "owner",
    "version",
    "task_state",
    "task_created",
    "task_url",
    "public",
    "datasets",
    "task_error",
    "run_id",
    "model",
    "run_state",
    "started",
    "ended",
    "duration_seconds",
    "run_error",
    "run_url",
    "passed",
    "result",
    "assertions_passed",
    "assertions_total",
)


def last_line(text: str | None) -> str:
    """The last non-blank line of an error message (what the kaggle CLI shows)."""
    if not text:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def render(document: dict[str, Any], fmt: str) -> str:
    """The document in one of the export formats."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(document)
    if fmt == "markdown":
        return render_markdown(document)
    if fmt == "junit":
        return render_junit(document)
    raise ValueError(f"unknown export format {fmt!r}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _result_cells(run: dict[str, Any]) -> tuple[str, str, str, str]:
    result = run.get("result")
    if not result:
        return "", "", "", ""
    return (
        _cell(result.get("passed")),
        result_text(result),
        _cell(result.get("assertionsPassed")),
        _cell(result.get("assertionsTotal")),
    )


def result_text(result: dict[str, Any]) -> str:
    """A result value as a short human string (`0.8 ± 0.12`, `Pass`, `a=1, b=2`)."""
    from kbench_tui.results import scalar_text

    kind, value = result.get("kind"), result.get("value")
    scalar = scalar_text(kind, value, result.get("confidenceInterval"))
    if scalar is not None:
        return scalar
    if kind == "dict" and isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return ""


def render_csv(document: dict[str, Any]) -> str:
    """One row per run; the task's columns repeat on each of its runs. A task with no
    runs still gets one row (run columns empty) so it is not silently missing."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for task in document["tasks"]:
        task_cells = [
            task["slug"],
            task["owner"],
            task["version"],
            task["state"],
            task["created"],
            task["url"],
            task["public"],
            task["datasets"],
            task["error"],
        ]
        runs = task["runs"] or [None]
        for run in runs:
            if run is None:
                run_cells: list[Any] = [""] * (len(CSV_COLUMNS) - len(task_cells))
            else:
                run_cells = [
                    run["id"],
                    run["model"],
                    run["state"],
                    run["started"],
                    run["ended"],
                    run["durationSeconds"],
                    run["error"],
                    run["url"],
                    *_result_cells(run),
                ]
            writer.writerow([_cell(v) for v in [*task_cells, *run_cells]])
    return out.getvalue()


def _md(text: Any) -> str:
    """Escape a value for a GitHub Markdown table cell."""
    value = _cell(text)
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip() or "—"


def render_markdown(document: dict[str, Any]) -> str:
    """A heading and a table per task, readable on GitHub."""
    lines = [
        "# Kaggle Benchmarks export",
        "",
        f"Generated {document['generatedAt']} from {document['endpoint']}.",
        "",
    ]
    if not document["tasks"]:
        lines.append("No tasks matched.")
    for task in document["tasks"]:
        owner = f"{task['owner']}/" if task["owner"] else ""
        title = f"{owner}{task['slug']}"
        heading = f"## [{title}]({task['url']})" if task["url"] else f"## {title}"
        lines += [heading, ""]
        facts = f"Version {_cell(task['version']) or 'unset'} · {task['state']}"
        facts += f" · created {_cell(task['created']) or 'unknown'}"
        if task["public"]:
            facts += " · public"
        if task["datasets"]:
            facts += " · datasets: " + ", ".join(task["datasets"])
        lines += [facts, ""]
        if task["error"]:
            lines += [f"> Error: {_md(last_line(task['error']))}", ""]
        if not task["runs"]:
            lines += ["No runs.", ""]
            continue
        with_results = any(run.get("result") for run in task["runs"])
        header = ["Model", "State", "Started", "Ended", "Duration (s)", "Run"]
        if with_results:
            header += ["Passed", "Result", "Assertions"]
        header.append("Error")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for run in task["runs"]:
            duration = run["durationSeconds"]
            cells = [
                run["model"],
                run["state"],
                run["started"],
                run["ended"],
                f"{duration:.1f}" if isinstance(duration, (int, float)) else None,
                run["id"],
            ]
            if with_results:
                result = run.get("result") or {}
                passed = result.get("passed")
                cells += [
                    None if passed is None else ("✅" if passed else "❌"),
                    result_text(result) if result else None,
                    (
                        f"{result['assertionsPassed']}/{result['assertionsTotal']}"
                        if result
                        else None
                    ),
                ]
            cells.append(last_line(run["error"]) or None)
            lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_junit(document: dict[str, Any]) -> str:
    """A testsuite per task and a testcase per model run, so CI shows runs natively.

    ERRORED runs are failures carrying the error's last line as message and the full
    text as body; runs not finished yet are skipped; a completed run whose parsed result
    did not pass is a failure too (its failed assertions listed)."""
    from xml.sax.saxutils import escape, quoteattr

    suites: list[str] = []
    total = failures = skipped = 0
    for task in document["tasks"]:
        name = f"{task['owner']}/{task['slug']}" if task["owner"] else task["slug"]
        cases: list[str] = []
        suite_failures = suite_skipped = 0
        suite_time = 0.0
        for run in task["runs"]:
            duration = run["durationSeconds"] or 0.0
            suite_time += duration
            case = (
                f"    <testcase classname={quoteattr(name)} name={quoteattr(run['model'])}"
                f' time="{duration:.3f}"'
            )
            body = ""
            result = run.get("result")
            if run["state"] == "ERRORED":
                suite_failures += 1
                message = last_line(run["error"]) or "run ERRORED"
                body = (
                    f'      <failure message={quoteattr(message)} type="ERRORED">'
                    f"{escape(run['error'] or '')}</failure>\n"
                )
            elif run["state"] != "COMPLETED":
                suite_skipped += 1
                body = f"      <skipped message={quoteattr('run is ' + run['state'])}/>\n"
            elif result and result.get("passed") is False:
                suite_failures += 1
                failed = [a for a in result.get("assertions", []) if not a.get("passed")]
                detail = "\n".join(f"{a['status']}: {a['expectation']}" for a in failed)
                message = f"result {result_text(result) or 'did not pass'}"
                body = (
                    f'      <failure message={quoteattr(message)} type="FAILED">'
                    f"{escape(detail)}</failure>\n"
                )
            properties = f'      <properties><property name="run_id" value="{run["id"]}"/>'
            if result:
                properties += f'<property name="result" value={quoteattr(result_text(result))}/>'
            properties += "</properties>\n"
            cases.append(f"{case}>\n{properties}{body}    </testcase>")
        total += len(task["runs"])
        failures += suite_failures
        skipped += suite_skipped
        header = (
            f'  <testsuite name={quoteattr(name)} tests="{len(task["runs"])}"'
            f' failures="{suite_failures}" errors="0" skipped="{suite_skipped}"'
            f' time="{suite_time:.3f}"'
        )
        if task["created"]:
            header += f" timestamp={quoteattr(task['created'])}"
        suites.append(header + ">\n" + "".join(c + "\n" for c in cases) + "  </testsuite>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="kbench-tui export" tests="{total}" failures="{failures}"'
        f' errors="0" skipped="{skipped}">\n'
        + "".join(s + "\n" for s in suites)
        + "</testsuites>\n"
    )
