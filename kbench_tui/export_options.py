"""Command-line options of `kbench-tui export` (kept free of heavy imports)."""

from __future__ import annotations

import argparse

FORMATS = ("json", "csv", "markdown", "junit")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "tasks",
        nargs="*",
        metavar="TASK",
        help="task slugs (task or owner/task); default: all tasks",
    )
    parser.add_argument(
        "--regex", metavar="R", help="only tasks whose slug contains a match of this regex"
    )
    parser.add_argument(
        "--status",
        metavar="S",
        help="only tasks in this creation state: queued, running, completed, errored",
    )
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        dest="models",
        metavar="MODEL",
        help="only runs of this model, in any slug form (repeatable)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="json", help="output format (default: json)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--with-results",
        action="store_true",
        help="download each finished run's output (cached) and include its parsed result",
    )
    parser.add_argument(
        "--with-logs", action="store_true", help="include each finished run's full log text"
    )
    parser.add_argument(
        "--download",
        metavar="DIR",
        help="keep downloaded outputs in DIR, in the kaggle CLI layout <task>/<version>/<model>/<run_id>/",
    )
    parser.add_argument(
        "--fail-on-error", action="store_true", help="exit 1 when any exported run ERRORED"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--endpoint",
        metavar="URL",
        help="Kaggle API endpoint (default: $KBENCH_ENDPOINT, $KAGGLE_API_ENVIRONMENT, else production)",
    )
    target.add_argument(
        "--demo", action="store_true", help="export from the bundled simulator's demo data"
    )
