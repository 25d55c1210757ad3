"""`kaggle b t list`, `publish`, `delete`, `kaggle b auth` and what a bad credential prints."""

from __future__ import annotations

import re

import httpx
import pytest
from cli_harness import BENCHMARKS, BUILD_SECONDS, TASK_SLUG, TOKEN, WEB, all_tasks, get_task, lines

pytestmark = pytest.mark.conformance

PAGE_PROMPT = "[Page 1/2] [n]ext, [p]rev, [q]uit: "
AUTH_HELP = "Authentication required to call the Kaggle API."


@pytest.fixture
def many_tasks(conf_sim) -> dict[str, str]:
    """23 tasks (more than one page of 20): 15 completed, 8 still building."""
    states = {}
    for index in range(23):
        slug = f"{'alpha' if index % 3 == 0 else 'beta'}-task-{index:02d}"
        building = index % 3 == 1
        conf_sim.engine.add_task("demo", slug, build_seconds=BUILD_SECONDS if building else 0)
        conf_sim.clock.advance(0.1)  # distinct creation times; builds stay queued
        states[slug] = "Queued" if building else "Completed"
    return states


def table_rows(stdout: str, slugs) -> dict[str, str]:
    """The task table's rows, by the slug in their first column."""
    return {line.split()[0]: line for line in lines(stdout) if line and line.split()[0] in slugs}


def test_list_all_shows_every_task_across_pages(
    conf_sim, run_kaggle, workdir, api, many_tasks
) -> None:
    result = run_kaggle(conf_sim, "b", "t", "list", "--all", cwd=workdir)

    assert result.returncode == 0, result
    out = lines(result.stdout)
    assert f"Showing 1-23 of 23 tasks ({WEB}/benchmarks/tasks/demo/)" in out
    rows = table_rows(result.stdout, many_tasks)
    assert set(rows) == set(many_tasks)
    for task in all_tasks(api):
        slug = task["slug"]["taskSlug"]
        assert task["creationState"].endswith(many_tasks[slug].upper())
        assert rows[slug].split()[1] == many_tasks[slug]
        assert task["createTime"][:19].replace("T", " ") in rows[slug]


def test_list_pages_interactively_and_quits_on_q(conf_sim, run_kaggle, workdir, many_tasks) -> None:
    result = run_kaggle(conf_sim, "b", "t", "list", stdin="n\nq\n", cwd=workdir)

    assert result.returncode == 0, result
    assert f"Showing 1-20 of 23 tasks ({WEB}/benchmarks/tasks/demo/)" in result.stdout
    assert PAGE_PROMPT in result.stdout
    assert f"Showing 21-23 of 23 tasks ({WEB}/benchmarks/tasks/demo/)" in result.stdout
    assert "[Page 2/2] [n]ext, [p]rev, [q]uit: " in result.stdout
    assert set(table_rows(result.stdout, many_tasks)) == set(many_tasks)


def test_list_filters_by_status_and_by_name_regex(
    conf_sim, run_kaggle, workdir, api, many_tasks
) -> None:
    completed = run_kaggle(
        conf_sim, "b", "t", "list", "--status", "completed", "--all", cwd=workdir
    )
    alpha = run_kaggle(conf_sim, "b", "t", "list", "--name-regex", "^alpha-", cwd=workdir)
    none = run_kaggle(conf_sim, "b", "t", "list", "--name-regex", "^gamma-", cwd=workdir)

    assert completed.returncode == alpha.returncode == none.returncode == 0
    expected_completed = {s for s, state in many_tasks.items() if state == "Completed"}
    assert set(table_rows(completed.stdout, many_tasks)) == expected_completed
    assert {t["slug"]["taskSlug"] for t in all_tasks(api, statusFilter="completed")} == (
        expected_completed
    )
    expected_alpha = {s for s in many_tasks if s.startswith("alpha-")}
    assert set(table_rows(alpha.stdout, many_tasks)) == expected_alpha
    assert f"Showing 1-{len(expected_alpha)} of {len(expected_alpha)} tasks" in alpha.stdout
    assert lines(none.stdout) == ["No tasks found matching the given filters."]


def test_list_without_tasks_suggests_pushing_one(conf_sim, run_kaggle, workdir) -> None:
    result = run_kaggle(conf_sim, "b", "t", "list", cwd=workdir)

    assert result.returncode == 0, result
    assert lines(result.stdout) == ["No tasks found. Use 'kaggle b t push' to create one."]


def test_publish_makes_the_task_and_its_notebook_public(conf_sim, run_kaggle, workdir, api) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    conf_sim.engine.add_task("demo", "private-notebook")

    result = run_kaggle(conf_sim, "b", "t", "publish", TASK_SLUG, cwd=workdir)

    assert result.returncode == 0, result
    assert lines(result.stdout) == [
        f"Task '{TASK_SLUG}' published successfully.",
        f"Task URL: {WEB}/benchmarks/tasks/demo/{TASK_SLUG}/1",
        "Backing notebook also published.",
    ]
    task = get_task(api)
    assert task["isPublic"] is True
    assert task["isBackingNotebookPublished"] is True

    again = run_kaggle(conf_sim, "b", "t", "publish", TASK_SLUG, cwd=workdir)

    assert again.returncode == 0, again
    assert lines(again.stdout) == [
        f"Task '{TASK_SLUG}' is already public.",
        "Backing notebook is already published.",
    ]

    task_only = run_kaggle(
        conf_sim,
        *["b", "t", "publish", "private-notebook", "--no-publish-backing-notebook"],
        cwd=workdir,
    )

    assert task_only.returncode == 0, task_only
    assert lines(task_only.stdout)[0] == "Task 'private-notebook' published successfully."
    other = get_task(api, "private-notebook")
    assert other["isPublic"] is True
    assert other["isBackingNotebookPublished"] is False


def test_delete_is_refused_by_the_cli_and_the_task_stays(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)

    result = run_kaggle(conf_sim, "b", "t", "delete", TASK_SLUG, "-y", cwd=workdir)

    assert result.returncode == 0, result
    assert result.stderr.strip() == "Delete is not supported by the server yet."
    assert get_task(api)["slug"]["taskSlug"] == TASK_SLUG


def test_auth_writes_model_proxy_settings_to_env_in_the_working_directory(
    conf_sim, run_kaggle, workdir
) -> None:
    result = run_kaggle(conf_sim, "b", "auth", "-y", cwd=workdir)

    assert result.returncode == 0, result
    env_file = workdir / ".env"
    settings = dict(
        line.split("=", 1) for line in env_file.read_text(encoding="utf-8").splitlines() if line
    )
    assert set(settings) == {"MODEL_PROXY_URL", "MODEL_PROXY_API_KEY", "MODEL_PROXY_EXPIRY_TIME"}
    assert settings["MODEL_PROXY_URL"].startswith(conf_sim.url)
    key = settings["MODEL_PROXY_API_KEY"]
    assert len(key) > 8
    assert settings["MODEL_PROXY_EXPIRY_TIME"] == "2026-03-02T12:00:00Z"  # clock + 24 h
    out = lines(result.stdout)
    assert out[0] == "The following configuration will be set:"
    assert f"  API Key  (ends in ...{key[-4:]})" in out
    assert out[-1] == f"Environment variables have been written to {env_file}."
    assert TOKEN not in result.stdout


def test_a_token_the_server_does_not_know_gets_the_auth_help(conf_sim, run_kaggle, workdir) -> None:
    result = run_kaggle(conf_sim, "b", "t", "list", cwd=workdir, token="not-a-valid-token")

    assert result.returncode == 1, result
    assert result.stdout.startswith(AUTH_HELP)
    assert "Showing" not in result.stdout


def test_a_rejected_api_key_gets_the_auth_help(conf_sim, run_kaggle, workdir) -> None:
    # Legacy keys are not checked at start-up: the first RPC answers 401.
    legacy_key = {"KAGGLE_USERNAME": "demo", "KAGGLE_KEY": "wrong-key"}
    result = run_kaggle(conf_sim, "b", "t", "list", cwd=workdir, token=None, env=legacy_key)

    assert result.returncode == 1, result
    assert lines(result.stdout)[0] == AUTH_HELP
    assert result.stdout.count(AUTH_HELP) == 1


def test_leaderboard_shows_each_models_result_per_task(demo_sim, run_kaggle, workdir) -> None:
    board = httpx.post(
        f"{demo_sim.url}/api/v1/{BENCHMARKS}/GetBenchmarkLeaderboard",
        json={"ownerSlug": "demo", "benchmarkSlug": "reasoning-suite"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert board["rows"]

    # No owner given: the CLI uses the user the token belongs to.
    result = run_kaggle(demo_sim, *["b", "leaderboard", "reasoning-suite", "-s"], cwd=workdir)

    assert result.returncode == 0, result
    table = [re.split(r"\s{2,}", line.strip()) for line in lines(result.stdout) if line]
    names = {
        r["benchmarkTaskSlug"]: r["benchmarkTaskName"]
        for row in board["rows"]
        for r in row["taskResults"]
    }
    assert table[0] == ["Model", *(names[slug] for slug in sorted(names))]
    assert [cells[0] for cells in table[2:]] == [row["modelVersionName"] for row in board["rows"]]
    for row, cells in zip(board["rows"], table[2:], strict=True):
        for entry in row["taskResults"]:
            cell = cells[1 + sorted(names).index(entry["benchmarkTaskSlug"])]
            outcome = entry["result"]
            if "numericResult" in outcome:
                assert cell == str(outcome["numericResult"]["value"])
            elif "booleanResult" in outcome:
                assert cell == ("Pass" if outcome["booleanResult"] else "Fail")
