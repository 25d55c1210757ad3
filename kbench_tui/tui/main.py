"""`kbench-tui [--demo | --endpoint URL]`: resolve the target, run the dashboard, clean up."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from kbench_tui.config import (
    ConfigError,
    Credentials,
    ProxySettings,
    load_credentials,
    load_dotenv_settings,
    resolve_endpoint,
)
from kbench_tui.tui.settings import DashboardSettings, load_settings

# Same meaning as in the headless export (documented in the README).
EXIT_CREDENTIALS = 3
DEMO_TOKEN = "demo-token"


def run_dashboard(args: argparse.Namespace) -> int:
    """Open the dashboard against `--demo`, `--endpoint` or the configured endpoint."""
    # Importing Textual and httpx creates tens of thousands of long-lived objects (and
    # pydantic, imported after the first frame, as many again: see `KbenchApp.warm_client`),
    # and the collector walks all of them in a full collection (~20 ms, once during
    # start-up, and again whenever one is due while the dashboard runs) to find nothing:
    # they live as long as the process. No collection while importing; `_run_app` then freezes what
    # the imports made (left out of every later collection) and turns the collector on.
    gc.disable()
    try:
        return _run_dashboard(args)
    finally:
        gc.enable()


def _run_dashboard(args: argparse.Namespace) -> int:
    settings = load_settings()
    if getattr(args, "demo", False):
        return _run_demo(settings)
    try:
        endpoint = resolve_endpoint(getattr(args, "endpoint", None))
        credentials = load_credentials()
    except ConfigError as error:
        print(f"kbench-tui: {error}", file=sys.stderr)
        return EXIT_CREDENTIALS
    proxy = load_dotenv_settings(Path.cwd())
    settings.warnings.extend(proxy.warnings)
    if credentials is not None:
        settings.warnings.extend(credentials.warnings)
    problem = None if credentials is not None else "No Kaggle credentials were found."
    return _run_app(endpoint, credentials, proxy, settings, problem)


def _run_demo(settings: DashboardSettings) -> int:
    from kbench_tui.sim.runner import SimConfig, start_sim

    sim = start_sim(SimConfig(seed="demo", port=0, speed=1.0))
    try:
        credentials = Credentials.token(DEMO_TOKEN, source="--demo")
        # The simulator's clock is the source of every time it reports; showing the same
        # clock keeps elapsed times consistent with the server's.
        return _run_app(sim.url, credentials, ProxySettings(), settings, None, now=sim.clock.now)
    finally:
        sim.stop()


def _run_app(
    endpoint: str,
    credentials: Credentials | None,
    proxy: ProxySettings,
    settings: DashboardSettings,
    problem: str | None,
    now: Callable[[], datetime] | None = None,
) -> int:
    # The poller reads through a `TaskReader` (plain records, no pydantic): the models and
    # the full client are only imported after the first frame (see tui/app.py).
    from kbench_tui.api.reader import TaskReader
    from kbench_tui.tui.app import KbenchApp, utc_now

    def make_connection() -> TaskReader:
        assert credentials is not None
        return TaskReader(endpoint, credentials)

    app = KbenchApp(
        make_connection,
        endpoint=endpoint,
        token=credentials.secret if credentials and credentials.kind == "token" else None,
        user_hint=credentials.username if credentials else None,
        proxy=proxy,
        credentials_problem=problem,
        settings=settings,
        now=now or utc_now,
    )
    gc.freeze()
    gc.enable()
    result = app.run()
    if problem is not None or app.credentials_rejected:
        return EXIT_CREDENTIALS
    return result or 0
