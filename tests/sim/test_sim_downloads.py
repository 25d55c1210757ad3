"""Run-output downloads: 302 to a signed URL, the zip, Range/If-Range resume."""

from __future__ import annotations

import io
import json
import zipfile
from email.utils import parsedate_to_datetime

import httpx
from sim_helpers import Rpc

from kbench_tui.sim.runner import RunningSim


def finished_run(sim: RunningSim, outcome: str = "COMPLETED", padding: int = 0) -> int:
    sim.engine.add_task("demo", "my-task")
    run_id = sim.engine.add_run(
        "demo",
        "my-task",
        "anthropic/claude-sonnet-4-6@default",
        outcome=outcome,
        output_padding=padding,
    )
    sim.clock.advance(3600)
    return run_id


def redirect(rpc: Rpc, client: httpx.Client, run_id: int, source: bool = False) -> httpx.Response:
    return rpc(client, "DownloadBenchmarkTaskRunOutput", {"runId": run_id, "includeSource": source})


def test_redirect_then_zip(
    sim: RunningSim, anon_client: httpx.Client, client: httpx.Client, rpc: Rpc
) -> None:
    run_id = finished_run(sim)
    answer = redirect(rpc, client, run_id)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith("/api/v1/downloads/") and location.endswith(".zip")
    # Like a signed URL: no credentials needed.
    response = anon_client.get(location)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "content-encoding" not in response.headers
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert parsedate_to_datetime(response.headers["last-modified"]).tzname() == "UTC"
    assert response.headers["last-modified"].endswith(" GMT")
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "What_is_Kaggle-run_id_Run_1_anthropic_claude-sonnet-4-6default.run.json" in names
    assert "What_is_Kaggle.task.json" in names
    assert "__notebook__.ipynb" not in names
    # Same run, same bytes, same ETag.
    again = anon_client.get(location)
    assert again.content == response.content and again.headers["etag"] == response.headers["etag"]
    # The /v1 prefix redirects under /v1.
    v1 = client.post(
        "/v1/benchmarks.BenchmarkTasksApiService/DownloadBenchmarkTaskRunOutput",
        json={"runId": run_id},
    )
    assert v1.headers["location"].startswith("/v1/downloads/")


def test_run_json_follows_the_kaggle_benchmarks_format(
    sim: RunningSim, anon_client: httpx.Client, client: httpx.Client, rpc: Rpc
) -> None:
    run_id = finished_run(sim, outcome="ERRORED")
    archive = client.post(
        "/api/v1/benchmarks.BenchmarkTasksApiService/DownloadBenchmarkTaskRunOutput",
        json={"runId": run_id, "includeSource": True},
        follow_redirects=True,
    )
    files = zipfile.ZipFile(io.BytesIO(archive.content))
    assert {"__notebook__.ipynb", "__notebook_source__.ipynb"} <= set(files.namelist())
    json.loads(files.read("__notebook__.ipynb"))
    run_file = next(name for name in files.namelist() if name.endswith(".run.json"))
    document = json.loads(files.read(run_file))
    assert document["taskVersion"]["name"] == "What is Kaggle?"
    assert document["modelVersion"]["slug"] == "anthropic/claude-sonnet-4-6@default"
    assert document["state"] == "BENCHMARK_TASK_RUN_STATE_ERRORED"
    assert document["results"] == [{"type": "AGGREGATED", "booleanResult": False}]
    assert document["errorMessage"].startswith("Traceback")
    assert document["startTime"].endswith("Z") and document["endTime"].endswith("Z")
    statuses = {a["status"] for a in document["assertions"]}
    assert statuses <= {
        f"BENCHMARK_TASK_RUN_ASSERTION_STATUS_{s}" for s in ("PASSED", "FAILED", "ERRORED")
    }
    metrics = document["conversations"][0]["requests"][0]["metrics"]
    assert isinstance(metrics["inputTokensCostNanodollars"], str)  # int64 as string


def test_range_and_if_range(
    sim: RunningSim, anon_client: httpx.Client, client: httpx.Client, rpc: Rpc
) -> None:
    run_id = finished_run(sim, padding=100_000)
    url = redirect(rpc, client, run_id).headers["location"]
    full = anon_client.get(url)
    size, etag = len(full.content), full.headers["etag"]
    assert size > 100_000
    part = anon_client.get(url, headers={"Range": "bytes=1000-", "If-Range": etag})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    assert part.content == full.content[1000:]
    middle = anon_client.get(url, headers={"Range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == full.content[10:20]
    by_date = anon_client.get(
        url, headers={"Range": "bytes=5-", "If-Range": full.headers["last-modified"]}
    )
    assert by_date.status_code == 206
    stale = anon_client.get(url, headers={"Range": "bytes=1000-", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == full.content
    beyond = anon_client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    suffix = anon_client.get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == full.content[-10:]


def test_download_refusals(
    sim: RunningSim, anon_client: httpx.Client, client: httpx.Client, rpc: Rpc
) -> None:
    sim.engine.add_task("demo", "my-task")
    running = sim.engine.add_run("demo", "my-task", "gpt-5", queue_seconds=0)
    not_done = redirect(rpc, client, running)
    assert not_done.status_code == 400 and "only COMPLETED or ERRORED" in not_done.json()["message"]
    assert redirect(rpc, client, 12345).status_code == 404
    assert anon_client.get("/api/v1/downloads/forged.zip").status_code == 404
