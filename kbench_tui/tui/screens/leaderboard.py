"""`LeaderboardDialog` asks for `owner/benchmark`; `LeaderboardScreen` shows models × tasks.

Cells follow `kaggle b leaderboard -s` (§10.10): the numeric value (with its ± confidence
interval when there is one), else Pass/Fail, else N/A. Columns are the task slugs sorted,
labelled with the task names; rows keep the server's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Static

from kbench_tui.tui.cli_equivalent import leaderboard_command
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkLeaderboard, BenchmarkResult

__all__ = ["BenchmarkRef", "LeaderboardDialog", "LeaderboardScreen", "cell_text", "parse_benchmark"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class BenchmarkRef:
    """`owner/benchmark` as typed, validated."""

    owner: str
    benchmark: str

    def __str__(self) -> str:
        return f"{self.owner}/{self.benchmark}"


def parse_benchmark(text: str, default_owner: str | None) -> BenchmarkRef:
    """`owner/slug` or `slug` (then the signed-in user owns it); ValueError says what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("Type a benchmark as owner/benchmark-slug.")
    owner, _, slug = text.rpartition("/")
    owner = owner or (default_owner or "")
    if not owner:
        raise ValueError("No owner given and the signed-in user is unknown: use owner/benchmark.")
    if "/" in owner or not _SLUG.match(slug) or not _SLUG.match(owner.lower()):
        raise ValueError(f"'{text}' is not owner/benchmark-slug (lower-case letters, digits, -).")
    return BenchmarkRef(owner, slug)


def cell_text(result: BenchmarkResult | None) -> Text:
    """One leaderboard cell: value ± CI, else Pass/Fail, else N/A (dim)."""
    if result is None:
        return Text("N/A", style="dim")
    numeric = result.numeric_result
    if numeric is not None:
        text = f"{numeric.value:.4g}"
        uneven = numeric.uneven_confidence_interval
        if uneven is not None:
            text += f" +{uneven.plus:.2g}/−{uneven.minus:.2g}"
        elif numeric.confidence_interval:
            text += f" ± {numeric.confidence_interval:.2g}"
        return Text(text)
    if result.boolean_result is not None:
        return Text("Pass", "green") if result.boolean_result else Text("Fail", "red")
    return Text("N/A", style="dim")


class LeaderboardDialog(DialogScreen[BenchmarkRef | None]):
    """Ask for the benchmark; validation errors are shown under the field."""

    DEFAULT_CSS = """
    LeaderboardDialog .dialog {
        width: 80;
    }
    """

    def __init__(self, default_owner: str | None) -> None:
        super().__init__()
        self.default_owner = default_owner

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="leaderboard-dialog"):
            yield Static("Benchmark leaderboard", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Static("Benchmark", classes="field-label")
                yield Input(
                    f"{self.default_owner}/" if self.default_owner else "",
                    placeholder="owner/benchmark-slug",
                    id="leaderboard-benchmark",
                )
            yield Static("", id="leaderboard-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="leaderboard-cancel")
                yield Button("Show (enter)", id="leaderboard-accept", variant="primary")
            yield CliLine(id="leaderboard-cli")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#leaderboard-benchmark", Input).focus()

    def cli_command(self) -> str:
        value = self.query_one("#leaderboard-benchmark", Input).value
        try:
            return leaderboard_command(str(parse_benchmark(value, self.default_owner)))
        except ValueError:
            return leaderboard_command(value.strip() or "OWNER/BENCHMARK")

    @on(Input.Changed, "#leaderboard-benchmark")
    def _changed(self) -> None:
        self.query_one("#leaderboard-error", Static).update("")
        self.refresh_cli()

    @on(Input.Submitted, "#leaderboard-benchmark")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_accept()

    @on(Button.Pressed, "#leaderboard-accept")
    def _accept_pressed(self) -> None:
        self.action_accept()

    @on(Button.Pressed, "#leaderboard-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_accept(self) -> None:
        """Dismiss with the benchmark, or say inline why the text is not one."""
        value = self.query_one("#leaderboard-benchmark", Input).value
        try:
            ref = parse_benchmark(value, self.default_owner)
        except ValueError as error:
            self.query_one("#leaderboard-error", Static).update(str(error))
            return
        self.dismiss(ref)


class LeaderboardScreen(DialogScreen[None]):
    """Models (rows) × tasks (columns) of one benchmark."""

    DEFAULT_CSS = """
    LeaderboardScreen .dialog {
        width: 116;
        height: auto;
        max-height: 90%;
    }
    LeaderboardScreen #leaderboard-table {
        height: auto;
        max-height: 24;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "cancel", "Close", show=False, id="leaderboard-close"),
    ]

    def __init__(self, ref: BenchmarkRef, board: ApiBenchmarkLeaderboard) -> None:
        super().__init__()
        self.ref = ref
        self.board = board

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="leaderboard-view"):
            yield Static(f"Leaderboard · {self.ref}", classes="dialog-title")
            if not self.board.rows:
                yield Static("No results found", id="leaderboard-empty")
            else:
                yield DataTable(id="leaderboard-table", cursor_type="row", zebra_stripes=True)
            yield Static("esc close", classes="dialog-hint")
            yield CliLine(id="leaderboard-view-cli")

    def cli_command(self) -> str:
        return leaderboard_command(str(self.ref))

    def on_mount(self) -> None:
        super().on_mount()
        if not self.board.rows:
            return
        names: dict[str, str] = {}
        for row in self.board.rows:
            for cell in row.task_results:
                names.setdefault(cell.benchmark_task_slug, cell.benchmark_task_name)
        slugs = sorted(names)
        table = self.query_one("#leaderboard-table", DataTable)
        table.add_column("Model", key="model")
        for slug in slugs:
            table.add_column(names[slug] or slug, key=slug)
        for row in self.board.rows:
            by_slug = {cell.benchmark_task_slug: cell.result for cell in row.task_results}
            table.add_row(
                Text(row.model_version_name or row.model_version_slug, style="bold"),
                *(cell_text(by_slug.get(slug)) for slug in slugs),
                key=row.model_version_slug,
            )
        table.focus()
