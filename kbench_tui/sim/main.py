"""`kbench-tui sim`: run the simulator in the foreground until Ctrl-C.

Exit codes: 0 after Ctrl-C or SIGTERM; 1 when the address cannot be bound (e.g. port in
use); 2 for a bad option value (`--user`, `--fault`, ...). Failures are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from types import FrameType

from kbench_tui.sim.runner import SimConfig, SimConfigError, start_sim

EXIT_OK = 0
EXIT_BIND = 1
EXIT_USAGE = 2


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_sim(args: argparse.Namespace) -> int:
    """Serve until interrupted; prints `kbench-sim listening on http://HOST:PORT` first."""
    try:
        config = SimConfig.from_args(args)
    except SimConfigError as error:
        print(f"kbench-tui sim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sim = start_sim(config)
    except SimConfigError as error:
        print(f"kbench-tui sim: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        reason = error.strerror or str(error)
        print(
            f"kbench-tui sim: error: cannot listen on {config.host}:{config.port}: {reason}",
            file=sys.stderr,
        )
        return EXIT_BIND
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"kbench-sim listening on {sim.url}", flush=True)
    try:
        # Ctrl-C (or SIGTERM, turned into one above) is the normal way to stop: it falls
        # through to the clean shutdown.
        with contextlib.suppress(KeyboardInterrupt):
            while not sim.wait(timeout=0.5):
                continue
    finally:
        sim.stop()
    return EXIT_OK
