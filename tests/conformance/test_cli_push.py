"""`kaggle b t push`: new tasks, new versions, and the refusal while a build is pending."""

from __future__ import annotations

import json

import pytest
from cli_harness import BUILD_SECONDS, TASK_SLUG, WEB, get_task, lines, rpc

pytestmark = pytest.mark.conformance

TASK_URL = f"{WEB}/benchmarks/tasks/demo/{TASK_SLUG}"
PUSH = f"b t push {TASK_SLUG} -f task.py"
PUSH_WAIT = f"{PUSH} --wait --poll-interval 1"


def test_push_wait_creates_a_task_and_reports_it_completed(
    conf_sim, start_kaggle, workdir, api
) -> None:
    cli = start_kaggle(conf_sim, *PUSH_WAIT.split(), cwd=workdir)
    cli.wait_for("   Task status: QUEUED...")
    conf_sim.clock.advance(BUILD_SECONDS)
    result = cli.finish()

    assert result.returncode == 0, result
    out = lines(result.stdout)
    assert f"Pushed {TASK_SLUG}" in out
    assert f"   Task Details:  {TASK_URL}/1" in out
    assert out.index("Status") < out.index("   Task status: QUEUED...") < out.index("Completed")
    assert f"   Model Output:  {TASK_URL}?compare=true" in out
    assert f"   $ kaggle b t run {TASK_SLUG}" in out
    assert result.stderr == ""

    task = get_task(api)
    assert task["slug"] == {"ownerSlug": "demo", "taskSlug": TASK_SLUG, "versionNumber": 1}
    assert task["creationState"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED"
    assert task["source"] == "CLI"
    # What the CLI pushed is the notebook form of the task file (API reference §8.4).
    stored = conf_sim.store.get_version("demo", TASK_SLUG)
    assert stored is not None
    notebook = json.loads(stored.text)
    source = "".join("".join(cell["source"]) for cell in notebook["cells"])
    assert '@kbench.task(name="What is Kaggle?")' in source
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_push_of_an_existing_task_makes_a_new_version(conf_sim, run_kaggle, workdir, api) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    result = run_kaggle(conf_sim, *PUSH.split(), cwd=workdir)

    assert result.returncode == 0, result
    out = lines(result.stdout)
    assert f"Pushed new version of {TASK_SLUG}" in out
    assert f"   Task Details:  {TASK_URL}/2" in out
    assert f"   Model Output:  {TASK_URL}?compare=true" in out
    assert f"   $ kaggle b t status {TASK_SLUG}" in out
    task = get_task(api)
    assert task["slug"]["versionNumber"] == 2
    assert task["creationState"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_QUEUED"


def test_push_while_a_build_is_pending_is_refused_without_wait(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG, build_seconds=BUILD_SECONDS)

    result = run_kaggle(conf_sim, *PUSH.split(), cwd=workdir)

    assert result.returncode == 1, result
    assert (
        f"Task '{TASK_SLUG}' creation is still pending. "
        "Run again with the --wait flag to wait for completion."
    ) in result.stderr
    assert "Pushed" not in result.stdout
    task = get_task(api)
    assert task["slug"]["versionNumber"] == 1  # nothing was created
    assert task["creationState"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_QUEUED"


def test_push_wait_while_a_build_is_pending_waits_then_pushes(
    conf_sim, start_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG, build_seconds=BUILD_SECONDS)

    cli = start_kaggle(conf_sim, *PUSH_WAIT.split(), cwd=workdir)
    cli.wait_for("   Task status: QUEUED...")
    conf_sim.clock.advance(BUILD_SECONDS)  # version 1 finishes building
    cli.wait_for("   Task status: QUEUED...", after=f"Pushed new version of {TASK_SLUG}")
    assert get_task(api)["slug"]["versionNumber"] == 2
    conf_sim.clock.advance(BUILD_SECONDS)
    result = cli.finish()

    assert result.returncode == 0, result
    out = lines(result.stdout)
    assert out[0] == f"Task '{TASK_SLUG}' is already being created. Waiting for it to finish..."
    assert f"Pushed new version of {TASK_SLUG}" in out
    assert f"   Task Details:  {TASK_URL}/2" in out
    assert "Completed" in out
    task = get_task(api)
    assert task["creationState"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED"
    first = rpc(api, "GetBenchmarkTask", {"slug": {"taskSlug": TASK_SLUG, "versionNumber": 1}})
    assert first["creationState"] == "BENCHMARK_TASK_VERSION_CREATION_STATE_COMPLETED"


def test_push_with_a_dataset_attaches_it_and_a_later_push_warns_it_detaches(
    conf_sim, run_kaggle, workdir, api
) -> None:
    attached = run_kaggle(conf_sim, *f"{PUSH} -d alice/qa-pairs".split(), cwd=workdir)

    assert attached.returncode == 0, attached
    assert "Attached Kaggle dataset(s): alice/qa-pairs" in lines(attached.stdout)
    assert get_task(api)["options"] == {"datasetDataSources": ["alice/qa-pairs"]}
    conf_sim.clock.advance(BUILD_SECONDS)

    detached = run_kaggle(conf_sim, *PUSH.split(), cwd=workdir)

    assert detached.returncode == 0, detached
    assert (
        f"⚠ Warning: The previous version of '{TASK_SLUG}' had attached Kaggle datasets: "
        "alice/qa-pairs"
    ) in detached.stderr
    assert "  To keep them, add: -d alice/qa-pairs" in detached.stderr
    task = get_task(api)
    assert task["slug"]["versionNumber"] == 2
    assert "options" not in task
