"""`ResultsScreen`: a task's downloaded results per model, a bar chart, failed assertions.

The rows come from `watch.results_scan` (read in a thread by the dashboard); this screen
only renders them. With nothing downloaded it says so and `d` dismisses with "download"
so the dashboard opens the download dialog.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from kbench_tui.tui.screens.dialog import DialogScreen
from kbench_tui.watch.results_scan import ResultRow, TaskResults

__all__ = ["ResultsAction", "ResultsScreen", "score_bars"]

ResultsAction = Literal["download"]
_EIGHTHS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 40


def _bar(fraction: float, width: int) -> str:
    """A horizontal bar `fraction` (0..1) of `width` cells, in eighth-cell steps."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def score_bars(rows: list[ResultRow], width: int = BAR_WIDTH) -> Table:
    """Scores across models as unicode bars (scale 0..1, or 0..max when a score exceeds 1)."""
    scored = [(row.model, row.result.score) for row in rows if row.result is not None]
    values = [score for _, score in scored if score is not None]
    top = max([1.0, *values])
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for model, score in scored:
        if score is None:
            table.add_row(model, Text("no numeric score", style="dim"), "")
            continue
        style = "green" if score >= 0.5 * top else "yellow" if score > 0 else "red"
        bar = Text(_bar(score / top, width).ljust(width), style=style)
        table.add_row(model, bar, f"{score:.3g}")
    return table


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class ResultsScreen(DialogScreen[ResultsAction | None]):
    """Per-model results of the selected task; esc closes, `d` downloads."""

    DEFAULT_CSS = """
    ResultsScreen .dialog {
        width: 116;
        height: 90%;
    }
    ResultsScreen #results-table {
        height: auto;
        max-height: 12;
    }
    ResultsScreen #results-body {
        height: 1fr;
    }
    ResultsScreen #results-chart, ResultsScreen #results-failures {
        height: auto;
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "download", "Download", id="results-download"),
        Binding("q", "cancel", "Close", show=False, id="results-close"),
    ]

    def __init__(self, results: TaskResults) -> None:
        super().__init__()
        self.results = results

    def compose(self) -> ComposeResult:
        results = self.results
        with Vertical(classes="dialog", id="results-dialog"):
            yield Static(f"Results · {results.task}", classes="dialog-title")
            yield Static(f"From {results.version_dir}/", classes="dialog-hint", id="results-dir")
            if results.note:
                yield Static(results.note, classes="dialog-warning")
            if results.empty:
                yield Static(
                    Text.assemble(
                        ("Nothing downloaded yet for this task.", "bold"),
                        "\nPress ",
                        ("d", "bold reverse"),
                        " to download the finished runs' outputs, esc to close.",
                    ),
                    id="results-empty",
                )
                return
            yield DataTable(id="results-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="results-body"):
                yield Static(Text("Scores", style="bold"), id="results-chart-title")
                yield Static(score_bars(results.rows), id="results-chart")
                yield Static(self._failures(), id="results-failures")
            yield Static("esc close · d download again", classes="dialog-hint")

    def on_mount(self) -> None:
        super().on_mount()
        if self.results.empty:
            return
        table = self.query_one("#results-table", DataTable)
        table.add_column("Model", key="model")
        table.add_column("Passed", key="passed")
        table.add_column("Result", key="result")
        table.add_column("Assertions", key="assertions")
        table.add_column("Duration", key="duration")
        table.add_column("Run", key="run")
        for row in self.results.rows:
            table.add_row(*self._cells(row), key=f"{row.model}/{row.run_id}")
        table.focus()

    @staticmethod
    def _cells(row: ResultRow) -> tuple[Text | str, ...]:
        result = row.result
        if result is None:
            return (
                row.model,
                Text("?", style="yellow"),
                Text(row.problem or "", style="red"),
                "—",
                "—",
                str(row.run_id),
            )
        passed = Text("✓ yes", style="bold green") if result.passed else Text("✗ no", "bold red")
        assertions = (
            f"{result.assertions_passed}/{result.assertions_total}"
            if result.assertions_total
            else "—"
        )
        value = result.display_value()
        if result.state == "ERRORED":
            value = f"{value} (ERRORED)"
        return (
            row.model,
            passed,
            value,
            assertions,
            _duration(result.duration_seconds),
            str(row.run_id),
        )

    def _failures(self) -> Text:
        text = Text()
        failed = [
            (row.model, assertion)
            for row in self.results.rows
            if row.result is not None
            for assertion in row.result.failed_assertions
        ]
        if not failed:
            return Text("No failed assertions.", style="green")
        text.append("Failed assertions\n", style="bold")
        for model, assertion in failed:
            text.append(f"  {model}", style="bold")
            line = f" (line {assertion.line})" if assertion.line else ""
            text.append(f" [{assertion.status}]{line}: ", style="red")
            text.append(f"{assertion.expectation or '(no expectation text)'}\n")
        return text

    def action_download(self) -> None:
        """Close and open the download dialog for this task."""
        self.dismiss("download")
