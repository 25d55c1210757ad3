"""Read the `*.run.json` files kaggle-benchmarks writes into a run's output (API reference §11).

A downloaded run directory holds one or more run files. Dataset evaluations write one run
file per row plus a parent (or an aggregate `*-Run_aggregated.run.json`) whose `subruns`
nest the rows again: that one is the headline result; the others are rows.

Everything here is tolerant: a field the SDK omits (proto3 drops defaults, so a numeric
result of 0 is written as `{}`) reads as its default, int64 values arrive as strings, and
an unknown enum value is kept as written. No Textual import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kbench_tui.slugs import normalize_model_slug

RUN_FILE_SUFFIX = ".run.json"
# Run files larger than this are not results but something else; refusing them keeps a
# hostile or corrupt output from exhausting memory.
MAX_RUN_FILE_BYTES = 64 * 1024 * 1024

_ASSERTION_PREFIX = "BENCHMARK_TASK_RUN_ASSERTION_STATUS_"
_RUN_STATE_PREFIX = "BENCHMARK_TASK_RUN_STATE_"


class RunFileError(ValueError):
    """A run file that cannot be read as kaggle-benchmarks output."""


@dataclass(frozen=True)
class AssertionOutcome:
    """One recorded `kbench.assertions.*` call."""

    expectation: str
    status: str  # PASSED / FAILED / ERRORED / UNSPECIFIED, or the raw text of an unknown value
    line: int | None = None
    definition: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "PASSED"

    def to_json(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "status": self.status,
            "passed": self.passed,
            "line": self.line,
        }


@dataclass(frozen=True)
class RunResult:
    """The typed outcome of one run, as a results view or an export shows it."""

    task_name: str
    model: str  # normalised like every model column (`claude-sonnet-4-6-default`)
    state: str  # COMPLETED / ERRORED / ...
    kind: str  # "boolean" | "numeric" | "dict" | "none"
    value: bool | float | dict | None
    confidence_interval: float | None
    passed: bool
    assertions: tuple[AssertionOutcome, ...] = ()
    error: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    rows: tuple[RunResult, ...] = field(default=(), repr=False)

    @property
    def assertions_passed(self) -> int:
        return sum(1 for a in self.assertions if a.passed)

    @property
    def assertions_total(self) -> int:
        return len(self.assertions)

    @property
    def failed_assertions(self) -> list[AssertionOutcome]:
        return [a for a in self.assertions if not a.passed]

    @property
    def duration_seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started).total_seconds()

    @property
    def score(self) -> float | None:
        """A number to chart across models: the numeric value, or 1/0 for pass/fail."""
        if self.kind == "numeric" and isinstance(self.value, float):
            return self.value
        if self.kind == "boolean" and isinstance(self.value, bool):
            return 1.0 if self.value else 0.0
        return None

    def display_value(self) -> str:
        """The result as one short cell of text."""
        scalar = scalar_text(self.kind, self.value, self.confidence_interval)
        if scalar is not None:
            return scalar
        if self.kind == "dict" and isinstance(self.value, dict):
            return ", ".join(f"{k}={_short(v)}" for k, v in list(self.value.items())[:4])
        return "—"

    def to_json(self) -> dict[str, Any]:
        """The `result` object of the export's JSON schema."""
        return {
            "passed": self.passed,
            "kind": self.kind,
            "value": self.value,
            "confidenceInterval": self.confidence_interval,
            "assertionsPassed": self.assertions_passed,
            "assertionsTotal": self.assertions_total,
            "assertions": [a.to_json() for a in self.assertions],
            "rows": len(self.rows),
        }


def scalar_text(kind: str | None, value: Any, confidence_interval: Any) -> str | None:
    """A boolean or numeric result as text (`Pass`, `0.8 ± 0.12`); None for other kinds.

    Shared by the results view and the export so a score reads the same everywhere."""
    if kind == "boolean":
        return "Pass" if value else "Fail"
    if kind == "numeric" and isinstance(value, (int, float)):
        text = f"{value:.4g}"
        if confidence_interval:
            text += f" ± {confidence_interval:.3g}"
        return text
    return None


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 20 else text[:19] + "…"


def _parse_time(value: Any) -> datetime | None:
    """RFC 3339 with `Z` and 0–9 fractional digits -> naive UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{(digits + '000000')[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _to_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _short_enum(value: Any, prefix: str, default: str) -> str:
    if not isinstance(value, str) or not value:
        return default
    return value[len(prefix) :] if value.startswith(prefix) else value


def parse_run(data: dict[str, Any]) -> RunResult:
    """One BenchmarkTaskRun JSON object (a run file's content, or one of its subruns)."""
    if not isinstance(data, dict):
        raise RunFileError("a run file must hold a JSON object")
    task = data.get("taskVersion") or {}
    model = data.get("modelVersion") or {}
    model_slug = model.get("slug") or data.get("modelVersionSlug") or ""
    state = _short_enum(data.get("state"), _RUN_STATE_PREFIX, "UNSPECIFIED")

    assertions = tuple(
        AssertionOutcome(
            expectation=str(a.get("expectation") or a.get("failureMessage") or ""),
            status=_short_enum(a.get("status"), _ASSERTION_PREFIX, "UNSPECIFIED"),
            line=_to_int(a.get("lineNumber")),
            definition=str(a.get("definition") or ""),
        )
        for a in data.get("assertions") or []
        if isinstance(a, dict)
    )

    results = [r for r in data.get("results") or [] if isinstance(r, dict)]
    # The AGGREGATED result is the headline; fall back to the first one written.
    headline = next((r for r in results if r.get("type") == "AGGREGATED"), None)
    if headline is None and results:
        headline = results[0]

    kind, value, interval = "none", None, None
    if headline is not None:
        if "booleanResult" in headline:
            kind, value = "boolean", bool(headline["booleanResult"])
        elif "numericResult" in headline:
            numeric = headline.get("numericResult") or {}
            # proto3 omits a value of 0: `{}` means 0.
            kind, value = "numeric", _to_float(numeric.get("value")) or 0.0
            interval = _to_float(numeric.get("confidenceInterval"))
            uneven = numeric.get("unevenConfidenceInterval")
            if isinstance(uneven, dict):
                plus, minus = _to_float(uneven.get("plus")), _to_float(uneven.get("minus"))
                interval = max(x for x in (plus, minus, 0.0) if x is not None)
        elif "dictResult" in headline:
            raw = headline.get("dictResult")
            kind, value = "dict", raw if isinstance(raw, dict) else {}

    rows = tuple(parse_run(s) for s in data.get("subruns") or [] if isinstance(s, dict))
    error = data.get("errorMessage") or None

    if kind == "boolean":
        passed = bool(value) and state != "ERRORED"
    else:
        passed = (
            state == "COMPLETED"
            and error is None
            and all(a.passed for a in assertions)
            and all(r.passed for r in rows)
        )

    return RunResult(
        task_name=str(task.get("name") or ""),
        model=normalize_model_slug(str(model_slug)) if model_slug else "",
        state=state,
        kind=kind,
        value=value,
        confidence_interval=interval,
        passed=passed,
        assertions=assertions,
        error=error,
        started=_parse_time(data.get("startTime")),
        ended=_parse_time(data.get("endTime")),
        rows=rows,
    )


def read_run_file(path: Path) -> RunResult:
    """Parse one `*.run.json`; a clear RunFileError for anything that is not one."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RunFileError(f"cannot read {path.name}: {exc.strerror}") from None
    if size > MAX_RUN_FILE_BYTES:
        raise RunFileError(f"{path.name} is {size} bytes, too large to be a run file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFileError(f"{path.name} is not valid JSON ({exc})") from None
    return parse_run(data)


def find_run_files(directory: Path) -> list[Path]:
    """Every run file under a downloaded run directory, in a stable order."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob(f"*{RUN_FILE_SUFFIX}") if p.is_file())


def headline_result(directory: Path) -> RunResult | None:
    """The run's headline result: the aggregate or the parent of dataset rows, else the
    single run file. None when the directory holds no run file (the task never ran
    `.run()` — the silent no-op the task-file lint warns about)."""
    files = find_run_files(directory)
    if not files:
        return None
    aggregate = [p for p in files if p.name.endswith(f"-Run_aggregated{RUN_FILE_SUFFIX}")]
    candidates = aggregate or files
    parsed = [read_run_file(p) for p in candidates]
    with_rows = [r for r in parsed if r.rows]
    if with_rows:
        return max(with_rows, key=lambda r: len(r.rows))
    return parsed[0]
