"""`kbench-tui export` end to end against the simulator: formats, filters, flags, exit codes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from kbench_tui import export
from kbench_tui.cli import main
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import SimConfig, start_sim

RPC = "/api/v1/benchmarks.BenchmarkTasksApiService/"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real ~/.kaggle, no real cache; the demo user's token."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KBENCH_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their count and outcome but do not wait for real time."""
    real = export.make_client
    monkeypatch.setattr(
        export, "make_client", lambda endpoint, creds: real(endpoint, creds, sleep=_no_sleep)
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def export_json(capsys, url: str, *argv: str) -> dict:
    code, out, err = run(capsys, "--endpoint", url, *argv)
    assert code == 0, err
    return json.loads(out)


def subprocess_env(home: Path) -> dict[str, str]:
    """A clean environment for an export in a fresh interpreter: demo token, home here."""
    return {
        "HOME": str(home),
        "KAGGLE_API_TOKEN": "demo-token",
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(home / "cache"),
    }


def server_tasks(url: str) -> list[dict]:
    tasks, token = [], None
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer demo-token"}) as http:
        while True:
            body = {"pageToken": token} if token else {}
            page = http.post(RPC + "ListBenchmarkTasks", json=body).json()
            tasks += page.get("tasks", [])
            token = page.get("nextPageToken")
            if not token:
                return tasks


def test_json_export_holds_every_task_and_run_in_the_documented_schema(demo_sim, capsys) -> None:
    doc = export_json(capsys, demo_sim.url)
    assert doc["schemaVersion"] == 1 and doc["endpoint"] == demo_sim.url
    assert doc["generatedAt"].endswith("Z")
    assert [t["slug"] for t in doc["tasks"]] == [
        t["slug"]["taskSlug"] for t in server_tasks(demo_sim.url)
    ]
    task_keys = {
        "slug",
        "owner",
        "version",
        "state",
        "created",
        "url",
        "public",
        "datasets",
        "error",
        "runs",
    }
    run_keys = {"id", "model", "state", "started", "ended", "durationSeconds", "error", "url"}
    runs = [r for t in doc["tasks"] for r in t["runs"]]
    assert runs, "the demo data has runs"
    for task in doc["tasks"]:
        assert set(task) == task_keys
        assert task["state"].isupper() and "_STATE_" not in task["state"]
        assert task["url"].startswith("https://www.kaggle.com/benchmarks/tasks/demo/")
    for item in runs:
        assert set(item) == run_keys
        # The model column is the normalised slug exactly as the kaggle CLI prints it.
        assert "/" not in item["model"] and "@" not in item["model"]
        if item["ended"]:
            assert item["ended"].endswith("Z") and item["durationSeconds"] >= 0
    errored = [r for r in runs if r["state"] == "ERRORED"]
    assert errored and all(r["error"] for r in errored)


def test_filters_regex_status_named_tasks_and_models_in_any_slug_form(demo_sim, capsys) -> None:
    full = export_json(capsys, demo_sim.url)
    completed = export_json(capsys, demo_sim.url, "--status", "completed")
    assert completed["tasks"] and {t["state"] for t in completed["tasks"]} == {"COMPLETED"}
    some = full["tasks"][0]["slug"][:4]
    by_regex = export_json(capsys, demo_sim.url, "--regex", f"^{some}")
    assert [t["slug"] for t in by_regex["tasks"]] == [
        t["slug"] for t in full["tasks"] if t["slug"].startswith(some)
    ]
    with_runs = next(t for t in full["tasks"] if len({r["model"] for r in t["runs"]}) >= 2)
    model = with_runs["runs"][0]["model"]
    named = export_json(
        capsys, demo_sim.url, f"demo/{with_runs['slug']}", "-m", f"some-org/{model}"
    )
    assert [t["slug"] for t in named["tasks"]] == [with_runs["slug"]]
    assert named["tasks"][0]["runs"] and {r["model"] for r in named["tasks"][0]["runs"]} == {model}


def plain_export(cache_dir: Path) -> dict:
    """`build_document`'s options for an export without filters, results or logs."""
    return dict(
        pattern=None,
        status=None,
        models=[],
        with_results=False,
        with_logs=False,
        download_dir=None,
        cache_dir=cache_dir,
    )


async def test_a_named_task_and_its_runs_are_asked_for_together(demo_sim, tmp_path) -> None:
    """One round trip instead of two: a named task's runs are listed while the task is
    looked up, under the name given (as the kaggle CLI lists them)."""
    from kbench_tui.config import Credentials
    from kbench_tui.slugs import TaskRef

    listed: list[TaskRef] = []
    runs_asked = asyncio.Event()
    credentials = Credentials.token("demo-token", source="test")
    async with export.make_client(demo_sim.url, credentials) as client:
        real_get, real_list = client.get_task, client.list_all_runs

        async def get_task(ref, version=None):
            # Asked one after the other, the runs would only be listed after this returns.
            await asyncio.wait_for(runs_asked.wait(), timeout=10)
            return await real_get(ref, version)

        async def list_all_runs(ref, models=None):
            listed.append(ref)
            runs_asked.set()
            return await real_list(ref, models)

        client.get_task, client.list_all_runs = get_task, list_all_runs
        document = await export.build_document(
            client, demo_sim.url, tasks=[TaskRef("math-qa")], **plain_export(tmp_path)
        )
    assert listed == [TaskRef("math-qa")]
    assert [t["slug"] for t in document["tasks"]] == ["math-qa"]
    assert document["tasks"][0]["runs"]


async def test_with_a_filter_runs_are_listed_only_for_the_tasks_kept(demo_sim, tmp_path) -> None:
    """A filter may leave a named task out: its runs are not asked for (nor can their
    listing fail the export); and a runs listing that fails is that error, not 'not found'."""
    import re

    from kbench_tui.api.errors import NotFoundError
    from kbench_tui.config import Credentials
    from kbench_tui.slugs import TaskRef

    listed: list[str] = []
    credentials = Credentials.token("demo-token", source="test")
    async with export.make_client(demo_sim.url, credentials) as client:
        real_list = client.list_all_runs

        async def list_all_runs(ref, models=None):
            listed.append(ref.task)
            return await real_list(ref, models)

        client.list_all_runs = list_all_runs
        options = plain_export(tmp_path)
        named = [TaskRef("math-qa"), TaskRef("code-golf")]
        options["pattern"] = re.compile("^code")
        document = await export.build_document(client, demo_sim.url, tasks=named, **options)
        assert [t["slug"] for t in document["tasks"]] == ["code-golf"]
        assert listed == ["code-golf"]

        async def failing(ref, models=None):
            raise NotFoundError("runs are gone", status=404, rpc="ListBenchmarkTaskRuns")

        client.list_all_runs = failing
        with pytest.raises(NotFoundError, match="runs are gone"):
            await export.build_document(
                client, demo_sim.url, tasks=[TaskRef("math-qa")], **plain_export(tmp_path)
            )


def test_named_tasks_still_filter_by_status_and_regex(demo_sim, capsys) -> None:
    assert export_json(capsys, demo_sim.url, "math-qa", "--status", "errored")["tasks"] == []
    assert export_json(capsys, demo_sim.url, "math-qa", "--regex", "^code")["tasks"] == []
    kept = export_json(capsys, demo_sim.url, "math-qa", "code-golf", "--regex", "^code")
    assert [t["slug"] for t in kept["tasks"]] == ["code-golf"] and kept["tasks"][0]["runs"]


def test_with_results_and_download_keep_outputs_in_the_kaggle_layout(
    demo_sim, capsys, tmp_path
) -> None:
    out = tmp_path / "outputs"
    doc = export_json(capsys, demo_sim.url, "--with-results", "--download", str(out))
    terminal = [
        (t, r) for t in doc["tasks"] for r in t["runs"] if r["state"] in ("COMPLETED", "ERRORED")
    ]
    assert terminal
    for task, item in terminal:
        assert item["result"] is not None, item
        assert item["result"]["kind"] in ("boolean", "numeric", "dict", "none")
        run_dir = out / task["slug"] / str(task["version"]) / item["model"] / str(item["id"])
        assert any(run_dir.glob("*.run.json")), run_dir
    unfinished = [
        r for t in doc["tasks"] for r in t["runs"] if r["state"] not in ("COMPLETED", "ERRORED")
    ]
    assert all("result" not in r for r in unfinished)
    # A second export reuses the downloaded outputs and gives the same results.
    again = export_json(capsys, demo_sim.url, "--with-results", "--download", str(out))
    strip = lambda d: [t for t in d["tasks"]]  # noqa: E731
    assert strip(again) == strip(doc)


def test_with_logs_is_the_full_persisted_log(demo_sim, capsys) -> None:
    doc = export_json(capsys, demo_sim.url, "--with-logs")
    finished = next(r for t in doc["tasks"] for r in t["runs"] if r["state"] == "COMPLETED")
    with httpx.Client(
        base_url=demo_sim.url, headers={"Authorization": "Bearer demo-token"}
    ) as http:
        entries = http.post(RPC + "GetBenchmarkTaskRunLogs", json={"runId": finished["id"]}).json()
    assert finished["log"] == "".join(e["data"] for e in entries) and finished["log"]
    running = [r for t in doc["tasks"] for r in t["runs"] if r["state"] in ("QUEUED", "RUNNING")]
    assert all(r["log"] is None for r in running)


@pytest.mark.parametrize("fmt", ["csv", "markdown", "junit"])
def test_every_format_renders_the_same_runs(demo_sim, capsys, tmp_path, fmt) -> None:
    doc = export_json(capsys, demo_sim.url)
    target = tmp_path / f"export.{fmt}"
    code, out, _ = run(capsys, "--endpoint", demo_sim.url, "--format", fmt, "-o", str(target))
    assert code == 0 and out == ""  # -o writes the file, stdout stays clean
    text = target.read_text()
    run_ids = sorted(str(r["id"]) for t in doc["tasks"] for r in t["runs"])
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sorted(r["run_id"] for r in rows if r["run_id"]) == run_ids
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert root.attrib["tests"] == str(len(run_ids))
        errored = sum(1 for t in doc["tasks"] for r in t["runs"] if r["state"] == "ERRORED")
        assert int(root.attrib["failures"]) == errored
    else:
        assert text.count("\n## ") == len(doc["tasks"])
    assert not list(tmp_path.glob("*.part")), "no temporary file left behind"


def test_exports_under_injected_faults_equal_clean_ones(capsys, tmp_path) -> None:
    faults = [
        "status=503,rate=0.25",
        "status=429,rate=0.15,retry-after=0",
        "malformed-json,rate=0.05",
        "download-cut=0.5,rate=0.5",
    ]
    documents = []
    for index, fault_list in enumerate(([], faults)):
        config = SimConfig(seed="demo", rng_seed=7, faults=fault_list)
        with start_sim(config, clock=ManualClock()) as sim:
            out = tmp_path / f"out{index}"
            doc = export_json(
                capsys, sim.url, "--with-results", "--with-logs", "--download", str(out)
            )
            documents.append(doc["tasks"])
    assert documents[0] == documents[1]


def test_exit_codes_and_one_line_errors(demo_sim, capsys, monkeypatch, tmp_path) -> None:
    code, out, err = run(capsys, "--endpoint", demo_sim.url, "--fail-on-error")
    assert code == 1 and json.loads(out)["tasks"]
    for argv in (
        ["--regex", "("],
        ["--status", "done"],
        ["no-such-task"],
        ["/x"],
        ["-o", str(tmp_path / "missing" / "x.json")],
    ):
        code, out, err = run(capsys, "--endpoint", demo_sim.url, *argv)
        assert code == 2 and out == "", argv
        assert err.count("\n") == 1 and "Traceback" not in err
    monkeypatch.setenv("KAGGLE_API_TOKEN", "wrong-token")
    code, _, err = run(capsys, "--endpoint", demo_sim.url)
    assert code == 3 and "credentials" in err and "wrong-token" not in err
    monkeypatch.setenv("KAGGLE_API_TOKEN", "demo-token")
    code, _, err = run(capsys, "--endpoint", "http://127.0.0.1:9")
    assert code == 4 and "cannot connect" in err and err.count("\n") == 1
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    code, _, err = run(capsys, "--endpoint", demo_sim.url)
    assert code == 3 and "no Kaggle credentials" in err


def test_usage_errors_from_argparse_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "--no-such-flag"])
    assert exited.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_plain_export_never_imports_pydantic(demo_sim, tmp_path) -> None:
    """Its start-up is a product goal: pydantic and the ~60 models are half of a one-task
    export's time, and tasks and runs are decoded without them (api/records.py)."""
    probe = (
        "import sys\n"
        "from kbench_tui.cli import main\n"
        f"assert main(['export', '--endpoint', {demo_sim.url!r}]) == 0\n"
        f"assert main(['export', 'demo/math-qa', '--endpoint', {demo_sim.url!r}]) == 0\n"
        "print('LOADED', sorted(m for m in ('pydantic', 'kbench_tui.api.models') if m in sys.modules))\n"
    )
    env = subprocess_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("LOADED []")


def test_the_command_freezes_the_heap_after_an_export(demo_sim, tmp_path) -> None:
    """`kbench-tui` (cli.entry) spares a finished export the exit's garbage collections;
    the exit code and the document are the export's own."""
    probe = (
        "import gc, sys\n"
        "from kbench_tui.cli import entry\n"
        "sys.argv = ['kbench-tui', *sys.argv[1:]]\n"
        "try:\n"
        "    entry()\n"
        "except SystemExit as exited:\n"
        "    print('EXIT', exited.code, gc.get_freeze_count() > 0, file=sys.stderr)\n"
    )
    env = subprocess_env(tmp_path)
    for argv, expected in (
        (["export", "--endpoint", demo_sim.url, "math-qa"], "EXIT 0 True"),
        (["export", "--endpoint", demo_sim.url, "--fail-on-error"], "EXIT 1 True"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.stderr.strip() == expected, done.stderr
        assert json.loads(done.stdout)["tasks"]
    plain = subprocess.run(
        [sys.executable, "-m", "kbench_tui", "export", "--endpoint", demo_sim.url, "math-qa"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert plain.returncode == 0 and plain.stderr == ""
    assert [t["slug"] for t in json.loads(plain.stdout)["tasks"]] == ["math-qa"]


def test_the_export_path_never_imports_textual_or_jupytext(demo_sim, tmp_path) -> None:
    probe = (
        "import sys, runpy\n"
        "from kbench_tui.cli import main\n"
        f"code = main(['export', '--endpoint', {demo_sim.url!r}, '--with-results', '--with-logs'])\n"
        "assert code == 0, code\n"
        "leaked = [m for m in ('textual', 'jupytext') if m in sys.modules]\n"
        "print('LEAKED', leaked)\n"
    )
    env = subprocess_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("LEAKED []")


def test_progress_goes_to_a_terminal_stderr_only_and_stdout_stays_json(demo_sim, tmp_path) -> None:
    """With stderr on a terminal the export counts tasks there; piped, it says nothing."""
    import os
    import pty

    env = subprocess_env(tmp_path)
    command = [sys.executable, "-m", "kbench_tui", "export", "--endpoint", demo_sim.url]
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=terminal, env=env, timeout=60)
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    assert done.returncode == 0
    document = json.loads(done.stdout)  # nothing but the document on stdout
    count = len(document["tasks"])
    assert f"exporting… {count}/{count}".encode() in shown
    assert shown.endswith(b"\r\x1b[K"), "the progress line is cleared at the end"

    piped = subprocess.run(command, capture_output=True, env=env, timeout=60)
    assert piped.returncode == 0 and piped.stderr == b""
    assert [t["slug"] for t in json.loads(piped.stdout)["tasks"]] == [
        t["slug"] for t in document["tasks"]
    ]


def test_a_run_awaiting_its_score_is_exported_as_not_finished(capsys, tmp_path: Path) -> None:
    """SCORE_PENDING is not terminal (as in the kaggle CLI): no result, no log, no download,
    skipped in JUnit, and not a failure for --fail-on-error."""
    with start_sim(SimConfig(seed="empty", score_seconds=30), clock=ManualClock()) as sim:
        sim.engine.add_task("demo", "scored")
        sim.engine.add_run("demo", "scored", "gpt-5", outcome="COMPLETED", queue_seconds=0)
        sim.clock.advance(61)
        flags = ("--with-results", "--with-logs", "--download", str(tmp_path / "out"))
        document = export_json(capsys, sim.url, *flags, "--fail-on-error")
        code, junit, err = run(capsys, "--endpoint", sim.url, "--format", "junit", *flags)
    (run_doc,) = document["tasks"][0]["runs"]
    assert run_doc["state"] == "SCORE_PENDING" and run_doc["ended"] is not None
    assert run_doc.get("result") is None and run_doc["log"] is None
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))
    assert code == 0, err
    (case,) = ET.fromstring(junit).iter("testcase")
    assert case.find("skipped").get("message") == "run is SCORE_PENDING"
