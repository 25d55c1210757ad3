"""`kaggle b t log`: queued runs (404), live streams of running runs, persisted logs."""

from __future__ import annotations

import httpx
import pytest
from cli_harness import QUEUE_SECONDS, RUN_SECONDS, TASK_SLUG, TASKS, lines

pytestmark = pytest.mark.conformance

LOGS = f"/api/v1/{TASKS}/GetBenchmarkTaskRunLogs"


def persisted_log(api: httpx.Client, run_id: int) -> list[dict]:
    response = api.post(LOGS, json={"runId": run_id})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_log_of_a_queued_run_says_no_logs_yet(conf_sim, run_kaggle, workdir, api) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    run_id = conf_sim.engine.add_run("demo", TASK_SLUG, "gemini-2.5-flash")

    result = run_kaggle(conf_sim, "b", "t", "log", TASK_SLUG, cwd=workdir)

    assert result.returncode == 0, result
    assert lines(result.stdout) == [
        "",
        f"═══ Logs for gemini-2.5-flash (Run {run_id}) [QUEUED] ═══",
        "═══ (0 lines) ═══",
        "",
        "Showed logs for 1 run(s) across 1 model(s).",
    ]
    assert result.stderr.strip() == "(No logs available — server returned 404)"
    assert api.post(LOGS, json={"runId": run_id}).status_code == 404


def test_log_of_a_finished_run_prints_the_persisted_log(conf_sim, run_kaggle, workdir, api) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    run_id = conf_sim.engine.add_run("demo", TASK_SLUG, "gpt-5", outcome="ERRORED")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    entries = persisted_log(api, run_id)
    text = "".join(entry["data"] for entry in entries)

    result = run_kaggle(conf_sim, "b", "t", "log", TASK_SLUG, "-m", "openai/gpt-5", cwd=workdir)

    assert result.returncode == 0, result
    header = f"\n═══ Logs for gpt-5 (Run {run_id}) [ERRORED] ═══\n"
    footer = f"═══ ({text.count(chr(10))} lines) ═══\n"
    assert (
        result.stdout == header + text + footer + "\nShowed logs for 1 run(s) across 1 model(s).\n"
    )
    assert "Traceback (most recent call last):" in text
    assert result.stderr == ""


def test_log_of_a_running_run_streams_live_until_the_run_ends(
    conf_sim, start_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    run_id = conf_sim.engine.add_run("demo", TASK_SLUG, "gemini-2.5-flash", outcome="COMPLETED")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS / 4)  # a quarter into the run
    header = f"═══ Logs for gemini-2.5-flash (Run {run_id}) [RUNNING] ═══"

    cli = start_kaggle(conf_sim, "b", "t", "log", TASK_SLUG, cwd=workdir)
    cli.wait_for(header)
    cli.wait_for("Running ")  # the first entry arrived over the stream...
    seen = cli.stdout
    assert cli.running()  # ...and the command keeps following the run
    assert "All prompts answered" not in seen
    conf_sim.clock.advance(RUN_SECONDS / 2)
    cli.wait_for("prompt ", count=seen.count("prompt ") + 1)  # new entries appear live
    assert cli.running()
    conf_sim.clock.advance(RUN_SECONDS)  # the run ends: the stream closes
    result = cli.finish()

    assert result.returncode == 0, result
    entries = persisted_log(api, run_id)
    text = "".join(entry["data"] for entry in entries)
    assert result.stdout.startswith(seen)
    assert result.stdout == (
        f"\n{header}\n{text}═══ ({text.count(chr(10))} lines) ═══\n"
        "\nShowed logs for 1 run(s) across 1 model(s).\n"
    )
    assert entries[-1]["data"].startswith("Wrote ")
