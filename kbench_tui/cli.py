"""The `kbench-tui` command: one entry, three modes.

- `kbench-tui [--demo | --endpoint URL]` opens the dashboard (Textual).
- `kbench-tui export ...` is the headless one-shot export (never imports Textual).
- `kbench-tui sim ...` runs the Kaggle Benchmarks simulator standalone.

Heavy modules are imported only by the mode that needs them, so `--help`, `--version`
and the export path start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kbench_tui import __version__

# Exit codes shared by every mode (documented in the README).
EXIT_OK = 0
EXIT_RUN_ERRORED = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3
EXIT_UNREACHABLE = 4


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line plus a hint, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    from kbench_tui.export_options import add_export_arguments
    from kbench_tui.sim.options import add_sim_arguments

    parser = _Parser(
        prog="kbench-tui",
        description=(
            "A keyboard-driven terminal dashboard for Kaggle Benchmarks. With no command it "
            "opens the dashboard against the endpoint in your kaggle configuration."
        ),
        epilog=(
            "Examples:\n"
            "  kbench-tui --demo                      dashboard against the bundled simulator\n"
            "  kbench-tui                             dashboard against Kaggle (your kaggle credentials)\n"
            "  kbench-tui export --format junit -o runs.xml\n"
            "  kbench-tui sim --port 8765 --seed demo\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kbench-tui {__version__}")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--demo",
        action="store_true",
        help="start the bundled simulator on a free loopback port and open the dashboard against it",
    )
    target.add_argument(
        "--endpoint",
        metavar="URL",
        help="Kaggle API endpoint (default: $KBENCH_ENDPOINT, $KAGGLE_API_ENVIRONMENT, else production)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    export = sub.add_parser(
        "export",
        help="headless one-shot export of tasks and runs as JSON, CSV, Markdown or JUnit XML",
        description=(
            "Export the benchmark state (tasks, runs, optionally results and logs) in one command, "
            "with no terminal. Exit codes: 0 ok; 1 a run ERRORED (with --fail-on-error); 2 usage; "
            "3 credentials rejected; 4 service unreachable after retries."
        ),
    )
    add_export_arguments(export)

    sim = sub.add_parser(
        "sim",
        help="run the Kaggle Benchmarks simulator (a real HTTP server) standalone",
        description=(
            "Run the Kaggle Benchmarks API simulator. It prints 'kbench-sim listening on "
            "http://HOST:PORT' once it accepts connections. Default user 'demo', token 'demo-token'."
        ),
    )
    add_sim_arguments(sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "sim":
            from kbench_tui.sim.main import run_sim

            return run_sim(args)
        if args.command == "export":
            from kbench_tui.export import run_export

            return run_export(args)
        from kbench_tui.tui.main import run_dashboard

        return run_dashboard(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
