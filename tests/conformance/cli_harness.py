"""The conformance harness: run the real kaggle CLI 2.2.4 against a simulator and read back.

- `KaggleProcess`: `kaggle_cli_at.py` (API reference §1.1a) in a subprocess with a private
  HOME, a minimal environment (no proxy variables, no KAGGLE_* of the caller) and a hard
  deadline; its output is read live, so a test can wait for a line (`wait_for`), move the
  simulator's clock, then collect the result (`finish`).
- `rpc(api, Method, body)` and friends: independent reads of the simulator's state over
  plain httpx (neither the CLI nor our client), to check what a command really changed.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kbench_tui.sim.runner import RunningSim

CLI_SCRIPT = Path(__file__).with_name("kaggle_cli_at.py")
TOKEN = "demo-token"
USER = "demo"
BUILD_SECONDS = 10.0
QUEUE_SECONDS = 5.0
RUN_SECONDS = 60.0
DEFAULT_TIMEOUT = 30.0
WEB = "https://www.kaggle.com"

TASKS = "benchmarks.BenchmarkTasksApiService"
BENCHMARKS = "benchmarks.BenchmarksApiService"
OAUTH = "security.OAuthService"
PROXY = "models.ModelProxyApiService"
SERVICE_OF = {
    "ListBenchmarkModels": BENCHMARKS,
    "GetBenchmarkLeaderboard": BENCHMARKS,
    "IntrospectToken": OAUTH,
    "CreateDefaultModelProxyToken": PROXY,
}

TASK_FILE = """\
import kaggle_benchmarks as kbench


@kbench.task(name="What is Kaggle?")
def what_is_kaggle(llm):
    response = llm.prompt("What is Kaggle?")
    kbench.assertions.assert_true("kaggle" in response.lower(), expectation="mentions Kaggle")


what_is_kaggle.run(llm=kbench.llm)
"""
TASK_SLUG = "what-is-kaggle"

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class CliResult:
    """What one kaggle CLI invocation did."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"kaggle {' '.join(self.args)} -> exit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def cli_env(
    sim: RunningSim, home: Path, token: str | None = TOKEN, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """A minimal environment for the CLI: nothing of the caller's proxies or Kaggle setup."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KBENCH_TEST_ENDPOINT": sim.url,
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
    }
    if token is not None:
        env["KAGGLE_API_TOKEN"] = token
    env.update(extra or {})
    assert not [name for name in env if name.lower() in _PROXY_VARIABLES]
    return env


class KaggleProcess:
    """A kaggle CLI subprocess whose output is read live by two threads."""

    def __init__(
        self,
        sim: RunningSim,
        args: tuple[str, ...],
        *,
        cwd: Path,
        home: Path,
        stdin: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = TOKEN,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        self.deadline = time.monotonic() + timeout
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        self._closed = 0  # output streams at EOF
        home.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, str(CLI_SCRIPT), *args],
            cwd=cwd,
            env=cli_env(sim, home, token, env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        if stdin is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(stdin.encode("utf-8"))
            self.proc.stdin.close()
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream, sink: list[str]) -> None:
        # Raw reads: whatever the CLI wrote so far, even a prompt without a newline.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            data = os.read(stream.fileno(), 65536)
            text = decoder.decode(data, final=not data)
            with self._changed:
                if text:
                    sink.append(text)
                if not data:
                    self._closed += 1
                self._changed.notify_all()
            if not data:
                stream.close()
                return

    @property
    def stdout(self) -> str:
        with self._changed:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self._err)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_for(
        self, text: str, *, count: int = 1, after: str | None = None, stream: str = "stdout"
    ) -> None:
        """Block until `text` was printed `count` times (after the first `after`, if given).

        Fails the test if the CLI exits first or the deadline passes.
        """
        sink = self._out if stream == "stdout" else self._err

        def seen() -> int:
            output = "".join(sink)
            if after is not None:
                start = output.find(after)
                output = output[start + len(after) :] if start >= 0 else ""
            return output.count(text)

        failure = ""
        with self._changed:
            while seen() < count:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    failure = "timed out"
                    break
                if self._closed == 2:
                    failure = "the CLI exited"
                    break
                self._changed.wait(min(remaining, 0.05))
        if failure:
            self.kill()
            result = CliResult(self.args, self.proc.returncode, self.stdout, self.stderr)
            where = f" after {after!r}" if after is not None else ""
            pytest.fail(f"{failure} before printing {text!r} (x{count}){where}:\n{result}")

    def finish(self, timeout: float | None = None) -> CliResult:
        """Wait for the process to exit (kill it at the deadline) and return its result."""
        limit = self.deadline - time.monotonic() if timeout is None else timeout
        try:
            self.proc.wait(timeout=max(limit, 0.1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            for reader in self._readers:
                reader.join(2)
            pytest.fail(
                f"kaggle {' '.join(self.args)} did not finish in time; killed.\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
            )
        for reader in self._readers:
            reader.join(5)
        return CliResult(self.args, self.proc.returncode, self.stdout, self.stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def rpc(api: httpx.Client, method: str, body: dict | None = None) -> dict:
    """Call one RPC; fail the test unless it answers 200 JSON."""
    response = api.post(f"/api/v1/{SERVICE_OF.get(method, TASKS)}/{method}", json=body or {})
    assert response.status_code == 200, f"{method}: {response.status_code} {response.text}"
    return response.json()


def get_task(api: httpx.Client, slug: str = TASK_SLUG) -> dict:
    return rpc(api, "GetBenchmarkTask", {"slug": {"taskSlug": slug}})


def all_runs(api: httpx.Client, slug: str = TASK_SLUG) -> list[dict]:
    runs: list[dict] = []
    token = ""
    while True:
        page = rpc(
            api, "ListBenchmarkTaskRuns", {"taskSlug": {"taskSlug": slug}, "pageToken": token}
        )
        runs.extend(page["runs"])
        token = page.get("nextPageToken", "")
        if not token:
            return runs


def all_tasks(api: httpx.Client, **filters: str) -> list[dict]:
    tasks: list[dict] = []
    token = ""
    while True:
        page = rpc(api, "ListBenchmarkTasks", {**filters, "pageToken": token})
        tasks.extend(page["tasks"])
        token = page.get("nextPageToken", "")
        if not token:
            return tasks


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]
