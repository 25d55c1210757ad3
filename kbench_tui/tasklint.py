"""Lint for task files: the mistakes the kaggle CLI lets through and the server swallows.

`kaggle b t push` only checks that a `@task` with the right name exists. A file that never
calls `.run()` pushes fine, executes on Kaggle and records nothing; that round-trip takes
minutes. `lint` finds those mistakes locally, each as a `Finding` with a line and a fix.

Codes (severity):
- KB001 error    the file does not parse (the CLI then finds no task at all)
- KB002 error    no `@task` decorator (the CLI refuses the push)
- KB003 error    a task is never `.run(...)` / `.evaluate(...)` at top level
- KB004 error    `.run()` / `.evaluate()` under `if __name__ == "__main__":`
- KB005 warning  an uncommented `!shell` / `%magic` / `%%cell` line (breaks `python task.py`)
- KB006 warning  a task returns a value but has no return annotation
- KB007 info     a bare `assert` in a task instead of `kbench.assertions.*`
- KB008 info     a task called from another task without `store_task=False`
- KB009 info     no `# %%` cell markers
- KB010 error    a UTF-8 byte-order mark (the CLI's parser then finds no task)
- KB011 info     a `@kbench.benchmark` task next to `@task` ones (push cannot select it)
- KB012 warning  two tasks with the same slug (push cannot tell them apart)

`@kbench.benchmark` is an exact alias of `@kbench.task` in the SDK, so lint checks its tasks
like any other. The CLI only recognises `task` decorators, though: a file whose only tasks
use `@benchmark` cannot be pushed (KB002, error); next to `@task` tasks it still runs on
Kaggle with the notebook, so it is only noted (KB011, info).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from kbench_tui.taskchecks import Finding, Severity, TaskChecks
from kbench_tui.taskfile import CELL_MAGIC, LINE_MAGIC, UTF8_BOM, blank_ipython_magics

__all__ = ["Finding", "Severity", "lint"]

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
# jupytext's percent format: `# %%`, optionally `#%%`, indented, or with a title after it.
_CELL_MARKER = re.compile(r"^[ \t]*#[ \t]*%%", re.MULTILINE)


def lint(source: str) -> list[Finding]:
    """All findings for a task file's text, sorted by line then severity."""
    findings: list[Finding] = []
    body = source
    if body.startswith(UTF8_BOM):
        findings.append(
            Finding(
                1,
                "error",
                "KB010",
                "The file starts with a UTF-8 byte-order mark: the kaggle CLI cannot parse it "
                "and refuses the push ('No @task decorators found').",
                "Save the file as UTF-8 without BOM.",
            )
        )
        body = body[len(UTF8_BOM) :]
    if not _CELL_MARKER.search(body):
        findings.append(
            Finding(
                1,
                "info",
                "KB009",
                "No `# %%` cell markers: the pushed notebook will be one single cell.",
                "Split the file into cells with `# %%` lines: imports, each task, each run.",
            )
        )
    try:
        tree = ast.parse(blank_ipython_magics(body))
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 1
        detail = getattr(error, "msg", None) or str(error)
        findings.append(
            Finding(
                line,
                "error",
                "KB001",
                f"The file does not parse (line {line}: {detail}); the kaggle CLI then finds no "
                "task and refuses the push.",
                "Fix the syntax error; `python -m py_compile <file>` shows it.",
            )
        )
        findings.extend(_magic_findings(body, frozenset()))
        return _sorted(findings)
    findings.extend(_magic_findings(body, _string_interior_lines(tree)))
    findings.extend(TaskChecks(tree, body).findings())
    return _sorted(findings)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line, _SEVERITY_RANK[f.severity], f.code))


def _string_interior_lines(tree: ast.AST) -> frozenset[int]:
    """Lines inside multi-line strings, where `!x` or `%x` is text, not a magic."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno:
            lines.update(range(node.lineno + 1, node.end_lineno + 1))
    return frozenset(lines)


def _magic_findings(body: str, inside_strings: frozenset[int]) -> Iterator[Finding]:
    """KB005 for every magic the CLI blanks (cell magics first, as the CLI does)."""
    for match in CELL_MAGIC.finditer(body):
        line = body.count("\n", 0, match.start()) + 1
        if line in inside_strings:
            continue
        header = match.group().split("\n", 1)[0].strip()
        yield Finding(
            line,
            "warning",
            "KB005",
            f"Cell magic `{header}`: runs on Kaggle, but the whole cell (up to the next blank "
            "line) is not Python, so `python task.py` fails.",
            "Do that work in Python, or comment the cell out for local runs.",
        )
    without_cells = CELL_MAGIC.sub(lambda m: "\n" * m.group().count("\n"), body)
    for match in LINE_MAGIC.finditer(without_cells):
        line = without_cells.count("\n", 0, match.start()) + 1
        if line in inside_strings:
            continue
        text = match.group().strip()
        yield Finding(
            line,
            "warning",
            "KB005",
            f"Uncommented magic `{text}`: runs on Kaggle, but `python task.py` fails on it.",
            f"Comment it out (`# {text}`) and install dependencies locally with pip.",
        )
