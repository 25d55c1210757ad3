"""`kaggle b t download`: run outputs with source notebooks, then the cached second download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
from cli_harness import QUEUE_SECONDS, RUN_SECONDS, TASK_SLUG, TASKS, lines

pytestmark = pytest.mark.conformance

NOTEBOOKS = {"__notebook__.ipynb", "__notebook_source__.ipynb"}


def output_zip(api: httpx.Client, run_id: int, include_source: bool) -> zipfile.ZipFile:
    response = api.post(
        f"/api/v1/{TASKS}/DownloadBenchmarkTaskRunOutput",
        json={"runId": run_id, "includeSource": include_source},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content))


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in directory.rglob("*")
        if path.is_file()
    }


@pytest.fixture
def finished_run(conf_sim) -> int:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    run_id = conf_sim.engine.add_run("demo", TASK_SLUG, "gemini-2.5-flash", outcome="COMPLETED")
    conf_sim.engine.add_run("demo", TASK_SLUG, "gpt-5", queue_seconds=10 * RUN_SECONDS)
    conf_sim.clock.advance(QUEUE_SECONDS + RUN_SECONDS)
    return run_id


def test_download_with_source_unpacks_the_run_outputs_and_notebooks(
    conf_sim, run_kaggle, workdir, api, finished_run
) -> None:
    result = run_kaggle(conf_sim, "b", "t", "download", TASK_SLUG, "-s", "-o", "out", cwd=workdir)

    assert result.returncode == 0, result
    out = lines(result.stdout)
    assert out[0] == f"Downloading output runs for {TASK_SLUG}"
    assert out[1] == f"Target directory:  out/{TASK_SLUG}/"
    row = next(line for line in out if line.startswith("gemini-2.5-flash "))
    assert f"gemini-2.5-flash/{finished_run}/" in row
    assert row.endswith("Done")
    assert not any(line.startswith("gpt-5 ") for line in out)  # still queued: not downloadable
    assert out[-1] == "Done: 1 run(s) downloaded."

    run_dir = workdir / "out" / TASK_SLUG / "1" / "gemini-2.5-flash" / str(finished_run)
    unpacked = files_under(run_dir)
    archive = output_zip(api, finished_run, include_source=True)
    assert unpacked == {name: archive.read(name) for name in archive.namelist()}
    assert set(unpacked) >= NOTEBOOKS
    assert any(name.endswith(".run.json") for name in unpacked)
    leftovers = sorted(p.name for p in run_dir.parent.iterdir())
    assert leftovers == [str(finished_run)]  # no .zip nor staging directory left behind

    again = run_kaggle(conf_sim, "b", "t", "download", TASK_SLUG, "-s", "-o", "out", cwd=workdir)

    assert again.returncode == 0, again
    cached = lines(again.stdout)
    assert next(line for line in cached if line.startswith("gemini-2.5-flash ")).endswith("Cached")
    assert cached[-1] == "Done: 1 run(s) cached."
    assert "Tip:" not in again.stdout  # the cached copy has its notebooks
    assert files_under(run_dir) == unpacked


def test_cached_download_without_notebooks_tips_to_force_a_fetch(
    conf_sim, run_kaggle, workdir, api, finished_run
) -> None:
    first = run_kaggle(conf_sim, "b", "t", "download", TASK_SLUG, "-o", "out", cwd=workdir)
    assert first.returncode == 0, first
    run_dir = workdir / "out" / TASK_SLUG / "1" / "gemini-2.5-flash" / str(finished_run)
    archive = output_zip(api, finished_run, include_source=False)
    assert set(files_under(run_dir)) == set(archive.namelist())
    assert not NOTEBOOKS & set(archive.namelist())

    cached = run_kaggle(conf_sim, "b", "t", "download", TASK_SLUG, "-s", "-o", "out", cwd=workdir)

    assert cached.returncode == 0, cached
    out = lines(cached.stdout)
    assert next(line for line in out if line.startswith("gemini-2.5-flash ")).endswith("Cached")
    assert out[-3:] == [
        "Done: 1 run(s) cached.",
        "",
        "Tip: 1 cached run(s) lack source notebooks. Re-run with -f -s to fetch them.",
    ]

    forced = run_kaggle(
        conf_sim, "b", "t", "download", TASK_SLUG, "-s", "-f", "-o", "out", cwd=workdir
    )

    assert forced.returncode == 0, forced
    assert lines(forced.stdout)[-1] == "Done: 1 run(s) downloaded."
    assert set(files_under(run_dir)) >= NOTEBOOKS


def test_download_with_only_unfinished_runs_downloads_nothing(
    conf_sim, run_kaggle, workdir
) -> None:
    conf_sim.engine.add_task("demo", TASK_SLUG)
    conf_sim.engine.add_run("demo", TASK_SLUG, "gpt-5")

    result = run_kaggle(conf_sim, "b", "t", "download", TASK_SLUG, "-o", "out", cwd=workdir)

    assert result.returncode == 0, result
    assert lines(result.stdout) == [
        "No downloadable runs yet — 1 run(s) still in progress.",
        f"Use 'kaggle b t status {TASK_SLUG}' to check progress.",
        "",
        "Done: 0 runs downloaded.",
    ]
    assert not (workdir / "out").exists()
