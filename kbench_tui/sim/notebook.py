"""What the simulated backend "builds" from a pushed notebook.

The real service executes the notebook; the simulator only checks what decides the
outcome of a build: the code must parse (else ERRORED with a SyntaxError traceback) and
define at least one `@task` (else VALIDATION_FAILED). The task-name rules follow the
kaggle CLI (API reference §8.1) closely enough to name the task in the run outputs; the
exact, tested implementation for the client side lives in `kbench_tui/taskfile.py`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

_CELL_MAGIC = re.compile(r"^[ \t]*%%\w")
_LINE_MAGIC = re.compile(r"^[ \t]*[%!]\w")

COMPLETED = "COMPLETED"
ERRORED = "ERRORED"
VALIDATION_FAILED = "VALIDATION_FAILED"


class NotebookError(ValueError):
    """The `text` of a CreateBenchmarkTask request is not an .ipynb JSON document."""


@dataclass(frozen=True)
class BuildResult:
    """The outcome a version's build will reach, and what it found."""

    outcome: str
    task_name: str
    definition: str
    error_message: str | None = None


def notebook_code(text: str) -> str:
    """The code cells of an ipynb JSON string joined into one script."""
    try:
        notebook = json.loads(text)
    except (ValueError, TypeError) as error:
        raise NotebookError(f"text must be an .ipynb JSON document: {error}") from error
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("text must be an .ipynb JSON document with a 'cells' list")
    chunks = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        chunks.append("".join(source) if isinstance(source, list) else str(source))
    return "\n".join(chunks)


def blank_magics(code: str) -> str:
    """Replace IPython magics and shell escapes with blank lines (line numbers kept)."""
    lines = code.split("\n")
    in_cell_magic = False
    for index, line in enumerate(lines):
        if in_cell_magic:
            if not line.strip():
                in_cell_magic = False
                continue
            lines[index] = ""
        elif _CELL_MAGIC.match(line):
            in_cell_magic = True
            lines[index] = ""
        elif _LINE_MAGIC.match(line):
            lines[index] = ""
    return "\n".join(lines)


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id == "task"
    return isinstance(target, ast.Attribute) and target.attr == "task"


def _task_name(function: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr) -> str:
    if isinstance(decorator, ast.Call):
        literals = [k.value for k in decorator.keywords if k.arg == "name"] or decorator.args[:1]
        if literals and isinstance(literals[0], ast.Constant) and literals[0].value:
            return str(literals[0].value)
    return function.name.replace("_", " ").title()


def analyse(text: str, fallback_name: str) -> BuildResult:
    """Decide the build outcome of a notebook (raises NotebookError for non-ipynb text)."""
    code = blank_magics(notebook_code(text))
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        line = (error.text or "").rstrip("\n")
        message = (
            "Traceback (most recent call last):\n"
            '  File "/kaggle/working/__notebook__.ipynb", line '
            f"{error.lineno or 1}\n    {line.strip()}\n    ^\n"
            f"SyntaxError: {error.msg}"
        )
        return BuildResult(ERRORED, fallback_name, "", message)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if _is_task_decorator(decorator):
                definition = ast.get_source_segment(code, node) or ""
                return BuildResult(COMPLETED, _task_name(node, decorator), definition)
    message = (
        "Traceback (most recent call last):\n"
        '  File "/kaggle/working/__notebook__.ipynb", line 1, in <module>\n'
        "kaggle_benchmarks.errors.TaskValidationError: no @task-decorated function found; "
        "add at least one @kbench.task to define a task"
    )
    return BuildResult(VALIDATION_FAILED, fallback_name, "", message)


def make_notebook(code: str) -> str:
    """A minimal ipynb JSON string holding `code` as one code cell (used by seeds and tests)."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "0a1b2c3d",
                "metadata": {},
                "outputs": [],
                "source": code.splitlines(keepends=True),
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1)
