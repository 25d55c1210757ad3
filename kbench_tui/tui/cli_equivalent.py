"""The `kaggle b …` command line that does what a dialog is about to do.

Each dialog shows it under "Show CLI equivalent" and copies it to the clipboard, so users
can script what they just did by hand. Pure functions, no Textual import: arguments are
quoted for a POSIX shell with `shlex.quote`, flags spelled as the kaggle CLI 2.2.4 spells
them (API reference §10).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "auth_command",
    "download_command",
    "leaderboard_command",
    "publish_command",
    "push_command",
    "run_command",
]


def _join(parts: Iterable[str]) -> str:
    return " ".join(shlex.quote(part) for part in parts)


def push_command(
    task: str, file: str | Path, datasets: Iterable[str] = (), wait: bool = True
) -> str:
    """`kaggle b t push TASK -f FILE [-d OWNER/DATASET]… [--wait]`."""
    parts = ["kaggle", "b", "t", "push", task, "-f", str(file)]
    for dataset in datasets:
        parts += ["-d", dataset]
    if wait:
        parts.append("--wait")
    return _join(parts)


def run_command(task: str, models: Iterable[str]) -> str:
    """`kaggle b t run TASK -m MODEL…` (one `-m` per model, as the CLI repeats it)."""
    parts = ["kaggle", "b", "t", "run", task]
    for model in models:
        parts += ["-m", model]
    return _join(parts)


def download_command(
    task: str,
    output: str | Path | None = None,
    include_source: bool = False,
    force: bool = False,
    models: Iterable[str] = (),
) -> str:
    """`kaggle b t download TASK [-m MODEL]… [-o DIR] [-s] [-f]` (`-o .` is left out)."""
    parts = ["kaggle", "b", "t", "download", task]
    for model in models:
        parts += ["-m", model]
    if output is not None and str(output) not in ("", "."):
        parts += ["-o", str(output)]
    if include_source:
        parts.append("-s")
    if force:
        parts.append("-f")
    return _join(parts)


def publish_command(task: str, publish_backing_notebook: bool = True) -> str:
    """`kaggle b t publish TASK [--no-publish-backing-notebook]`."""
    parts = ["kaggle", "b", "t", "publish", task]
    if not publish_backing_notebook:
        parts.append("--no-publish-backing-notebook")
    return _join(parts)


def auth_command(env_file: str | Path = ".env") -> str:
    """`kaggle b auth -y [--env-file FILE]` (the default `.env` is left out)."""
    parts = ["kaggle", "b", "auth", "-y"]
    if str(env_file) != ".env":
        parts += ["--env-file", str(env_file)]
    return _join(parts)


def leaderboard_command(benchmark: str, version: int | None = None) -> str:
    """`kaggle b leaderboard OWNER/SLUG -s [--version N]`."""
    parts = ["kaggle", "b", "leaderboard", benchmark, "-s"]
    if version is not None:
        parts += ["--version", str(version)]
    return _join(parts)
