"""`kaggle b t run`, `status` and `models`: scheduling, waiting, failures and the catalogue."""

from __future__ import annotations

import pytest
from cli_harness import QUEUE_SECONDS, RUN_SECONDS, TASK_SLUG, WEB, all_runs, lines, rpc

pytestmark = pytest.mark.conformance

RUN_STATE = "BENCHMARK_TASK_RUN_STATE_"


def test_run_wait_with_canonical_and_proxy_slugs_reports_the_failed_run(
    conf_sim, start_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    models = "-m gemini-2.5-flash -m anthropic/claude-sonnet-4-6@default"
    cli = start_kaggle(
        conf_sim, *f"b t run {TASK_SLUG} {models} --wait --poll-interval 1".split(), cwd=workdir
    )
    cli.wait_for("  2 run(s) still in progress...")
    runs = {run["modelVersionSlug"]: run for run in all_runs(api)}
    assert set(runs) == {"gemini-2.5-flash", "claude-sonnet-4-6-default"}
    assert {run["state"] for run in runs.values()} == {RUN_STATE + "QUEUED"}
    # The test decides the outcomes: Claude's run fails.
    conf_sim.store.set_run_outcome(runs["gemini-2.5-flash"]["id"], "COMPLETED")
    conf_sim.store.set_run_outcome(runs["claude-sonnet-4-6-default"]["id"], "ERRORED")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    result = cli.finish()

    assert result.returncode == 1, result
    out = lines(result.stdout)
    assert out[:3] == [
        f"Submitted run(s) for task '{TASK_SLUG}'.",
        "  gemini-2.5-flash: Scheduled",
        "  claude-sonnet-4-6-default: Scheduled",
    ]
    assert "Waiting for run(s) to complete..." in out
    done = out.index("All runs completed:")
    assert sorted(out[done + 1 : done + 3]) == [
        "  claude-sonnet-4-6-default: ERRORED",
        "  gemini-2.5-flash: COMPLETED",
    ]
    finished = {run["modelVersionSlug"]: run for run in all_runs(api)}
    assert finished["gemini-2.5-flash"]["state"] == RUN_STATE + "COMPLETED"
    failed = finished["claude-sonnet-4-6-default"]
    assert failed["state"] == RUN_STATE + "ERRORED"
    message = failed["errorMessage"].strip()
    assert message.startswith("Traceback (most recent call last):")
    assert result.stderr.startswith(
        f"1 run(s) failed. Details below:\n  [claude-sonnet-4-6-default]\n    {message}"
    )


def test_run_of_a_model_that_already_ran_is_skipped_with_the_reason(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    conf_sim.engine.add_run("demo", TASK_SLUG, "gemini-2.5-flash", outcome="COMPLETED")
    conf_sim.engine.add_run("demo", TASK_SLUG, "gpt-5", outcome="ERRORED")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)

    models = "-m google/gemini-2.5-flash -m gpt-5"
    result = run_kaggle(conf_sim, *f"b t run {TASK_SLUG} {models}".split(), cwd=workdir)

    assert result.returncode == 0, result
    assert lines(result.stdout)[:3] == [
        f"Submitted run(s) for task '{TASK_SLUG}'.",
        "  gemini-2.5-flash: Skipped (A run for this task version and model already exists)",
        "  gpt-5: Scheduled",  # an errored run may be run again
    ]
    assert f"   $ kaggle b t status {TASK_SLUG}" in lines(result.stdout)
    states = sorted((run["modelVersionSlug"], run["state"]) for run in all_runs(api))
    assert states == [
        ("gemini-2.5-flash", RUN_STATE + "COMPLETED"),
        ("gpt-5", RUN_STATE + "ERRORED"),
        ("gpt-5", RUN_STATE + "QUEUED"),
    ]


def test_run_of_an_unknown_model_says_the_names_may_be_invalid(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    result = run_kaggle(conf_sim, "b", "t", "run", TASK_SLUG, "-m", "no-such-model", cwd=workdir)

    assert result.returncode == 1, result
    assert (
        "Failed to schedule runs. Some model names may be invalid: ['no-such-model']."
    ) in result.stderr
    assert all_runs(api) == []


def test_status_shows_the_task_its_runs_and_the_last_line_of_each_error(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    conf_sim.engine.add_run("demo", TASK_SLUG, "gemini-2.5-flash", outcome="COMPLETED")
    conf_sim.engine.add_run(
        "demo", TASK_SLUG, "anthropic/claude-sonnet-4-6@default", outcome="ERRORED"
    )
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    conf_sim.engine.add_run("demo", TASK_SLUG, "gpt-5")

    result = run_kaggle(conf_sim, "b", "t", "status", TASK_SLUG, cwd=workdir)

    assert result.returncode == 0, result
    out = lines(result.stdout)
    task = rpc(api, "GetBenchmarkTask", {"slug": {"taskSlug": TASK_SLUG}})
    created = task["createTime"][:19].replace("T", " ")
    assert out[:6] == [
        f"Task:     {TASK_SLUG}",
        "Version:  1",
        "Status:   Completed",
        f"Created:  {created}",
        "Public:   False",
        f"Task URL: {WEB}/benchmarks/tasks/demo/{TASK_SLUG}/1",
    ]
    table = "\n".join(out)
    runs = {run["modelVersionSlug"]: run for run in all_runs(api)}
    assert len(runs) == 3
    for model, run in runs.items():
        row = next(line for line in out if line.startswith(model + " "))
        assert run["state"].removeprefix(RUN_STATE).title() in row
        if "startTime" in run:
            assert run["startTime"][:19].replace("T", " ") in row
    failure = runs["claude-sonnet-4-6-default"]["errorMessage"].strip().splitlines()[-1]
    assert f"Errors:\n  [claude-sonnet-4-6-default] {failure}" in table
    assert out[-1] == f"View logs: kaggle b t log {TASK_SLUG} [-m <model>]"


def test_status_of_a_task_without_runs_suggests_running_it(conf_sim, run_kaggle, workdir) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    result = run_kaggle(conf_sim, "b", "t", "status", TASK_SLUG, cwd=workdir)

    assert result.returncode == 0, result
    assert (
        lines(result.stdout)[-1] == f"No runs yet. Use 'kaggle b t run {TASK_SLUG}' to start one."
    )


def test_status_of_an_unknown_task_says_not_found(conf_sim, run_kaggle, workdir) -> None:
    result = run_kaggle(conf_sim, "b", "t", "status", "no-such-task", cwd=workdir)

    assert result.returncode == 1, result
    assert result.stderr.strip() == (
        "Task 'no-such-task' not found. Verify the name or run "
        "'kaggle benchmarks tasks list' to see available tasks."
    )


def test_models_lists_every_catalogue_model_across_pages(
    conf_sim, run_kaggle, workdir, api
) -> None:
    catalogue: list[dict] = []
    token = ""
    while True:
        page = rpc(api, "ListBenchmarkModels", {"pageToken": token})
        catalogue.extend(page["benchmarkModels"])
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert len(catalogue) > 20  # more than one page

    result = run_kaggle(conf_sim, "b", "t", "models", cwd=workdir)

    assert result.returncode == 0, result
    out = result.stdout.splitlines()
    assert out[0].split() == ["Slug", "Display", "Name"]
    assert out[1] == "-" * 60
    expected = [f"{m['version']['slug']:<30} {m['displayName']:<30}" for m in catalogue]
    assert out[2:] == expected


def test_run_without_models_offers_the_catalogue_and_schedules_the_picked_ones(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    first_page = rpc(api, "ListBenchmarkModels")["benchmarkModels"]
    picked = [first_page[0]["version"]["slug"], first_page[2]["version"]["slug"]]

    result = run_kaggle(conf_sim, "b", "t", "run", TASK_SLUG, stdin="1,3\n", cwd=workdir)

    assert result.returncode == 0, result
    assert "Showing 1-20 of " in result.stdout
    menu = lines(result.stdout)
    first = next(line for line in menu if line.startswith(" 1. "))
    assert first_page[0]["displayName"] in first and picked[0] in first
    assert first.split(picked[0], 1)[1].strip()  # the modality column is filled in
    assert f": Selected models: {picked!r}\n" in result.stdout  # after the input prompt
    submitted = menu.index(f"Submitted run(s) for task '{TASK_SLUG}'.")
    assert menu[submitted + 1 : submitted + 3] == [f"  {slug}: Scheduled" for slug in picked]
    assert sorted(run["modelVersionSlug"] for run in all_runs(api)) == sorted(picked)


def test_run_without_models_and_without_input_says_how_to_pass_them(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    result = run_kaggle(conf_sim, "b", "t", "run", TASK_SLUG, stdin="", cwd=workdir)

    assert result.returncode == 1, result
    assert result.stderr.strip().startswith("No model specified and no input received.")
    assert all_runs(api) == []


def test_run_of_a_task_still_building_is_refused(conf_sim, run_kaggle, workdir, api) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG, build_seconds=100)

    result = run_kaggle(conf_sim, *f"b t run {TASK_SLUG} -m gpt-5".split(), cwd=workdir)

    assert result.returncode == 1, result
    assert result.stderr.strip() == (
        f"Task '{TASK_SLUG}' is not ready to run (status: QUEUED). Only completed tasks can be run."
    )
    assert all_runs(api) == []


def test_run_wait_keeps_waiting_while_a_score_is_pending(
    conf_sim, start_kaggle, workdir, api
) -> None:
    conf_sim.engine.config.score_seconds = 30  # `kbench-tui sim --score-seconds 30`
    conf_sim.engine.add_task("demo", TASK_SLUG)
    cli = start_kaggle(
        conf_sim,
        *f"b t run {TASK_SLUG} -m gemini-2.5-flash --wait --poll-interval 1".split(),
        cwd=workdir,
    )
    waiting = "  1 run(s) still in progress..."
    cli.wait_for(waiting)
    (run,) = all_runs(api)
    conf_sim.store.set_run_outcome(run["id"], "COMPLETED")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    (run,) = all_runs(api)
    assert run["state"] == RUN_STATE + "SCORE_PENDING" and "endTime" in run
    # Two more polls: at least one of them saw SCORE_PENDING, and the CLI waits on.
    cli.wait_for(waiting, count=cli.stdout.count(waiting) + 2)
    assert cli.running() and "All runs completed:" not in cli.stdout
    conf_sim.clock.advance(30)
    result = cli.finish()

    assert result.returncode == 0, result
    out = lines(result.stdout)
    done = out.index("All runs completed:")
    assert out[done + 1] == "  gemini-2.5-flash: COMPLETED"
