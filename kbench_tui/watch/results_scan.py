"""Find and parse the downloaded results of one task (no Textual; blocking disk reads).

Downloads follow the kaggle CLI layout `<output>/<task>/<version>/<model>/<run_id>/`. For
each model the newest run directory (highest run id) holding a run file gives the model's
row; its headline result comes from `results.headline_result`. Called from a thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kbench_tui.results import RunFileError, RunResult, headline_result

__all__ = ["ResultRow", "TaskResults", "scan_task_results"]


@dataclass(frozen=True)
class ResultRow:
    """One model's newest downloaded run: its result, or why it could not be read."""

    model: str
    run_id: int
    path: Path
    result: RunResult | None = None
    problem: str | None = None


@dataclass
class TaskResults:
    """Everything the results view shows for a task."""

    task: str
    version_dir: Path
    rows: list[ResultRow] = field(default_factory=list)
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.rows


def _run_dirs(model_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for child in model_dir.iterdir():
        if child.is_dir() and child.name.isdigit():
            found.append((int(child.name), child))
    return sorted(found, reverse=True)


def scan_task_results(output: Path, task: str, version: int | None) -> TaskResults:
    """Read the newest downloaded run of each model of `task` (version `version`).

    When nothing was downloaded for that version but an older version's outputs exist, the
    newest of those is shown with a note saying so.
    """
    task_dir = output / task
    version_dir = task_dir / (str(version) if version else "unset")
    note = None
    if not version_dir.is_dir() and task_dir.is_dir():
        versions = sorted(
            (int(p.name), p) for p in task_dir.iterdir() if p.is_dir() and p.name.isdigit()
        )
        if versions:
            older, version_dir = versions[-1]
            note = f"Nothing downloaded for version {version}; showing version {older}."
    results = TaskResults(task, version_dir, note=note)
    if not version_dir.is_dir():
        return results
    for model_dir in sorted(p for p in version_dir.iterdir() if p.is_dir()):
        for run_id, run_dir in _run_dirs(model_dir):
            try:
                result = headline_result(run_dir)
            except RunFileError as error:
                results.rows.append(ResultRow(model_dir.name, run_id, run_dir, problem=str(error)))
                break
            if result is None:
                continue  # an output without run file (an ERRORED build): try an older run
            results.rows.append(ResultRow(model_dir.name, run_id, run_dir, result))
            break
    return results
