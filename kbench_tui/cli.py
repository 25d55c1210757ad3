"""The `kbench-tui` command: one entry, three modes.

- `kbench-tui [--demo | --endpoint URL]` opens the dashboard (Textual).
- `kbench-tui export ...` is the headless one-shot export (never imports Textual).
- `kbench-tui sim ...` runs the Kaggle Benchmarks simulator standalone.

Heavy modules are imported only by the mode that needs them, so `--help`, `--version`
and the export path start fast.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

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
            "A keyboard-driven terminal dashboard for Kaggle Benchmarks: push a task file, pick\n"
            "models, watch every run and its live log, download and compare results, publish.\n"
            "With no command it opens the dashboard against the endpoint in your kaggle\n"
            "configuration, with the kaggle CLI's credentials ($KAGGLE_API_TOKEN,\n"
            "~/.kaggle/access_token, $KAGGLE_USERNAME/$KAGGLE_KEY or kaggle.json)."
        ),
        epilog=(
            "Examples:\n"
            "  kbench-tui --demo                      dashboard against the bundled simulator\n"
            "  kbench-tui                             dashboard against Kaggle (your kaggle credentials)\n"
            "  kbench-tui export --format junit -o runs.xml\n"
            "  kbench-tui sim --port 8765 --seed demo\n"
            "\n"
            "Dashboard keys (? in the dashboard lists them all; ctrl+p finds every action):\n"
            "  tab panes · j/k move · enter select · / filter tasks or search the log · n/N matches\n"
            "  G follow the log · w wrap · t timestamps · s save the log · l all runs in one log\n"
            "  p push · r run models · R re-run errored · d download · v results · P publish\n"
            "  a model-proxy credentials into .env · b leaderboard · ctrl+r refresh · q quit\n"
            "\n"
            'Configuration: ~/.config/kbench-tui/config.toml (bell, [keymap] binding-id = "key").\n'
            "Proxies: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY, as the kaggle CLI reads them.\n"
            "Exit codes of the dashboard: 0 quit; 3 credentials missing or rejected.\n"
            "Each command has its own help: kbench-tui export --help, kbench-tui sim --help.\n"
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
            "Export the benchmark state (tasks, runs, optionally results and logs) in one\n"
            "command, with no terminal. stdout carries only the document; progress goes to\n"
            "stderr when it is a terminal. With -o the file is written atomically."
        ),
        epilog=(
            "Exit codes:\n"
            "  0  exported\n"
            "  1  a run is ERRORED and --fail-on-error was given (the document is still written)\n"
            "  2  usage: bad argument, bad regex or state, unknown task, unwritable output\n"
            "  3  credentials missing or rejected\n"
            "  4  service unreachable or failing after retries\n"
            "\n"
            "Examples:\n"
            "  kbench-tui export --format junit -o benchmark-runs.xml --fail-on-error\n"
            "  kbench-tui export math-qa -m gemini-2.5-flash --with-results\n"
            "  kbench-tui export --demo --format markdown\n"
            "\n"
            "The JSON schema (version 1) is described in the README.\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_export_arguments(export)

    sim = sub.add_parser(
        "sim",
        help="run the Kaggle Benchmarks simulator (a real HTTP server) standalone",
        description=(
            "Run the Kaggle Benchmarks API simulator. It prints 'kbench-sim listening on\n"
            "http://HOST:PORT' once it accepts connections. Default user 'demo' with token\n"
            "'demo-token' (Bearer, or Basic demo:demo-token); --user replaces it."
        ),
        epilog=(
            "Examples:\n"
            "  kbench-tui sim                                    demo data on port 8765\n"
            "  kbench-tui sim --port 0 --seed large --speed 10   1,000 tasks, time 10x faster\n"
            "  kbench-tui sim --fault status=503,rate=0.25 --fault latency=30ms\n"
            "  kbench-tui --endpoint http://127.0.0.1:8765       the dashboard against it\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_sim_arguments(sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command `argv` names (default: the process's arguments); the exit code."""
    return _run(build_parser().parse_args(argv))


def entry() -> NoReturn:
    """The `kbench-tui` console command and `python -m kbench_tui`: run, then end the process.

    A one-shot export ends its process as soon as it returns, and its whole heap (asyncio,
    ssl, the HTTP stack, the decoded answers) is then walked again and again by the
    interpreter's final garbage collections: exporting one task took 0.27 s with them and
    0.20 s without (medians of 25 on the development machine). Everything the export wrote
    is closed, flushed and renamed into place before `run_export` returns, so the heap is
    frozen instead (`gc.freeze`): the exit still frees it, without the collections. The
    dashboard and the simulator end as before; tests call `main`, which never freezes.
    """
    args = build_parser().parse_args()
    code = _run(args)
    if args.command == "export":
        gc.freeze()
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
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
    entry()
