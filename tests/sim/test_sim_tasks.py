"""Task lifecycle, listing, filters and pagination, publishing."""

from __future__ import annotations

import httpx
from sim_helpers import GOOD_NOTEBOOK, Rpc

from kbench_tui.sim.notebook import make_notebook
from kbench_tui.sim.runner import RunningSim

STATE = "BENCHMARK_TASK_VERSION_CREATION_STATE_"


def create(
    rpc: Rpc, client: httpx.Client, slug: str, text: str = GOOD_NOTEBOOK, **extra
) -> httpx.Response:
    return rpc(client, "CreateBenchmarkTask", {"slug": slug, "text": text, **extra})


def get(rpc: Rpc, client: httpx.Client, slug: str, version: int | None = None) -> httpx.Response:
    body: dict = {"taskSlug": slug}
    if version is not None:
        body["versionNumber"] = version
    return rpc(client, "GetBenchmarkTask", {"slug": body})


def test_create_then_build_on_the_clock(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    created = create(rpc, client, "my-task")
    assert created.status_code == 200, created.text
    task = created.json()
    assert task["slug"] == {"ownerSlug": "demo", "taskSlug": "my-task", "versionNumber": 1}
    assert task["url"] == "/benchmarks/tasks/demo/my-task/1"
    assert task["creationState"] == STATE + "QUEUED"
    assert task["createTime"] == "2026-03-01T12:00:00.000Z"
    assert task["source"] == "CLI"  # the proto member name (no prefix)
    assert task["isPublic"] is False and task["isBackingNotebookPublished"] is False
    assert isinstance(task["sourceKernelId"], int)
    assert "options" not in task and "creationErrorMessage" not in task
    # Visible at once through Get (latest), then RUNNING, then COMPLETED on the clock.
    assert get(rpc, client, "my-task").json()["creationState"] == STATE + "QUEUED"
    sim.clock.advance(5)
    assert get(rpc, client, "my-task").json()["creationState"] == STATE + "RUNNING"
    sim.clock.advance(5)
    assert get(rpc, client, "my-task").json()["creationState"] == STATE + "COMPLETED"


def test_new_version_and_pending_refusal(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    create(rpc, client, "my-task", options={"datasetDataSources": ["a/x", "b/y", "a/x"]})
    refused = create(rpc, client, "my-task")
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("Task 'my-task' creation is still pending")
    sim.clock.advance(10)
    first = get(rpc, client, "my-task").json()
    assert first["options"] == {"datasetDataSources": ["a/x", "b/y"]}  # de-duplicated
    second = create(rpc, client, "my-task").json()
    assert second["slug"]["versionNumber"] == 2
    assert "options" not in second  # omitted options clear the sources
    assert get(rpc, client, "my-task", 1).json()["options"]["datasetDataSources"] == ["a/x", "b/y"]
    assert get(rpc, client, "my-task").json()["slug"]["versionNumber"] == 2
    assert get(rpc, client, "my-task", 7).status_code == 404


def test_build_failures_carry_an_error_message(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    create(rpc, client, "no-task", make_notebook("def helper():\n    return 1\n"))
    create(rpc, client, "bad-syntax", make_notebook("@task\ndef f(:\n"))
    magic = make_notebook(
        "%pip install x\n!ls\n%%capture\nfoo bar\n\nfrom k import task\n@task\ndef ok(llm):\n    pass\n"
    )
    create(rpc, client, "with-magics", magic)
    sim.clock.advance(60)
    no_task = get(rpc, client, "no-task").json()
    assert no_task["creationState"] == STATE + "VALIDATION_FAILED"
    assert "@task" in no_task["creationErrorMessage"]
    bad = get(rpc, client, "bad-syntax").json()
    assert bad["creationState"] == STATE + "ERRORED"
    assert bad["creationErrorMessage"].startswith("Traceback")
    assert bad["creationErrorMessage"].splitlines()[-1].startswith("SyntaxError")
    assert get(rpc, client, "with-magics").json()["creationState"] == STATE + "COMPLETED"


def test_create_validates_its_input(client: httpx.Client, rpc: Rpc) -> None:
    for body in (
        {"slug": "my-task", "text": "print('not a notebook')"},
        {"slug": "my-task"},
        {"slug": "My Task", "text": GOOD_NOTEBOOK},
        {"text": GOOD_NOTEBOOK},
        {"slug": "t", "text": GOOD_NOTEBOOK, "options": {"datasetDataSources": ["nope"]}},
        {"slug": "t", "text": GOOD_NOTEBOOK, "options": {"datasetDataSources": ["a/b/versions/2"]}},
    ):
        response = rpc(client, "CreateBenchmarkTask", body)
        assert response.status_code == 400, body
        assert response.json()["code"] == 400 and response.json()["message"]


def test_get_unknown_task_is_404(client: httpx.Client, rpc: Rpc) -> None:
    response = get(rpc, client, "nothing-here")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Task 'demo/nothing-here' not found."}


def test_list_pagination_exhausts_newest_first(
    sim: RunningSim, client: httpx.Client, rpc: Rpc
) -> None:
    for index in range(45):
        sim.engine.add_task("demo", f"task-{index:02d}")
        sim.clock.advance(1)
    seen, token, pages = [], None, 0
    while True:
        body = {"pageToken": token} if token else {}
        page = rpc(client, "ListBenchmarkTasks", body).json()
        pages += 1
        assert page["totalResults"] == 45
        seen += [task["slug"]["taskSlug"] for task in page["tasks"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3
    assert seen == [f"task-{index:02d}" for index in reversed(range(45))]
    big = rpc(client, "ListBenchmarkTasks", {"pageSize": 500}).json()
    assert len(big["tasks"]) == 45 and "nextPageToken" not in big
    assert rpc(client, "ListBenchmarkTasks", {"pageToken": "garbage!"}).status_code == 400


def test_list_filters(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.engine.add_task("demo", "alpha-one")
    sim.engine.add_task("demo", "alpha-two", code="def nothing():\n    pass\n")
    create(rpc, client, "beta-pending")

    def slugs(**body) -> list[str]:
        answer = rpc(client, "ListBenchmarkTasks", body)
        assert answer.status_code == 200, answer.text
        return sorted(task["slug"]["taskSlug"] for task in answer.json()["tasks"])

    assert slugs(regexFilter="^alpha") == ["alpha-one", "alpha-two"]
    assert slugs(regexFilter="two|pend") == ["alpha-two", "beta-pending"]
    assert slugs(statusFilter="completed") == ["alpha-one"]
    assert slugs(statusFilter="COMPLETED") == ["alpha-one"]
    assert slugs(statusFilter=STATE + "QUEUED") == ["beta-pending"]
    assert slugs(statusFilter="validation_failed") == ["alpha-two"]
    assert slugs(statusFilter="error") == ["alpha-two"]
    assert slugs(statusFilter="created") == ["alpha-one"]
    assert slugs(statusFilter="completed", regexFilter="two") == []
    bad_status = rpc(client, "ListBenchmarkTasks", {"statusFilter": "finished"})
    assert bad_status.status_code == 400 and "queued" in bad_status.json()["message"]
    bad_regex = rpc(client, "ListBenchmarkTasks", {"regexFilter": "(["})
    assert bad_regex.status_code == 400 and "regexFilter" in bad_regex.json()["message"]


def test_publish(sim: RunningSim, client: httpx.Client, rpc: Rpc) -> None:
    sim.engine.add_task("demo", "pub-task")
    sim.engine.add_task("demo", "pub-notebook")
    plain = rpc(client, "PublishBenchmarkTask", {"slug": {"taskSlug": "pub-task"}}).json()
    assert plain["isPublic"] is True and plain["isBackingNotebookPublished"] is False
    both = rpc(
        client,
        "PublishBenchmarkTask",
        {"slug": {"taskSlug": "pub-notebook"}, "publishBackingNotebook": True},
    ).json()
    assert both["isPublic"] is True and both["isBackingNotebookPublished"] is True
    assert get(rpc, client, "pub-notebook").json()["isBackingNotebookPublished"] is True
    missing = rpc(client, "PublishBenchmarkTask", {"slug": {"taskSlug": "nope"}})
    assert missing.status_code == 404
