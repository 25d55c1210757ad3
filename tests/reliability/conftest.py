"""Fixtures of the reliability suite: an isolated home, and exports that never sleep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_support import no_sleep

from kbench_tui import export

CREDENTIAL_VARIABLES = (
    "KAGGLE_API_TOKEN",
    "KAGGLE_USERNAME",
    "KAGGLE_KEY",
    "KAGGLE_CONFIG_DIR",
    "KAGGLE_API_ENVIRONMENT",
    "KBENCH_ENDPOINT",
    "XDG_CONFIG_HOME",
    "MODEL_PROXY_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real ~/.kaggle, cache, credentials or .env: a fresh HOME and working directory."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)
    return home


@pytest.fixture(autouse=True)
def exports_never_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kbench-tui export` keeps its retry bound and outcome but waits no real time."""
    real = export.make_client

    def make_client(endpoint: str, credentials: Any, **options: Any) -> Any:
        return real(endpoint, credentials, **{"sleep": no_sleep, **options})

    monkeypatch.setattr(export, "make_client", make_client)


@pytest.fixture
def serve_export_from(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Callable[[httpx.Request], httpx.Response]], None]:
    """Point `kbench-tui export` at an in-memory fake service (hostile answers)."""

    def install(handler: Callable[[httpx.Request], httpx.Response]) -> None:
        current = export.make_client  # already the no-sleep client

        def make_client(endpoint: str, credentials: Any, **options: Any) -> Any:
            return current(endpoint, credentials, transport=httpx.MockTransport(handler), **options)

        monkeypatch.setattr(export, "make_client", make_client)

    return install
