"""Scheduling, run lifecycle, run listing, models, quota, leaderboard, proxy token."""

from __future__ import annotations

import json
import sqlite3

import httpx
from sim_helpers import Rpc

from kbench_tui.sim.catalog import MODELS
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.downloads import make_token
from kbench_tui.sim.engine import SKIP_REASON
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim
from kbench_tui.sim.store import Store
from kbench_tui.slugs import normalize_model_slug

RUN = "BENCHMARK_TASK_RUN_STATE_"
LEADERBOARD = "GetBenchmarkLeaderboard"


def schedule(
    rpc: Rpc, client: httpx.Client, models: list[str], task: str = "my-task"
) -> httpx.Response:
    return rpc(
        client,
        "BatchScheduleBenchmarkTaskRuns",
        {"taskSlugs": [{"taskSlug": task}], "modelVersionSlugs": models},
    )


def runs(rpc: Rpc, client: httpx.Client, task: str = "my-task", **body) -> dict:
    answer = rpc(client, "ListBenchmarkTaskRuns", {"taskSlug": {"taskSlug": task}, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_schedule_lifecycle_and_skips(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.engine.add_task("demo", "my-task")
    models = [
        "google/gemini-2.5-flash",
        "claude-sonnet-4-6-default",
        "anthropic/claude-opus-4-6@default",
    ]
    answer = schedule(rpc, client, models).json()
    assert [r["runScheduled"] for r in answer["results"]] == [True, True, True]
    assert [r["benchmarkModelVersionId"] for r in answer["results"]] == [
        m.version_id
        for slug in models
        for m in MODELS
        if m.version_slug == normalize_model_slug(slug)
    ]
    listed = runs(rpc, client)
    assert listed["totalResults"] == 3
    assert [r["modelVersionSlug"] for r in listed["runs"]] == [
        "gemini-2.5-flash",
        "claude-sonnet-4-6-default",
        "claude-opus-4-6-default",
    ]
    assert all(r["state"] == RUN + "QUEUED" and "startTime" not in r for r in listed["runs"])
    assert listed["runs"][0]["taskSlug"] == {
        "ownerSlug": "demo",
        "taskSlug": "my-task",
        "versionNumber": 1,
    }
    again = schedule(rpc, client, ["gemini-2.5-flash", "gpt-5"]).json()["results"]
    assert "runScheduled" not in again[0] and again[0]["runSkippedReason"] == SKIP_REASON
    assert again[1]["runScheduled"] is True
    sim.clock.advance(5)
    assert {r["state"] for r in runs(rpc, client)["runs"]} == {RUN + "RUNNING"}
    assert all("startTime" in r and "endTime" not in r for r in runs(rpc, client)["runs"])
    sim.clock.advance(60)
    finished = runs(rpc, client)["runs"]
    assert {r["state"] for r in finished} <= {RUN + "COMPLETED", RUN + "ERRORED"}
    for run in finished:
        assert run["endTime"] > run["startTime"]
        if run["state"] == RUN + "ERRORED":
            assert run["errorMessage"].startswith("Traceback")
            assert ": " in run["errorMessage"].splitlines()[-1]


def test_errored_runs_may_be_rerun(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.engine.add_task("demo", "my-task")
    sim.engine.add_run(
        "demo", "my-task", "gpt-5", outcome="ERRORED", queue_seconds=0, run_seconds=1
    )
    sim.clock.advance(2)
    assert schedule(rpc, client, ["gpt-5"]).json()["results"][0]["runScheduled"] is True


def test_schedule_errors(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.engine.add_task("demo", "my-task")
    sim.engine.add_task("demo", "building", build_seconds=30)
    unknown = schedule(rpc, client, ["gemini-2.5-flash", "no-such-model"])
    assert unknown.status_code == 404 and "no-such-model" in unknown.json()["message"]
    assert runs(rpc, client)["runs"] == []  # nothing was scheduled
    not_ready = schedule(rpc, client, ["gpt-5"], task="building")
    assert not_ready.status_code == 400
    assert "not ready to run (status: QUEUED)" in not_ready.json()["message"]
    assert schedule(rpc, client, ["gpt-5"], task="missing").status_code == 404
    assert rpc(client, "BatchScheduleBenchmarkTaskRuns", {}).status_code == 400


def test_task_major_order_for_several_tasks(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    first = sim.engine.add_task("demo", "task-a")
    second = sim.engine.add_task("demo", "task-b")
    answer = rpc(
        client,
        "BatchScheduleBenchmarkTaskRuns",
        {
            "taskSlugs": [{"taskSlug": "task-a"}, {"taskSlug": "task-b"}],
            "modelVersionSlugs": ["gpt-5", "o3"],
        },
    ).json()["results"]
    pairs = [(r["benchmarkTaskVersionId"], r["benchmarkModelVersionId"]) for r in answer]
    ids = {m.version_slug: m.version_id for m in MODELS}
    a, b = (sim.store.get_version("demo", t["slug"]["taskSlug"]).id for t in (first, second))
    assert pairs == [(a, ids["gpt-5"]), (a, ids["o3"]), (b, ids["gpt-5"]), (b, ids["o3"])]


def test_run_list_filters_pagination_and_latest_version(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    sim.engine.add_task("demo", "my-task")
    for model in MODELS[:25]:
        sim.engine.add_run("demo", "my-task", model.version_slug)
    first = runs(rpc, client)
    assert len(first["runs"]) == 20 and first["totalResults"] == 25
    second = runs(rpc, client, pageToken=first["nextPageToken"])
    assert len(second["runs"]) == 5 and "nextPageToken" not in second
    ids = [r["id"] for r in first["runs"] + second["runs"]]
    assert ids == sorted(ids)
    proxy = MODELS[3].proxy_slug
    filtered = runs(rpc, client, modelVersionSlugs=[proxy, MODELS[4].version_slug])
    assert [r["modelVersionSlug"] for r in filtered["runs"]] == [
        MODELS[3].version_slug,
        MODELS[4].version_slug,
    ]
    sim.engine.add_task("demo", "my-task")  # version 2 has no runs yet
    assert runs(rpc, client)["runs"] == []
    assert (
        len(runs(rpc, client, taskSlug={"taskSlug": "my-task", "versionNumber": 1})["runs"]) == 20
    )


def test_outcomes_are_reproducible_from_the_rng_seed() -> None:
    def outcomes(seed: int) -> list[str]:
        config = SimConfig(seed="empty", rng_seed=seed, run_error_rate=0.5)
        with start_sim(config, clock=ManualClock()) as sim:
            sim.engine.add_task("demo", "t")
            ids = [sim.engine.add_run("demo", "t", m.version_slug) for m in MODELS[:20]]
            sim.clock.advance(3600)
            return [sim.engine.run_state(run_id) for run_id in ids]

    first = outcomes(7)
    assert first == outcomes(7)
    assert set(first) == {"COMPLETED", "ERRORED"}
    assert first != outcomes(8)


def test_a_run_that_completes_waits_for_its_score_first(rpc: Rpc) -> None:
    """`--score-seconds`: the session ends (end time, whole log), the score is awaited, so
    the run is not finished yet: no output to download, not on the leaderboard."""
    config = SimConfig(seed="empty", score_seconds=30)
    with (
        start_sim(config, clock=ManualClock()) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": "Bearer demo-token"}) as client,
    ):
        sim.engine.add_task("demo", "my-task")
        sim.store.put_benchmark("demo", "suite", 1, [("demo", "my-task")])
        done, failed = (
            sim.engine.add_run("demo", "my-task", model, outcome=outcome, queue_seconds=0)
            for model, outcome in (("gpt-5", "COMPLETED"), ("gemini-2.5-flash", "ERRORED"))
        )
        archive = f"/api/v1/downloads/{make_token(done, False)}.zip"

        def board_models() -> list[str]:
            body = {"ownerSlug": "demo", "benchmarkSlug": "suite"}
            return [
                row["modelVersionName"] for row in rpc(client, LEADERBOARD, body).json()["rows"]
            ]

        sim.clock.advance(60)  # the default run_seconds: both sessions have just ended
        listed = {run["id"]: run for run in runs(rpc, client)["runs"]}
        assert listed[done]["state"] == RUN + "SCORE_PENDING" and "endTime" in listed[done]
        assert listed[failed]["state"] == RUN + "ERRORED"  # a failure has nothing to score
        log = rpc(client, "GetBenchmarkTaskRunLogs", {"runId": done})
        assert log.headers["content-type"].startswith("application/json")
        whole = sim.engine.run_log(sim.store.get_run(done)).as_json_array()
        assert log.json() == json.loads(whole) and log.json()
        output = rpc(client, "DownloadBenchmarkTaskRunOutput", {"runId": done})
        assert output.status_code == 400 and "SCORE_PENDING" in output.json()["message"]
        assert client.get(archive).status_code == 404  # nor by a link given out earlier
        assert board_models() == []
        assert schedule(rpc, client, ["gpt-5"]).json()["results"][0]["runSkippedReason"]
        sim.clock.advance(30)
        assert {run["id"]: run["state"] for run in runs(rpc, client)["runs"]}[done] == (
            RUN + "COMPLETED"
        )
        output = rpc(client, "DownloadBenchmarkTaskRunOutput", {"runId": done})
        assert output.status_code == 302 and output.headers["location"] == archive
        assert client.get(archive).status_code == 200
        assert len(board_models()) == 1


def test_a_runs_score_wait_is_kept_with_it_across_restarts(tmp_path) -> None:
    """Like its other timings, the wait is the one in force when the run was scheduled: a
    restart with another --score-seconds never sends a finished run back to SCORE_PENDING."""
    db = str(tmp_path / "sim.db")
    clock = ManualClock()
    with start_sim(SimConfig(seed="empty", db=db), clock=clock) as sim:
        sim.engine.add_task("demo", "my-task")
        run_id = sim.engine.add_run("demo", "my-task", "gpt-5", outcome="COMPLETED")
        clock.advance(5 + 60)
        assert sim.engine.run_state(run_id) == "COMPLETED"
    with start_sim(SimConfig(seed="empty", db=db, score_seconds=3600), clock=clock) as sim:
        assert sim.engine.run_state(run_id) == "COMPLETED"
        later = sim.engine.add_run("demo", "my-task", "o3", outcome="COMPLETED")
        clock.advance(5 + 60)
        assert sim.engine.run_state(later) == "SCORE_PENDING"


def test_a_database_from_before_score_waits_opens_with_none(tmp_path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.executescript(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL,"
            " model TEXT NOT NULL, owner TEXT NOT NULL, schedule_time REAL NOT NULL,"
            " queue_seconds REAL NOT NULL, run_seconds REAL NOT NULL, outcome TEXT NOT NULL,"
            " log_lines INTEGER NOT NULL, output_padding INTEGER NOT NULL DEFAULT 0);"
        )
    store = Store(str(db))
    try:
        store.bulk_load([(1, "demo", "t", 1, 0, 0)], [], [])
        version = (1, 1, 1, "{}", "T", "def t(): pass", 0.0, 1.0, "COMPLETED", None, "[]")
        store.bulk_load([], [version], [(1, 1, "gpt-5", "demo", 0.0, 0.0, 1.0, "COMPLETED", 1, 0)])
        (run,) = store.runs_of_version(1)
        assert run.score_seconds == 0.0 and run.end_time == 1.0
    finally:
        store.close()


def test_models_catalogue_paginates(client: httpx.Client, rpc: Rpc) -> None:
    models, token = [], None
    while True:
        page = rpc(client, "ListBenchmarkModels", {"pageToken": token} if token else {}).json()
        assert len(page["benchmarkModels"]) <= 20
        models += page["benchmarkModels"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(models) >= 40
    organizations = {m["organization"]["name"] for m in models}
    assert {
        "Google",
        "Anthropic",
        "OpenAI",
        "xAI",
        "Meta",
        "Mistral AI",
        "DeepSeek",
        "Qwen",
    } <= organizations
    for model in models:
        version = model["version"]
        assert model["displayName"] and version["slug"] and version["inputModalities"]
        assert version["slug"] == normalize_model_slug(version["modelProxySlug"])
    assert any(m["version"].get("importanceLevel") == "CORE" for m in models)
    assert len({m["version"]["slug"] for m in models}) == len(models)


def test_quota_grows_with_runs(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    before = rpc(client, "GetBenchmarkTaskQuota").json()
    assert before == {"dailyQuotaUsed": 0.0, "totalDailyQuotaAllowed": 20.0}
    sim.engine.add_task("demo", "my-task")
    schedule(rpc, client, ["gpt-5", "o3"])
    after = rpc(client, "GetBenchmarkTaskQuota").json()
    assert after["dailyQuotaUsed"] > 0
    sim.clock.advance(25 * 3600)
    assert rpc(client, "GetBenchmarkTaskQuota").json()["dailyQuotaUsed"] == 0.0


def test_leaderboard(demo_sim: RunningSim, demo_client: httpx.Client, rpc: Rpc) -> None:
    board = rpc(
        demo_client,
        "GetBenchmarkLeaderboard",
        {"ownerSlug": "demo", "benchmarkSlug": "reasoning-suite"},
    )
    assert board.status_code == 200
    rows = board.json()["rows"]
    assert rows and all(row["modelVersionName"] and row["taskResults"] for row in rows)
    results = [task["result"] for row in rows for task in row["taskResults"]]
    assert any("numericResult" in r for r in results) and any("booleanResult" in r for r in results)
    missing = rpc(
        demo_client, "GetBenchmarkLeaderboard", {"ownerSlug": "demo", "benchmarkSlug": "nope"}
    )
    assert missing.status_code == 404


def test_proxy_token(client: httpx.Client, rpc: Rpc) -> None:
    token = rpc(client, "CreateDefaultModelProxyToken").json()
    assert len(token["token"]) > 20 and token["baseUri"].startswith("http")
    assert token["expiryTime"] == "2026-03-02T12:00:00.000Z"
