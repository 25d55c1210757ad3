"""The CLI against a misbehaving simulator: it retries 429s and resumes cut downloads."""

from __future__ import annotations

import io
import re
import zipfile

import httpx
import pytest
from cli_harness import (
    BUILD_SECONDS,
    QUEUE_SECONDS,
    RUN_SECONDS,
    TASK_SLUG,
    TASKS,
    all_runs,
    get_task,
    lines,
)

from kbench_tui.sim.downloads import make_token
from kbench_tui.sim.faults import DOWNLOAD, FaultSet, parse_faults

pytestmark = pytest.mark.conformance

# IntrospectToken is left alone: the CLI calls it outside its retry wrapper, at import.
RATE_LIMITED = (
    "CreateBenchmarkTask",
    "GetBenchmarkTask",
    "BatchScheduleBenchmarkTaskRuns",
    "ListBenchmarkTaskRuns",
    "ListBenchmarkTasks",
)


def test_push_and_run_succeed_through_rate_limiting_without_duplicates(
    conf_sim, start_kaggle, run_kaggle, workdir, api
) -> None:
    conf_sim.set_faults([f"status=429,rate=0.5,retry-after=0,rpc={rpc}" for rpc in RATE_LIMITED])

    push = start_kaggle(
        conf_sim, *f"b t push {TASK_SLUG} -f task.py --wait --poll-interval 1".split(), cwd=workdir
    )
    push.wait_for("   Task status: QUEUED...")
    conf_sim.clock.advance(BUILD_SECONDS)
    pushed = push.finish()
    run = start_kaggle(
        conf_sim,
        *f"b t run {TASK_SLUG} -m gemini-2.5-flash -m gpt-5 --wait --poll-interval 1".split(),
        cwd=workdir,
    )
    run.wait_for("run(s) still in progress...")
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    ran = run.finish()
    listed = run_kaggle(conf_sim, "b", "t", "list", "--all", cwd=workdir)
    conf_sim.set_faults([])

    assert pushed.returncode == 0, pushed
    assert "Completed" in lines(pushed.stdout)
    assert ran.returncode == 0, ran
    assert "All runs completed:" in lines(ran.stdout)
    assert listed.returncode == 0, listed
    # stderr holds nothing but the CLI's retry notices, each honouring Retry-After: 0.
    notices = [line for r in (pushed, ran, listed) for line in r.stderr.splitlines() if line]
    assert notices
    for notice in notices:
        assert re.fullmatch(
            r"Request failed: Injected fault: HTTP 429 \(status=429,.*\)\.+ "
            r"Will retry in 0\.0 seconds",
            notice,
        ), notice
    # Rejected calls changed nothing: one version, one run per model.
    assert get_task(api)["slug"]["versionNumber"] == 1
    assert sorted(r["modelVersionSlug"] for r in all_runs(api)) == ["gemini-2.5-flash", "gpt-5"]


def output_zip_bytes(api: httpx.Client, run_id: int) -> bytes:
    response = api.post(
        f"/api/v1/{TASKS}/DownloadBenchmarkTaskRunOutput",
        json={"runId": run_id},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.content


def first_cut_only(run_id: int, rate_choices=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> str:
    """A download-cut spec that cuts the run's first download and spares the second."""
    archive = f"{make_token(run_id, include_source=False)}.zip".encode()
    for rate in rate_choices:
        spec = f"download-cut=0.5,rate={rate}"
        probe = FaultSet(parse_faults([spec], rng_seed=0))
        first, second = (probe.plan(DOWNLOAD, probe.name(DOWNLOAD, archive)) for _ in range(2))
        if first.download_cut is not None and second.download_cut is None:
            return spec
    raise AssertionError("no rate gives cut-then-whole with rng seed 0")


def test_download_cut_midway_resumes_with_a_range_request_and_matches(
    conf_sim, run_kaggle, workdir, api
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    run_id = conf_sim.engine.add_run(
        "demo", TASK_SLUG, "gpt-5", outcome="COMPLETED", output_padding=3 * 1024 * 1024
    )
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    expected = output_zip_bytes(api, run_id)
    spec = first_cut_only(run_id)
    conf_sim.set_faults([spec])
    gets_before = conf_sim.state.requests[DOWNLOAD]

    result = run_kaggle(conf_sim, *f"b t download {TASK_SLUG} -o out".split(), cwd=workdir)

    # Exactly two GETs of the archive: the cut one, then the CLI's resuming one.
    assert conf_sim.state.requests[DOWNLOAD] == gets_before + 2
    conf_sim.set_faults([])

    assert result.returncode == 0, result
    assert lines(result.stdout)[-1] == "Done: 1 run(s) downloaded."
    run_dir = workdir / "out" / TASK_SLUG / "1" / "gpt-5" / str(run_id)
    archive = zipfile.ZipFile(io.BytesIO(expected))
    for name in archive.namelist():
        assert (run_dir / name).read_bytes() == archive.read(name), name
