"""`PushDialog`: choose a task file and task, see its lint, pick datasets, then push.

The dialog only reads the local task file (the taskfile/lint services) and asks an
injected `lookup_previous(slug)` for the task's latest version, to pre-fill the datasets
and warn when one would be dropped. It dismisses with a `PushRequest`; the push itself
(network, waiting for the build) runs in the dashboard's worker with `PushStatusScreen`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, DirectoryTree, Input, OptionList, Static
from textual.widgets.option_list import Option

from kbench_tui.api.errors import ApiError
from kbench_tui.slugs import slugify
from kbench_tui.taskfile import PushPlan, TaskFileError, read_task_file, task_names, validate_push
from kbench_tui.tasklint import Finding, lint
from kbench_tui.tui.cli_equivalent import push_command
from kbench_tui.tui.screens.dialog import CliLine, DialogScreen

if TYPE_CHECKING:
    from kbench_tui.api.models import ApiBenchmarkTask

__all__ = ["PushDialog", "PushRequest", "TaskFileTree", "dataset_problem", "task_file_entries"]

LookupPrevious = Callable[[str], Awaitable["ApiBenchmarkTask | None"]]
_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "venv", ".venv"})
_SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@dataclass(frozen=True)
class PushRequest:
    """A locally validated push: the plan (file, task, slug) and the datasets to attach."""

    plan: PushPlan
    datasets: list[str] = field(default_factory=list)


def dataset_problem(value: str) -> str | None:
    """Why `value` is not an attachable dataset reference, or None when it is fine."""
    if "/versions/" in value:
        return "Pinning a dataset version (owner/ds/versions/N) is not supported yet."
    if not _DATASET.match(value):
        return f"'{value}' is not a dataset: use owner/dataset-slug."
    return None


def task_file_entries(paths: Iterable[Path]) -> list[Path]:
    """Folders (not hidden, not caches or venvs) first, then `.py` files, each by name."""
    return sorted(
        (
            path
            for path in paths
            if not path.name.startswith(".")
            and (
                (path.is_dir() and path.name not in _SKIPPED_DIRS)
                or (path.is_file() and path.suffix == ".py")
            )
        ),
        key=lambda path: (not path.is_dir(), path.name.lower()),
    )


class TaskFileTree(DirectoryTree):
    """A directory browser showing only `.py` files and the folders that may hold them."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return task_file_entries(paths)


class PushDialog(DialogScreen[PushRequest | None]):
    """The push form; Push is enabled once the file, task and lint are all acceptable."""

    DEFAULT_CSS = """
    PushDialog .dialog {
        width: 110;
    }
    PushDialog #push-browser {
        height: 8;
        border: round $primary 50%;
    }
    PushDialog #push-tasks {
        height: auto;
        max-height: 5;
        border: round $primary 50%;
    }
    PushDialog #push-lint {
        height: auto;
        max-height: 8;
    }
    PushDialog #push-datasets {
        height: auto;
        max-height: 5;
        border: round $primary 50%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "push", "Push", id="push-submit"),
    ]

    def __init__(
        self,
        lookup_previous: LookupPrevious,
        *,
        root: Path | str = ".",
        initial_file: str = "",
    ) -> None:
        super().__init__()
        self.lookup_previous = lookup_previous
        self.root = Path(root)
        self.initial_file = initial_file
        self.names: list[str] = []
        self.findings: list[Finding] = []
        self.file_error: str | None = None
        self.datasets: list[str] = []
        self.previous_datasets: list[str] = []
        self._looked_up: str | None = None

    def compose(self) -> ComposeResult:
        # Scrolls on short terminals: the form is taller than most dialogs.
        with VerticalScroll(classes="dialog", id="push-dialog"):
            yield Static("Push a task file", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Static("Task file", classes="field-label")
                yield Input(self.initial_file, placeholder="path/to/task.py", id="push-file")
            yield TaskFileTree(self.root, id="push-browser")
            yield Static("", id="push-file-error", classes="dialog-error")
            yield Static("Task in the file (↑/↓):", classes="dialog-hint")
            tasks = OptionList(id="push-tasks")
            yield tasks
            yield Static("", id="push-lint")
            yield Checkbox("I have read the errors above; push anyway", False, id="push-ack")
            with Horizontal(classes="field"):
                yield Static("Add dataset", classes="field-label")
                yield Input(placeholder="owner/dataset-slug, enter adds", id="push-dataset-input")
            yield Static("", id="push-dataset-error", classes="dialog-error")
            yield OptionList(id="push-datasets")
            yield Static("", id="push-dataset-warning", classes="dialog-warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="push-cancel")
                yield Button("Push (ctrl+s)", id="push-accept", variant="primary")
            yield CliLine(id="push-cli")

    def on_mount(self) -> None:
        self.query_one("#push-ack", Checkbox).display = False
        self.query_one("#push-datasets", OptionList).display = False
        self.query_one("#push-file", Input).focus()
        if self.initial_file:
            self._inspect(self.initial_file)
        self._update()
        super().on_mount()

    # -- state ----------------------------------------------------------------------------

    @property
    def file_path(self) -> str:
        return self.query_one("#push-file", Input).value.strip()

    @property
    def task_name(self) -> str | None:
        option = self.query_one("#push-tasks", OptionList).highlighted_option
        return option.id if option is not None else None

    @property
    def lint_errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == "error"]

    def can_push(self) -> bool:
        """File readable, a task chosen, and lint errors (if any) acknowledged."""
        if self.file_error is not None or not self.names or self.task_name is None:
            return False
        return not self.lint_errors or self.query_one("#push-ack", Checkbox).value

    def cli_command(self) -> str:
        if not self.file_path:
            return ""
        name = self.task_name
        return push_command(slugify(name) if name else "TASK", self.file_path, self.datasets)

    def _inspect(self, path_text: str) -> None:
        """Read the file's task names and lint findings (a local read of a small file)."""
        self.names, self.findings, self.file_error = [], [], None
        path = Path(path_text).expanduser()
        if not path_text:
            self.file_error = None
        elif path.is_dir():
            self.file_error = f"'{path_text}' is a directory, not a task file."
        elif path.suffix != ".py":
            self.file_error = f"File '{path_text}' must be a Python (.py) file."
        elif not path.is_file():
            self.file_error = f"File '{path_text}' does not exist."
        else:
            try:
                source = read_task_file(path)
            except TaskFileError as error:
                self.file_error = str(error)
            else:
                self.names = task_names(source)
                self.findings = lint(source)
                if not self.names:
                    self.file_error = f"No @task decorators found in '{path_text}'."
        tasks = self.query_one("#push-tasks", OptionList)
        tasks.set_options(Option(f"{name}  →  {slugify(name)}", id=name) for name in self.names)
        if self.names:
            tasks.highlighted = 0
        ack = self.query_one("#push-ack", Checkbox)
        ack.value = False
        ack.display = bool(self.lint_errors)
        self._render_findings()

    def _render_findings(self) -> None:
        text = Text()
        if self.findings:
            text.append(f"Lint: {len(self.findings)} finding(s)\n", style="bold")
        # Errors first: they are what the acknowledgement is about, and the box is short.
        rank = {"error": 0, "warning": 1, "info": 2}
        for finding in sorted(self.findings, key=lambda f: (rank.get(f.severity, 3), f.line)):
            style = _SEVERITY_STYLES.get(finding.severity, "")
            text.append(f"  {finding.severity.upper():<7} ", style=style)
            text.append(f"line {finding.line} {finding.code}: {finding.message}\n")
            text.append(f"          fix: {finding.hint}\n", style="dim")
        if self.names and not self.findings:
            text.append("Lint: no findings.", style="green")
        self.query_one("#push-lint", Static).update(text)

    def _update(self) -> None:
        """Refresh the error line, the dataset views, the Push button and the CLI line."""
        self.query_one("#push-file-error", Static).update(self.file_error or "")
        datasets = self.query_one("#push-datasets", OptionList)
        datasets.set_options(Option(f"{d}   (del removes)", id=d) for d in self.datasets)
        datasets.display = bool(self.datasets)
        dropped = [d for d in self.previous_datasets if d not in self.datasets]
        warning = ""
        if dropped:
            warning = (
                "⚠ The previous version had these datasets; pushing without them detaches "
                f"them: {', '.join(dropped)}"
            )
        self.query_one("#push-dataset-warning", Static).update(warning)
        self.query_one("#push-accept", Button).disabled = not self.can_push()
        self.refresh_cli()
        name = self.task_name
        if name is not None and slugify(name) != self._looked_up:
            self._looked_up = slugify(name)
            self.fetch_previous(self._looked_up)

    @work(exclusive=True, group="push-lookup")
    async def fetch_previous(self, slug: str) -> None:
        """Pre-fill the datasets from the task's latest version (none for a new task)."""
        try:
            previous = await self.lookup_previous(slug)
        except ApiError as error:
            self.query_one("#push-dataset-warning", Static).update(
                f"Could not look up the previous version of '{slug}': {error}"
            )
            return
        sources = (
            list(previous.options.dataset_data_sources) if previous and previous.options else []
        )
        self.previous_datasets = sources
        self.datasets = list(sources)
        self._update()

    # -- events ---------------------------------------------------------------------------

    @on(Input.Changed, "#push-file")
    def _file_changed(self, event: Input.Changed) -> None:
        self._inspect(event.value.strip())
        self._update()

    @on(Input.Submitted, "#push-file")
    def _file_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.can_push():
            self.action_push()
        else:
            self.query_one("#push-tasks", OptionList).focus()

    @on(DirectoryTree.FileSelected, "#push-browser")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#push-file", Input).value = str(event.path)

    @on(OptionList.OptionHighlighted, "#push-tasks")
    def _task_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._update()

    @on(Checkbox.Changed, "#push-ack")
    def _ack_changed(self, event: Checkbox.Changed) -> None:
        self._update()

    @on(Input.Submitted, "#push-dataset-input")
    def _dataset_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        error = self.query_one("#push-dataset-error", Static)
        problem = dataset_problem(value) if value else "Type owner/dataset-slug first."
        if problem is None and value in self.datasets:
            problem = f"'{value}' is already attached."
        error.update(problem or "")
        if problem is None:
            self.datasets.append(value)
            event.input.value = ""
            self._update()

    def on_key(self, event: events.Key) -> None:
        # delete/backspace on the dataset list removes the highlighted dataset.
        datasets = self.query_one("#push-datasets", OptionList)
        if event.key in ("delete", "backspace") and datasets.has_focus:
            option = datasets.highlighted_option
            if option is not None and option.id in self.datasets:
                self.datasets.remove(option.id)
                self._update()
                event.stop()

    @on(Button.Pressed, "#push-accept")
    def _accept_pressed(self, event: Button.Pressed) -> None:
        self.action_push()

    @on(Button.Pressed, "#push-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        self.action_cancel()

    def action_push(self) -> None:
        """Validate like the CLI and dismiss with the request, or say inline what is wrong."""
        if not self.can_push():
            reason = self.file_error or "Choose a task file with at least one @task."
            if self.lint_errors and self.file_error is None and self.names:
                reason = "Lint found errors: tick the box to push anyway."
            self.query_one("#push-file-error", Static).update(reason)
            return
        assert self.task_name is not None
        try:
            # The slug, not the display name: the CLI would warn that a name was normalised.
            plan = validate_push(slugify(self.task_name), self.file_path)
        except TaskFileError as error:
            self.query_one("#push-file-error", Static).update(str(error))
            return
        self.dismiss(PushRequest(plan, list(self.datasets)))
