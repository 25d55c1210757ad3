"""Command-line options of `kbench-tui sim` (kept free of heavy imports)."""

from __future__ import annotations

import argparse


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to bind; 0 picks any free port (default: 8765)"
    )
    parser.add_argument(
        "--db",
        default=":memory:",
        metavar=":memory:|FILE",
        help="SQLite database; a FILE keeps state across restarts (default: :memory:)",
    )
    parser.add_argument(
        "--seed",
        choices=("demo", "empty", "large"),
        default="demo",
        help="initial data: demo (a dozen tasks in every state), empty, or large (1,000 tasks)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="clock speed relative to real time; 0 freezes the clock (default: 1.0)",
    )
    parser.add_argument(
        "--rng-seed",
        type=int,
        default=0,
        help="seed that makes outcomes and faults reproducible (default: 0)",
    )
    parser.add_argument(
        "--build-seconds",
        type=float,
        default=10.0,
        help="time to build a pushed task version (default: 10)",
    )
    parser.add_argument(
        "--queue-seconds",
        type=float,
        default=5.0,
        help="time a scheduled run stays QUEUED (default: 5)",
    )
    parser.add_argument(
        "--run-seconds", type=float, default=60.0, help="time a run stays RUNNING (default: 60)"
    )
    parser.add_argument(
        "--score-seconds",
        type=float,
        default=0.0,
        help="time a run that will complete waits in SCORE_PENDING for its score (default: 0)",
    )
    parser.add_argument(
        "--run-error-rate",
        type=float,
        default=0.1,
        help="fraction of runs that end ERRORED (default: 0.1)",
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:TOKEN",
        help="a user and its access token (repeatable); given users replace demo:demo-token",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=(
            "inject a fault (repeatable), e.g. status=503,rate=0.25; "
            "status=429,rate=0.15,retry-after=1; latency=30ms; sse-drop-after=20,rate=1; "
            "download-cut=0.5,rate=0.5; download-speed=4MB; malformed-json,rate=0.05; "
            "add rpc=Method to target one RPC"
        ),
    )
