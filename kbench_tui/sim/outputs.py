"""What a finished run produced: its result, error traceback and output zip.

Everything here is a pure function of the run row and `--rng-seed` (each draws from its
own `random.Random(f"{seed}:<purpose>:{run id}")`), so answers never depend on the order
of requests and the zip bytes - hence the ETag - are identical on every request and
after a restart.

Zip contents (API reference §7.3, §11): `<name>-run_id_Run_1_<model>.run.json` in the
kaggle-benchmarks format, `<name>.task.json`, `__notebook__.ipynb` and
`__notebook_source__.ipynb` when `includeSource`, and `padding.bin` when a test asked
for a large output.
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
import zlib

from kbench_tui.sim.catalog import find_model
from kbench_tui.sim.clock import from_epoch
from kbench_tui.sim.store import RunRow

_NOT_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")
_FAILURES = (
    "TimeoutError: model call timed out after 120 s",
    "RuntimeError: model refused to answer (safety filter)",
    "kaggle_benchmarks.errors.ModelProxyError: 429 Too Many Requests: quota exceeded",
    "ValueError: could not parse the model response as JSON",
)
_EXPECTATIONS = (
    "Answer is a number",
    "Answer equals the reference",
    "Response mentions Kaggle",
    "Response is under 200 words",
    "Judge rates the answer as correct",
)
RESULT_KINDS = ("metric_ci", "boolean", "score", "dict")


def norm_filename(text: str) -> str:
    """kaggle-benchmarks' file-name normalisation (§11.1)."""
    for char in (" ", "/", "\\"):
        text = text.replace(char, "_")
    return _NOT_FILENAME.sub("", text)


def proxy_slug(model: str) -> str:
    """The proxy form of a canonical model slug, as the task SDK saw it."""
    found = find_model(model)
    return found.proxy_slug if found else model


def result_kind(task_slug: str) -> str:
    """Which kind of result a task returns; fixed per task so leaderboards are consistent."""
    return RESULT_KINDS[zlib.crc32(task_slug.encode()) % len(RESULT_KINDS)]


def error_message(run: RunRow, rng_seed: int) -> str:
    """The traceback of an ERRORED run; its last line is the summary the CLI shows."""
    rng = random.Random(f"{rng_seed}:error:{run.id}")
    function = norm_filename(run.task_name).lower() or "task"
    return (
        "Traceback (most recent call last):\n"
        '  File "/kaggle/working/__notebook__.ipynb", line 23, in <module>\n'
        f"    {function}.run(llm=kbench.llm)\n"
        '  File "/usr/local/lib/python3.11/site-packages/kaggle_benchmarks/tasks.py", '
        "line 412, in run\n"
        "    result = self._call(llm, **kwargs)\n"
        '  File "/usr/local/lib/python3.11/site-packages/kaggle_benchmarks/llm.py", '
        "line 188, in prompt\n"
        "    raise error\n"
        f"{rng.choice(_FAILURES)}"
    )


def _assertions(run: RunRow, rng: random.Random, errored: bool) -> list[dict]:
    count = rng.randint(2, 4)
    assertions = []
    for index, expectation in enumerate(rng.sample(_EXPECTATIONS, count)):
        status = "PASSED" if rng.random() < 0.75 else "FAILED"
        if errored and index == count - 1:
            status = "ERRORED"
        assertions.append(
            {
                "expectation": expectation,
                "status": f"BENCHMARK_TASK_RUN_ASSERTION_STATUS_{status}",
                "lineNumber": 12 + index * 3,
                "definition": f"kbench.assertions.assert_true(check_{index}(response), ...)",
                "conversationRequestIds": [
                    {"conversationId": f"chat-{run.id}", "requestId": f"chat-{run.id}-req-1"}
                ],
            }
        )
    return assertions


def run_result(run: RunRow, rng_seed: int, outcome: str) -> tuple[dict, list[dict]]:
    """The run.json `results[0]` (besides `type`) and `assertions` of a finished run."""
    rng = random.Random(f"{rng_seed}:result:{run.id}")
    errored = outcome == "ERRORED"
    assertions = _assertions(run, rng, errored)
    passed = all(a["status"].endswith("PASSED") for a in assertions)
    kind = result_kind(run.task_slug)
    if errored:
        return {"booleanResult": False}, assertions
    if kind == "boolean":
        return {"booleanResult": passed}, assertions
    if kind == "metric_ci":
        value = {"value": round(rng.uniform(0.35, 0.95), 3)}
        value["confidenceInterval"] = round(rng.uniform(0.01, 0.06), 3)
        return {"numericResult": value}, assertions
    if kind == "score":
        return {"numericResult": {"value": float(rng.randint(1, 10))}}, assertions
    accuracy = round(rng.uniform(0.3, 0.95), 3)
    return {"dictResult": {"accuracy": accuracy, "samples": 50.0}}, assertions


def _timestamp(epoch_seconds: float) -> str:
    # protobuf's printer: RFC 3339 with Z and 0/3/6/9 fractional digits.
    return from_epoch(round(epoch_seconds, 3)).isoformat(timespec="milliseconds") + "Z"


def run_json(run: RunRow, rng_seed: int, outcome: str) -> dict:
    """The kaggle-benchmarks `*.run.json` document of a finished run (§11)."""
    result, assertions = run_result(run, rng_seed, outcome)
    rng = random.Random(f"{rng_seed}:usage:{run.id}")
    tokens_in, tokens_out = rng.randint(200, 4000), rng.randint(50, 2000)
    metrics = {
        "inputTokens": tokens_in,
        "outputTokens": tokens_out,
        "durationMs": int(run.run_seconds * 1000),
        # int64 fields are strings in protobuf JSON.
        "inputTokensCostNanodollars": str(tokens_in * 1250),
        "outputTokensCostNanodollars": str(tokens_out * 10000),
        "totalBackendLatencyMs": str(int(run.run_seconds * 800)),
    }
    document: dict = {
        "taskVersion": {
            "name": run.task_name,
            "description": f"{run.task_name} (simulated)",
            "definition": run.definition,
            "versionNumber": run.version_number,
        },
        "modelVersion": {"slug": proxy_slug(run.model)},
        "state": f"BENCHMARK_TASK_RUN_STATE_{outcome}",
        "startTime": _timestamp(run.start_time),
        "endTime": _timestamp(run.end_time),
        "results": [{"type": "AGGREGATED", **result}],
        "assertions": assertions,
        "conversations": [
            {
                "id": f"chat-{run.id}",
                "requests": [
                    {
                        "id": f"chat-{run.id}-req-1",
                        "contents": [
                            {"parts": [{"text": "What is Kaggle?"}], "role": "CONTENT_ROLE_USER"},
                            {
                                "parts": [{"text": "Kaggle is a data science community."}],
                                "role": "CONTENT_ROLE_ASSISTANT",
                            },
                        ],
                        "metrics": metrics,
                    }
                ],
                "metrics": metrics,
            }
        ],
        "pyRunId": f"{run.task_name}-Run #1",
    }
    if outcome == "ERRORED":
        document["errorMessage"] = error_message(run, rng_seed)
    return document


def run_filename(run: RunRow) -> str:
    return (
        f"{norm_filename(run.task_name)}-run_id_Run_1_{norm_filename(proxy_slug(run.model))}"
        ".run.json"
    )


def _entry(name: str, when: float, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    moment = from_epoch(max(when, 315532800.0))  # zip dates start in 1980
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = compress
    info.create_system = 3  # fixed, or the bytes would depend on the host OS
    info.external_attr = 0o644 << 16
    return info


def build_zip(
    run: RunRow, rng_seed: int, outcome: str, notebook: str, include_source: bool
) -> bytes:
    """The output archive of a finished run; identical bytes for identical inputs."""
    buffer = io.BytesIO()
    when = run.end_time
    with zipfile.ZipFile(buffer, "w") as archive:
        document = json.dumps(run_json(run, rng_seed, outcome), indent=2)
        archive.writestr(_entry(run_filename(run), when), document + "\n")
        task = {
            "name": run.task_name,
            "description": f"{run.task_name} (simulated)",
            "definition": run.definition,
            "versionNumber": run.version_number,
        }
        archive.writestr(
            _entry(f"{norm_filename(run.task_name)}.task.json", when), json.dumps(task, indent=2)
        )
        if include_source:
            archive.writestr(_entry("__notebook__.ipynb", when), notebook)
            archive.writestr(_entry("__notebook_source__.ipynb", when), notebook)
        if run.output_padding > 0:
            # Incompressible but reproducible bytes, stored as-is, for download benchmarks.
            padding = random.Random(f"{rng_seed}:padding:{run.id}").randbytes(run.output_padding)
            archive.writestr(_entry("padding.bin", when, zipfile.ZIP_STORED), padding)
    return buffer.getvalue()
