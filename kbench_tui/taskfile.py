"""Task files read exactly the way the kaggle CLI 2.2.4 reads them (API reference §8).

A benchmark task is a percent-format `.py` file. Before it reaches the server we must agree
with the CLI on three things, or the server will disagree with us:

- which task names the file defines (`task_names`, §8.1),
- which slug a push uses and when it refuses (`validate_push`, §8.2-§8.3),
- the notebook JSON that is sent (`to_notebook`, §8.4).

`read_task_file` reads like the CLI's `open(file).read()` (UTF-8, universal newlines, a BOM
kept) but turns every bad file into one `TaskFileError` sentence instead of a traceback.
The mistakes the CLI lets through silently are caught by `kbench_tui.tasklint.lint`.

No Textual import here, and jupytext is imported only inside `to_notebook`: the headless
path must not pay for it.
"""

from __future__ import annotations

import ast
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from kbench_tui.slugs import TaskRef, parse_task_argument, slugify

__all__ = [
    "MAX_TASK_FILE_BYTES",
    "PushPlan",
    "TaskDefinition",
    "TaskFileError",
    "TaskRef",
    "blank_ipython_magics",
    "find_task_definitions",
    "is_task_decorator",
    "parse_task_argument",
    "read_task_file",
    "slugify",
    "task_names",
    "to_notebook",
    "validate_push",
]

# Far above any real task file (the SDK examples are a few KB); protects the UI and the
# server from a data file pushed by mistake.
MAX_TASK_FILE_BYTES = 5 * 1024 * 1024

# The two patterns of the CLI's `_strip_ipython_magics`, verbatim in meaning:
# a cell magic (`%%bash`) runs to the first blank line; a line magic (`%time`) or a shell
# escape (`!pip`) is one line. `%(?!%)` keeps `%%` out of the line-magic rule.
CELL_MAGIC = re.compile(r"^[ \t]*%%\w[^\n]*\n(?:[ \t]*\S[^\n]*\n)*", re.MULTILINE)
LINE_MAGIC = re.compile(r"^[ \t]*(?:%(?!%)|!)\w[^\n]*$", re.MULTILINE)

UTF8_BOM = "\ufeff"


class TaskFileError(ValueError):
    """A task file that cannot be pushed, with one sentence saying why and what to do."""


def _to_blank_lines(match: re.Match[str]) -> str:
    # Keep the newlines so every AST line number still points at the user's file.
    return "\n" * match.group().count("\n")


def blank_ipython_magics(source: str) -> str:
    """Replace IPython magics and shell escapes with blank lines, as the CLI does before parsing.

    Cell magics are handled first, so the body of a `%%bash` cell disappears with its header.
    """
    source = CELL_MAGIC.sub(_to_blank_lines, source)
    return LINE_MAGIC.sub(_to_blank_lines, source)


def is_task_decorator(decorator: ast.expr, attribute: str = "task") -> bool:
    """True for `@task`, `@task(...)`, `@kbench.task`, `@x.y.task(...)`; never for `@tasks`."""
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(func, ast.Name) and func.id == attribute) or (
        isinstance(func, ast.Attribute) and func.attr == attribute
    )


def _literal_name(decorator: ast.expr) -> object:
    """The `name=` literal, else the first positional literal, else None (CLI rules)."""
    if not isinstance(decorator, ast.Call):
        return None
    name = next(
        (
            keyword.value.value
            for keyword in decorator.keywords
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)
        ),
        None,
    )
    # Only a missing (or literally None) keyword falls through to the positional argument:
    # `@task("Pos", name="")` is the function name, `@task("Pos", name=None)` is "Pos".
    if name is None and decorator.args and isinstance(decorator.args[0], ast.Constant):
        name = decorator.args[0].value
    return name


def _display_name(decorator: ast.expr, function_name: str) -> str:
    literal = _literal_name(decorator)
    # A falsy literal (`name=""`, `@task(0)`, `name=None`) falls back to the function name,
    # exactly like the CLI's `str(name) if name else ...`.
    if literal:
        return str(literal)
    # str.title() capitalises after every non-letter: `aB_cD_e1` -> `Ab Cd E1`.
    return function_name.title().replace("_", " ")


@dataclass(frozen=True)
class TaskDefinition:
    """One task-decorated function: its display name, where it is and how it was declared."""

    name: str
    function: ast.FunctionDef | ast.AsyncFunctionDef
    decorator: ast.expr

    @property
    def line(self) -> int:
        """1-based line of the decorator (where a user looks for the task)."""
        return self.decorator.lineno

    @property
    def slug(self) -> str:
        return slugify(self.name)


def find_task_definitions(tree: ast.AST, attribute: str = "task") -> Iterator[TaskDefinition]:
    """Every `@<attribute>` definition, in the CLI's order.

    `ast.walk` is breadth-first, so top-level functions come before methods and nested
    functions; a function with two task decorators yields two definitions, like the CLI.
    """
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if is_task_decorator(decorator, attribute):
                yield TaskDefinition(_display_name(decorator, node.name), node, decorator)


def task_names(source: str) -> list[str]:
    """The task names the kaggle CLI 2.2.4 finds in a task file (§8.1); [] if it does not parse."""
    try:
        tree = ast.parse(blank_ipython_magics(source))
    except (SyntaxError, ValueError):
        # A NUL character is a SyntaxError on Python >= 3.11.4 (the CLI then finds no names)
        # but a ValueError before (the CLI crashes); no names on every version.
        return []
    return [definition.name for definition in find_task_definitions(tree)]


def to_notebook(source: str) -> str:
    """The `.ipynb` JSON the CLI sends as CreateBenchmarkTask `text` (§8.4).

    The whole original file is converted, magics included: on Kaggle they run as notebook
    magics. Cell ids are random (nbformat), so compare outputs with ids removed.
    """
    import jupytext  # Lazy: only a push pays for jupytext and nbformat.

    notebook = jupytext.reads(source, fmt="py:percent")
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    return jupytext.writes(notebook, fmt="ipynb")


def _decode_error_message(shown: str, data: bytes, error: UnicodeDecodeError) -> str:
    offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return (
        f"File '{shown}' is not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset} "
        f"(line {line}, column {column}) cannot be decoded. Save the file as UTF-8."
    )


def read_task_file(path: str | os.PathLike[str]) -> str:
    """The text of a task file as the CLI reads it, or a `TaskFileError` saying what is wrong.

    Decoded as strict UTF-8 with universal newlines (CRLF and CR become LF), which is what
    the CLI's `open(file).read()` gives under a UTF-8 locale. A UTF-8 BOM is kept, as the
    CLI keeps it, so `task_names` agrees with the CLI (which finds no task in such a file);
    `validate_push` and the lint explain it.
    """
    shown = os.fspath(path)
    try:
        info = os.stat(shown)
    except FileNotFoundError:
        raise TaskFileError(f"File '{shown}' does not exist.") from None
    except OSError as error:
        raise TaskFileError(f"Cannot read '{shown}': {error.strerror}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise TaskFileError(f"'{shown}' is a directory, not a task file.")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; the CLI's isfile() also rejects it.
        raise TaskFileError(f"'{shown}' is not a regular file.")
    if info.st_size > MAX_TASK_FILE_BYTES:
        raise TaskFileError(_too_large(shown, info.st_size))
    try:
        with open(shown, "rb") as handle:
            # Read one byte past the limit: st_size can lie (procfs, a file still growing).
            data = handle.read(MAX_TASK_FILE_BYTES + 1)
    except PermissionError:
        raise TaskFileError(
            f"Cannot read '{shown}': permission denied. Check the file's permissions."
        ) from None
    except OSError as error:
        raise TaskFileError(f"Cannot read '{shown}': {error.strerror or error}.") from None
    if len(data) > MAX_TASK_FILE_BYTES:
        raise TaskFileError(_too_large(shown, len(data)))
    nul = data.find(b"\x00")
    if nul >= 0:
        # UTF-16 text is the usual culprit: every ASCII character carries a zero byte.
        raise TaskFileError(
            f"File '{shown}' is binary (a NUL byte at offset {nul}), not Python source. "
            "Save it as UTF-8 text."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TaskFileError(_decode_error_message(shown, data, error)) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _too_large(shown: str, size: int) -> str:
    limit_mb = MAX_TASK_FILE_BYTES // (1024 * 1024)
    return (
        f"File '{shown}' is too large ({size / (1024 * 1024):.1f} MB; the limit is {limit_mb} MB). "
        "A task file holds code; load data from a Kaggle dataset (-d owner/dataset) instead."
    )


@dataclass(frozen=True)
class PushPlan:
    """A task file checked locally and ready to push (what `kaggle b t push` does before the network).

    `slug` is `slugify(<task argument>)`: push sends no owner, so `alice/My Task` becomes
    `alice-my-task`, exactly like the CLI (§8.3).
    """

    task_argument: str
    path: str
    source: str
    slug: str
    task_name: str
    names: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> TaskRef:
        """The task this push creates a version of (always the caller's own)."""
        return TaskRef(task=self.slug)

    @property
    def renamed(self) -> bool:
        return self.slug != self.task_argument

    def notebook(self) -> str:
        """The notebook JSON to send (jupytext is imported on the first call)."""
        return to_notebook(self.source)


def normalization_note(argument: str, slug: str) -> str:
    """The CLI's warning when the task argument is not already a slug (two lines)."""
    return (
        f"⚠ Warning: task name {argument!r} was normalized to slug {slug!r}.\n"
        f"  Use {slug!r} in future commands."
    )


def validate_push(task: str, path: str | os.PathLike[str]) -> PushPlan:
    """Check a push locally in the CLI's order, or raise `TaskFileError` with its meaning (§8.2).

    Order: the file exists, ends in `.py`, reads cleanly, defines at least one `@task`, and
    one of them slugifies to `slugify(task)`. Messages are the CLI's, with a hint appended
    where the CLI's words alone would mislead (a BOM, an `owner/` prefix, `@kbench.benchmark`).
    """
    shown = os.fspath(path)
    if not os.path.lexists(shown):
        raise TaskFileError(f"File '{shown}' does not exist.")
    # The CLI says "does not exist" for a directory too; say what is really there.
    if os.path.isdir(shown):
        raise TaskFileError(f"'{shown}' is a directory, not a task file.")
    if not shown.endswith(".py"):
        raise TaskFileError(f"File '{shown}' must be a Python (.py) file.")
    source = read_task_file(shown)
    names = task_names(source)
    if not names:
        raise TaskFileError(
            f"No @task decorators found in '{shown}'. Add at least one @task decorator to "
            f"define a task.{_no_task_hint(source)}"
        )
    slug = slugify(task)
    by_slug = {slugify(name): name for name in names}
    if slug not in by_slug:
        message = f"Task '{task}' not found in '{shown}'. Available tasks: {', '.join(by_slug)}"
        raise TaskFileError(message + _not_found_hint(task, by_slug))
    notes = [normalization_note(task, slug)] if slug != task else []
    return PushPlan(task, shown, source, slug, by_slug[slug], names, notes)


def _no_task_hint(source: str) -> str:
    if source.startswith(UTF8_BOM):
        return (
            " (The file starts with a UTF-8 byte-order mark, which stops the parser; "
            "save it as UTF-8 without BOM.)"
        )
    try:
        tree = ast.parse(blank_ipython_magics(source))
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        where = f" at line {line}" if line else ""
        return f" (The file does not parse{where}, so no task can be found.)"
    if any(True for _ in find_task_definitions(tree, "benchmark")):
        return (
            " (@kbench.benchmark works in the SDK but the kaggle CLI only recognises @task: "
            "use @kbench.task.)"
        )
    return ""


def _not_found_hint(task: str, by_slug: dict[str, str]) -> str:
    if "/" in task:
        bare = slugify(task.partition("/")[2])
        if bare in by_slug:
            return (
                " (push always creates the task in your own account and takes no owner: "
                f"use '{bare}' instead of '{task}'.)"
            )
    return ""


def __getattr__(name: str) -> object:
    # `lint` and `Finding` live in kbench_tui.tasklint (it imports this module); re-exported
    # lazily so `from kbench_tui.taskfile import lint` works without an import cycle.
    if name in ("lint", "Finding"):
        from kbench_tui import tasklint

        return getattr(tasklint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
