"""Bad input: one clear line that says what to do, the documented exit code, nothing written.

One row per case. CLI rows run `kbench-tui` in-process (fast), and the rows marked
`subprocess` run it as a real process, to prove that no traceback ever reaches stderr.
Library rows (task files, `.env`) check the message the dashboard shows inline.
Every row also checks that the files it could have touched are exactly as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from reliability_support import assert_clear_error, run_cli, snapshot_files

from kbench_tui.config import load_dotenv_settings
from kbench_tui.sim.runner import RunningSim
from kbench_tui.taskfile import MAX_TASK_FILE_BYTES, TaskFileError, validate_push
from kbench_tui.tui.widgets.status_bar import proxy_note

# Nothing here may reach a real service: the default endpoint is a closed loopback port.
CLOSED_PORT = "http://127.0.0.1:9"
GOOD_TASK = (
    "# %%\nimport kaggle_benchmarks as kbench\n\n"
    '@kbench.task(name="My Task")\ndef my_task(llm):\n    pass\n\n# %%\nmy_task.run(kbench.llm)\n'
)


@dataclass
class Context:
    """What a row may use: a scratch folder, the environment and, on demand, a simulator."""

    root: Path
    home: Path
    work: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    request: pytest.FixtureRequest

    def sim_url(self) -> str:
        sim: RunningSim = self.request.getfixturevalue("demo_sim")
        return sim.url

    def write(self, relative: str, content: bytes | str, mode: int | None = None) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        if mode is not None:
            path.chmod(mode)
        return path


@dataclass(frozen=True)
class Outcome:
    """The exit code (None for library calls) and the text the user reads."""

    code: int | None
    message: str
    stdout: str = ""


Action = Callable[[], Outcome]


@dataclass(frozen=True)
class Case:
    """One bad input: `prepare` sets the scene and returns the action to run."""

    id: str
    prepare: Callable[[Context], Action]
    code: int | None
    says: tuple[str, ...]
    warning_only: bool = False  # the command still works; the message is a warning
    marks: tuple = field(default=())


# --- actions -----------------------------------------------------------------------------


def _cli(ctx: Context, argv: list[str], *, real_process: bool = False) -> Action:
    def action() -> Outcome:
        if real_process:
            done = subprocess.run(
                [sys.executable, "-m", "kbench_tui", *argv],
                capture_output=True,
                text=True,
                env=dict(os.environ),
                cwd=ctx.work,
                timeout=60,
            )
            return Outcome(done.returncode, done.stderr, done.stdout)
        result = run_cli(ctx.capsys, argv)
        return Outcome(result.code, result.err, result.out)

    return action


def cli(*argv: str, real_process: bool = False) -> Callable[[Context], Action]:
    """Run `kbench-tui ARGV`; `{sim}` in an argument becomes the demo simulator's URL."""

    def prepare(ctx: Context) -> Action:
        args = [ctx.sim_url() if a == "{sim}" else a.replace("{root}", str(ctx.root)) for a in argv]
        return _cli(ctx, args, real_process=real_process)

    return prepare


def sim_cli(*argv: str, real_process: bool = False) -> Callable[[Context], Action]:
    """`kbench-tui sim ARGV`: these must fail before serving (serving would be a bug)."""

    def prepare(ctx: Context) -> Action:
        def refuse_to_serve(self: RunningSim, timeout: float | None = None) -> bool:
            self.stop()
            raise AssertionError("the simulator started serving a bad configuration")

        ctx.monkeypatch.setattr(RunningSim, "wait", refuse_to_serve)
        return _cli(ctx, ["sim", *argv], real_process=real_process)

    return prepare


def with_files(
    files: dict[str, bytes | str | tuple[bytes | str, int]],
    env: dict[str, str | None] | None = None,
    then: Callable[[Context], Action] | None = None,
) -> Callable[[Context], Action]:
    """Write `files` (relative to the scratch root; `(content, mode)` sets a mode), set
    `env` (None unsets), then run `then` (default: an export from the demo simulator)."""
    follow = then or cli("export", "--endpoint", "{sim}")

    def prepare(ctx: Context) -> Action:
        for relative, content in files.items():
            data, mode = content if isinstance(content, tuple) else (content, None)
            ctx.write(relative, data, mode)
        for name, value in (env or {}).items():
            if value is None:
                ctx.monkeypatch.delenv(name, raising=False)
            else:
                ctx.monkeypatch.setenv(name, value.replace("{root}", str(ctx.root)))
        return follow(ctx)

    return prepare


def task_file(
    content: bytes | str | None, *, name: str = "task.py", task: str = "My Task"
) -> Callable[[Context], Action]:
    """`validate_push(task, file)` — what the push dialog runs before any request."""

    def prepare(ctx: Context) -> Action:
        path = ctx.work / name
        if content is not None:
            ctx.write(f"work/{name}", content)

        def action() -> Outcome:
            with pytest.raises(TaskFileError) as caught:
                validate_push(task, path)
            return Outcome(None, str(caught.value))

        return action

    return prepare


def task_directory(ctx: Context) -> Action:
    (ctx.work / "folder.py").mkdir()
    return task_file(None, name="folder.py")(ctx)


def task_fifo(ctx: Context) -> Action:
    os.mkfifo(ctx.work / "pipe.py")
    return task_file(None, name="pipe.py")(ctx)


def task_unreadable(ctx: Context) -> Action:
    path = ctx.write("work/secret.py", GOOD_TASK, mode=0o000)
    if os.geteuid() == 0:
        # root reads a chmod 000 file anyway: make the open fail the way it does for users.
        real_open = open

        def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        ctx.monkeypatch.setattr("kbench_tui.taskfile.open", guarded_open, raising=False)
    return task_file(None, name="secret.py")(ctx)


def dotenv(content: bytes | str, *, hours_from_now: float | None = None) -> Callable:
    """A `.env` in the working directory; the message is what the dashboard shows."""

    def prepare(ctx: Context) -> Action:
        now = datetime.now(timezone.utc)
        text = content
        if hours_from_now is not None and isinstance(text, str):
            expiry = (now + timedelta(hours=hours_from_now)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            text = text.replace("{expiry}", expiry)
        ctx.write("work/.env", text)

        def action() -> Outcome:
            settings = load_dotenv_settings(ctx.work)
            lines = list(settings.warnings)
            note = proxy_note(settings, now)
            if note is not None and note[1] == "error":
                lines.append(note[0])
            assert len(lines) == 1, lines
            return Outcome(None, lines[0])

        return action

    return prepare


# --- the table ---------------------------------------------------------------------------

KAGGLE_JSON = "home/.kaggle/kaggle.json"
ACCESS_TOKEN = "home/.kaggle/access_token"

CASES = [
    # Task files (the push dialog and any push run this check before a request).
    Case("task-binary-png", task_file(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), None, ("binary", "UTF-8")),
    Case("task-utf16", task_file(GOOD_TASK.encode("utf-16")), None, ("binary", "Save it as UTF-8")),
    Case("task-not-utf8", task_file("# caf\xe9\n".encode("latin-1")), None, ("not valid UTF-8", "line 1")),
    Case("task-huge", task_file(b"#" * (MAX_TASK_FILE_BYTES + 1)), None, ("too large", "dataset")),
    Case("task-no-task", task_file("# %%\nprint('hello')\n"), None, ("No @task decorators found",)),
    Case("task-syntax-error", task_file("@kbench.task(\ndef broken(:\n"), None, ("does not parse", "line")),
    Case("task-name-mismatch", task_file(GOOD_TASK, task="Other Task"), None, ("not found", "Available tasks: my-task")),
    Case("task-directory", task_directory, None, ("is a directory",)),
    Case("task-missing", task_file(None, name="nowhere.py"), None, ("does not exist",)),
    Case("task-unreadable", task_unreadable, None, ("permission denied",)),
    Case("task-not-python", task_file(GOOD_TASK, name="task.txt"), None, ("must be a Python (.py) file",)),
    Case("task-byte-order-mark", task_file("\ufeff" + GOOD_TASK), None, ("byte-order mark",)),
    Case("task-fifo", task_fifo, None, ("not a regular file",)),
    Case("task-owner-prefix", task_file(GOOD_TASK, task="alice/my-task"), None, ("use 'my-task'",)),
    # Arguments of the top-level command.
    Case("top-unknown-flag", cli("--frobnicate", real_process=True), 2, ("unrecognized arguments: --frobnicate",)),
    Case("top-unknown-command", cli("frobnicate"), 2, ("invalid choice: 'frobnicate'",)),
    Case("top-demo-and-endpoint", cli("--demo", "--endpoint", CLOSED_PORT), 2, ("not allowed with",)),
    # Arguments of `kbench-tui export`.
    Case("export-unknown-flag", cli("export", "--frobnicate"), 2, ("unrecognized arguments",)),
    Case("export-bad-regex", cli("export", "--regex", "(", real_process=True), 2, ("not a valid regex",)),
    Case("export-bad-status", cli("export", "--status", "done"), 2, ("not a state", "completed")),
    Case("export-bad-format", cli("export", "--format", "xml"), 2, ("invalid choice: 'xml'",)),
    Case("export-model-garbage", cli("export", "-m", "@@@", real_process=True), 2, ("not a model slug", "gemini")),
    Case("export-model-with-spaces", cli("export", "-m", "gpt 4!!"), 2, ("not a model slug",)),
    Case("export-model-empty", cli("export", "-m", "google/"), 2, ("names no model",)),
    Case("export-output-unwritable", cli("export", "-o", "/proc/kbench-export.json"), 2, ("not writable", "another -o")),
    Case("export-output-missing-dir", cli("export", "-o", "{root}/missing/x.json"), 2, ("does not exist",)),
    Case("export-output-is-a-dir", cli("export", "-o", "{root}/work"), 2, ("is a directory", "file name")),
    Case("export-download-is-a-file", with_files({"work/file": "x"}, then=cli("export", "--download", "{root}/work/file")), 2, ("not a directory",)),
    Case("export-bad-task-name", cli("export", "/x"), 2, ("Invalid task format", "'owner/task-name'")),
    Case("export-unknown-task", with_files({}, env={"KAGGLE_API_TOKEN": "demo-token"}, then=cli("export", "--endpoint", "{sim}", "no-such-task")), 2, ("not found", "Verify the name")),
    Case("export-endpoint-not-http", cli("export", "--endpoint", "ftp://example"), 2, ("http:// or https://",)),
    Case("export-endpoint-bad-port", cli("export", "--endpoint", "http://127.0.0.1:99999"), 2, ("invalid port",)),
    Case("export-demo-and-endpoint", cli("export", "--demo", "--endpoint", CLOSED_PORT), 2, ("not allowed with",)),
    # Arguments of `kbench-tui sim`.
    Case("sim-negative-speed", sim_cli("--port", "0", "--speed", "-1"), 2, ("--speed", ">= 0")),
    Case("sim-nan-speed", sim_cli("--port", "0", "--speed", "nan"), 2, ("--speed", "finite")),
    Case("sim-negative-build-seconds", sim_cli("--port", "0", "--build-seconds", "-1"), 2, ("--build-seconds",)),
    Case("sim-infinite-queue-seconds", sim_cli("--port", "0", "--queue-seconds", "inf"), 2, ("--queue-seconds", "finite")),
    Case("sim-negative-run-seconds", sim_cli("--port", "0", "--run-seconds", "-5"), 2, ("--run-seconds",)),
    Case("sim-port-too-big", sim_cli("--port", "70000", real_process=True), 2, ("--port", "0..65535")),
    Case("sim-port-negative", sim_cli("--port", "-1"), 2, ("--port", "0..65535")),
    Case("sim-port-not-a-number", sim_cli("--port", "http"), 2, ("invalid int value",)),
    Case("sim-error-rate-above-1", sim_cli("--port", "0", "--run-error-rate", "2"), 2, ("between 0 and 1",)),
    Case("sim-bad-seed", sim_cli("--seed", "huge"), 2, ("invalid choice: 'huge'",)),
    Case("sim-fault-unknown-key", sim_cli("--port", "0", "--fault", "explode=1"), 2, ("unknown key 'explode'",)),
    Case("sim-fault-status-200", sim_cli("--port", "0", "--fault", "status=200"), 2, ("400..599",)),
    Case("sim-fault-bad-latency", sim_cli("--port", "0", "--fault", "latency=fast"), 2, ("30ms",)),
    Case("sim-fault-rate-above-1", sim_cli("--port", "0", "--fault", "status=503,rate=2"), 2, ("rate must be between 0 and 1",)),
    Case("sim-bad-user", sim_cli("--port", "0", "--user", "nocolon"), 2, ("NAME:TOKEN",)),
    Case("sim-db-in-missing-dir", sim_cli("--port", "0", "--db", "/nonexistent/dir/sim.db"), 2, ("cannot open --db",)),
    # Configuration and credentials (exit 3 = credentials, 2 = other configuration).
    Case("creds-kaggle-json-malformed", with_files({KAGGLE_JSON: ('{"username": "demo", key', 0o600)}, then=cli("export", "--endpoint", "{sim}", real_process=True)), 3, ("not valid JSON (line 1)", '"username"')),
    Case("creds-kaggle-json-a-list", with_files({KAGGLE_JSON: ('["demo", "demo-token"]', 0o600)}), 3, ("must hold a JSON object",)),
    Case("creds-kaggle-json-not-utf8", with_files({KAGGLE_JSON: (b'{"username": "d\xe9mo"}', 0o600)}), 3, ("not valid JSON text",)),
    Case("creds-kaggle-json-no-key", with_files({KAGGLE_JSON: ('{"username": "demo"}', 0o600)}), 3, ("key is missing", "KAGGLE_KEY")),
    Case("creds-empty-token-file", with_files({ACCESS_TOKEN: ("\n", 0o600)}), 3, ("is empty", "paste your API token")),
    Case("creds-binary-token-file", with_files({ACCESS_TOKEN: (b"\xff\xfe\x00", 0o600)}), 3, ("not a text file",)),
    Case("creds-token-path-is-a-dir", with_files({"work/tokens/x": "x"}, env={"KAGGLE_API_TOKEN": "{root}/work/tokens"}), 3, ("directory", "must be a file")),
    Case("creds-none-at-all", cli("export", "--endpoint", "{sim}"), 3, ("no Kaggle credentials found",)),
    Case("creds-token-rejected", with_files({}, env={"KAGGLE_API_TOKEN": "stale-token"}), 3, ("HTTP 401", "credentials rejected")),
    Case("creds-kaggle-json-world-readable", with_files({KAGGLE_JSON: ('{"username": "demo", "key": "demo-token"}', 0o644)}), 0, ("readable by other users", "chmod 600"), warning_only=True),
    Case("config-unknown-environment", with_files({}, env={"KAGGLE_API_TOKEN": "demo-token", "KAGGLE_API_ENVIRONMENT": "MARS", "KBENCH_ENDPOINT": None}, then=cli("export")), 2, ("unrecognized KAGGLE_API_ENVIRONMENT", "PROD")),
    Case("config-endpoint-variable-garbage", with_files({}, env={"KAGGLE_API_TOKEN": "demo-token", "KBENCH_ENDPOINT": "localhost:8765"}, then=cli("export")), 2, ("KBENCH_ENDPOINT must be an http://",)),
    Case("dotenv-proxy-key-expired", dotenv("MODEL_PROXY_API_KEY=expired-proxy-key\nMODEL_PROXY_EXPIRY_TIME={expiry}\n", hours_from_now=-2), None, ("proxy key expired", "kaggle b auth -y"), warning_only=True),
    Case("dotenv-expiry-malformed", dotenv("MODEL_PROXY_API_KEY=some-proxy-key\nMODEL_PROXY_EXPIRY_TIME=next tuesday\n"), None, ("is not a date", "kaggle b auth -y"), warning_only=True),
    Case("dotenv-not-utf8", dotenv(b"MODEL_PROXY_API_KEY=\xff\xfe\n"), None, ("cannot read", "not UTF-8"), warning_only=True),
]  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input_gives_one_clear_line_and_writes_nothing(
    case: Case,
    tmp_path: Path,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("KBENCH_ENDPOINT", CLOSED_PORT)
    ctx = Context(tmp_path, isolated_home, tmp_path / "work", monkeypatch, capsys, request)
    action = case.prepare(ctx)
    before = snapshot_files(tmp_path)
    outcome = action()

    assert outcome.code == case.code, outcome.message
    if case.code is not None:
        line = assert_clear_error(outcome.message)
    else:
        line = outcome.message
        assert "\n" not in line and "Traceback" not in line, line
    for words in case.says:
        assert words in line, f"{line!r} should mention {words!r}"
    if case.code not in (None, 0):
        assert outcome.stdout == "", "a failed command prints no document"
    if not case.warning_only:
        # Nothing created, changed or half-written (the cache aside, which is ours).
        after = {k: v for k, v in snapshot_files(tmp_path).items() if not k.startswith("cache")}
        assert after == before


def test_the_table_is_large_enough() -> None:
    """The issue asks for at least 40 bad-input cases; ids must be unique to read reports."""
    ids = [case.id for case in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


def test_world_readable_kaggle_json_still_exports(
    tmp_path, isolated_home, capsys, demo_sim
) -> None:
    """The permission warning is a warning: the export still succeeds, stdout stays JSON."""
    path = isolated_home / ".kaggle" / "kaggle.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"username": "demo", "key": "demo-token"}))
    path.chmod(0o644)
    result = run_cli(capsys, ["export", "--endpoint", demo_sim.url])
    assert result.code == 0 and json.loads(result.out)["tasks"]
    assert result.err.startswith("kbench-tui export: warning: ") and result.err.count("\n") == 1
    assert "demo-token" not in result.err
