"""Helpers of the reliability suite: canary secrets, CLI runs in-process, tree hashes.

Imported by the tests of this folder (the name is unique so that pytest's rootdir-based
imports never confuse it with another folder's helpers).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from kbench_tui.cli import main
from kbench_tui.sim.clock import ManualClock
from kbench_tui.sim.runner import RunningSim, SimConfig, start_sim

# Secrets that must never show up anywhere a user or a log collector could read them.
CANARY = "kbench-canary-7f3a9c1d5e2b4a60"
PROXY_CANARY = "kbench-canary-proxy-93e1b7c4d2"
CANARY_USER = "canary"
SECRETS = (CANARY, PROXY_CANARY)

# The export's bound: `export.make_client` allows 10 attempts per request.
EXPORT_ATTEMPTS = 10


async def no_sleep(_seconds: float) -> None:
    """Retries keep their count and order but never wait for real time."""
    return None


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured streams of one `kbench-tui` run."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> CliResult:
    """`kbench-tui ARGV` in-process; argparse's SystemExit becomes an exit code."""
    try:
        code = main(list(argv))
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def assert_clear_error(err: str) -> str:
    """stderr is one line (plus, for argparse, its `Try '... --help'.` hint); no traceback."""
    assert "Traceback" not in err and 'File "' not in err, err
    lines = err.strip("\n").splitlines()
    assert lines and lines[0].strip(), f"no error message at all: {err!r}"
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Try '")), err
    return lines[0]


def export_document(result: CliResult) -> dict:
    assert result.code == 0, result.err
    return json.loads(result.out)


def comparable(document: dict) -> list[dict]:
    """The part of an export that must not depend on faults (no time stamp, no port)."""
    return document["tasks"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under `root`, by relative path."""
    return {
        str(path.relative_to(root)): sha256(path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def zip_member_hashes(data: bytes) -> dict[str, str]:
    """sha256 of every file member of a zip archive, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: sha256(archive.read(info))
            for info in archive.infolist()
            if not info.is_dir()
        }


def snapshot_files(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content, to prove that nothing was (half-)written."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@contextlib.contextmanager
def simulator(faults: Sequence[str] = (), **settings: object) -> Iterator[RunningSim]:
    """A simulator on a free loopback port with a hand-driven clock; stopped on exit."""
    config = SimConfig(faults=list(faults), **settings)  # type: ignore[arg-type]
    running = start_sim(config, clock=ManualClock())
    try:
        yield running
    finally:
        running.stop()


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into {where}"
