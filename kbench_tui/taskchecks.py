"""AST checks over the task definitions of a parsed task file (used by `tasklint.lint`).

They answer one question each: is every task executed at top level (and not only under a
`__main__` guard), does a task that returns a value say what type, are bare `assert`s or
stored subtasks used where the SDK expects `kbench.assertions` and `store_task=False`?
"Executed at top level" follows the code a notebook really runs: module statements and
class bodies, through plain functions called from there, through simple aliases
(`t = my_task`, `for t in (a, b): t.run(...)`), never into uncalled function bodies.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from kbench_tui.taskfile import TaskDefinition, find_task_definitions

Severity = Literal["error", "warning", "info"]
_RUN_METHODS = frozenset({"run", "evaluate"})
_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Finding:
    """One lint result: 1-based line, severity, short code, what is wrong and how to fix it."""

    line: int
    severity: Severity
    code: str
    message: str
    hint: str


class _Run(NamedTuple):
    """A call that runs a task: the task function, the call's line and text, any guard line."""

    task: str
    line: int
    guard: int | None
    call: str


def _is_main_guard(test: ast.expr) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def _walk_executed(node: ast.AST, guard: int | None) -> Iterator[tuple[ast.AST, int | None]]:
    """Nodes executed when `node` runs, each with the line of an enclosing `__main__` guard.

    Function and lambda bodies are deferred, so they are yielded but not entered; class
    bodies run at definition time, so they are entered.
    """
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield child, guard
            continue
        if isinstance(child, ast.If) and _is_main_guard(child.test):
            yield child, guard
            for statement in child.body:
                yield statement, child.lineno
                yield from _walk_executed(statement, child.lineno)
            for statement in child.orelse:
                yield statement, guard
                yield from _walk_executed(statement, guard)
            continue
        yield child, guard
        yield from _walk_executed(child, guard)


def _run_receiver(call: ast.Call) -> str | None:
    """`x` for `x.run(...)` / `x.evaluate(...)`, else None."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr in _RUN_METHODS
        and isinstance(func.value, ast.Name)
    ):
        return func.value.id
    return None


def _stores_task(definition: TaskDefinition) -> bool:
    """False only for an explicit `store_task=False` on the decorator."""
    decorator = definition.decorator
    if isinstance(decorator, ast.Call):
        for keyword in decorator.keywords:
            if keyword.arg == "store_task" and isinstance(keyword.value, ast.Constant):
                return bool(keyword.value.value)
    return True


def _suggested_annotation(value: ast.expr) -> str:
    """A plausible return annotation for a returned expression (for the fix hint)."""
    if isinstance(value, (ast.Compare, ast.BoolOp)) or (
        isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)
    ):
        return "bool"
    if isinstance(value, ast.Constant) and type(value.value) in (bool, int, float):
        return type(value.value).__name__
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, ast.Tuple) and len(value.elts) == 2:
        return "tuple[float, float]"
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("bool", "int", "float", "dict")
    ):
        return value.func.id
    return "float"


def _own_nodes(function: _FunctionNode) -> Iterator[ast.AST]:
    """The nodes of a function body, without nested functions, lambdas and classes."""
    deferred = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    stack: list[ast.AST] = [node for node in function.body if not isinstance(node, deferred)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, deferred))


class TaskChecks:
    """The AST checks (KB002-KB004, KB006-KB008, KB011, KB012) over one parsed file."""

    def __init__(self, tree: ast.Module, body: str) -> None:
        self.tree = tree
        self.lines = body.split("\n")
        self.cli_tasks = list(find_task_definitions(tree, "task"))
        self.alias_tasks = list(find_task_definitions(tree, "benchmark"))
        self.all_tasks = self.cli_tasks + self.alias_tasks
        self.by_function: dict[str, list[TaskDefinition]] = {}
        first_by_node: dict[int, TaskDefinition] = {}
        for definition in self.all_tasks:
            self.by_function.setdefault(definition.function.name, []).append(definition)
            first_by_node.setdefault(id(definition.function), definition)
        # One entry per decorated function (a function with two task decorators is one task).
        self.functions = list(first_by_node.values())

    def findings(self) -> list[Finding]:
        if not self.all_tasks:
            return [
                Finding(
                    1,
                    "error",
                    "KB002",
                    "No @task decorator: the kaggle CLI refuses the push "
                    "('No @task decorators found').",
                    'Decorate the task function with @kbench.task(name="...").',
                )
            ]
        found: list[Finding] = []
        found += self._benchmark_alias()
        found += self._duplicate_slugs()
        found += self._runs()
        for definition in self.functions:
            found += self._return_annotation(definition)
            found += self._bare_asserts(definition)
        found += self._subtasks_stored()
        return found

    def _benchmark_alias(self) -> list[Finding]:
        if not self.alias_tasks:
            return []
        if not self.cli_tasks:
            first = self.alias_tasks[0]
            return [
                Finding(
                    first.line,
                    "error",
                    "KB002",
                    "No @task decorator: @kbench.benchmark works in the SDK, but the kaggle CLI "
                    "only recognises @task and refuses the push ('No @task decorators found').",
                    "Use @kbench.task (an exact alias) for the task you push.",
                )
            ]
        return [
            Finding(
                d.line,
                "info",
                "KB011",
                f"Task '{d.name}' uses @benchmark: it runs on Kaggle with the notebook, but push "
                "cannot select it by name (the CLI only recognises @task).",
                "Use @kbench.task if you want to push it by its own name.",
            )
            for d in self.alias_tasks
        ]

    def _duplicate_slugs(self) -> list[Finding]:
        first_by_slug: dict[str, TaskDefinition] = {}
        found = []
        for definition in self.cli_tasks:
            earlier = first_by_slug.setdefault(definition.slug, definition)
            if earlier is not definition:
                found.append(
                    Finding(
                        definition.line,
                        "warning",
                        "KB012",
                        f"Tasks '{earlier.name}' (line {earlier.line}) and '{definition.name}' "
                        f"share the slug '{definition.slug}': push cannot tell them apart.",
                        "Give each task a distinct name=.",
                    )
                )
        return found

    def _module_functions(self) -> dict[str, _FunctionNode]:
        return {
            node.name: node
            for node in self.tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name not in self.by_function
        }

    def _aliases(self, executed: list[tuple[ast.AST, int | None]]) -> dict[str, set[str]]:
        """Top-level names bound to tasks: `t = my_task`, `for t in (a, b):`, comprehensions."""
        aliases: dict[str, set[str]] = {}

        def bind(target: ast.expr, value: ast.expr) -> None:
            if not isinstance(target, ast.Name):
                return
            named = {
                n.id
                for n in ast.walk(value)
                if isinstance(n, ast.Name) and n.id in self.by_function
            }
            if named:
                aliases.setdefault(target.id, set()).update(named)

        for node, _guard in executed:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                for target in node.targets:
                    bind(target, node.value)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                bind(node.target, node.iter)
        return aliases

    def _top_level_runs(self) -> list[_Run]:
        """Every run of a task executed at top level, directly or through a helper function."""
        executed = list(_walk_executed(self.tree, None))
        aliases = self._aliases(executed)
        helpers = self._module_functions()
        runs: list[_Run] = []
        visited: set[tuple[str, bool]] = set()
        pending = executed
        while pending:
            more: list[tuple[ast.AST, int | None]] = []
            for node, guard in pending:
                if not isinstance(node, ast.Call):
                    continue
                receiver = _run_receiver(node)
                if receiver is None and isinstance(node.func, ast.Name):
                    receiver = node.func.id
                    if receiver in helpers and (receiver, guard is None) not in visited:
                        # A plain function called at top level: its body runs there too.
                        visited.add((receiver, guard is None))
                        more += list(_walk_executed(helpers[receiver], guard))
                        continue
                if receiver is None:
                    continue
                targets = {receiver} if receiver in self.by_function else aliases.get(receiver)
                call = ast.unparse(node.func)
                runs.extend(_Run(task, node.lineno, guard, call) for task in targets or ())
            pending = more
        return runs

    def _used_inside_functions(self) -> set[str]:
        """Task functions referenced inside a task, a lambda, or a function that is itself used.

        Such a task runs as part of something else (a subtask, a scorer passed around), so it
        needs no top-level run of its own. A plain function nobody references (`def main():`
        never called) does not count: its runs never happen.
        """
        loaded = [n for n in ast.walk(self.tree) if isinstance(n, ast.Name)]
        used: set[str] = set()
        for node in ast.walk(self.tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            own = node.name if isinstance(node, _FunctionNode) else None
            if own is not None and own not in self.by_function:
                inside = {id(n) for n in ast.walk(node)}
                if not any(n.id == own and id(n) not in inside for n in loaded):
                    continue
            # A task naming itself (recursion) is not a use by something else.
            used.update(
                inner.id
                for inner in ast.walk(node)
                if isinstance(inner, ast.Name) and inner.id in self.by_function and inner.id != own
            )
        return used

    def _runs(self) -> list[Finding]:
        runs = self._top_level_runs()
        run_unguarded = {run.task for run in runs if run.guard is None}
        found = [
            Finding(
                run.line,
                "error",
                "KB004",
                f'`{run.call}(...)` is under `if __name__ == "__main__":` (line {run.guard}): '
                "Kaggle runs task files as notebooks and never executes it there.",
                "Move the call to the top level, in its own `# %%` cell.",
            )
            for run in runs
            if run.guard is not None
        ]
        guarded = {run.task for run in runs if run.guard is not None}
        used = self._used_inside_functions()
        top_level = {id(n) for n, _ in _walk_executed(self.tree, None)}
        class_methods = {
            id(item)
            for node in ast.walk(self.tree)
            if isinstance(node, ast.ClassDef)
            for item in node.body
        }
        for definition in self.functions:
            function = definition.function
            name = function.name
            if name in run_unguarded or name in guarded or name in used:
                continue
            if id(function) not in top_level or id(function) in class_methods:
                continue  # a nested task or a method: run by whatever defines it
            found.append(
                Finding(
                    definition.line,
                    "error",
                    "KB003",
                    f"Task '{definition.name}' is never run: no top-level `{name}.run(...)` or "
                    f"`{name}.evaluate(...)`. The push succeeds, but the server records nothing.",
                    f"Add `{name}.run(kbench.llm)` at the top level, in its own `# %%` cell."
                    + self._commented_run_hint(name),
                )
            )
        return found

    def _commented_run_hint(self, name: str) -> str:
        pattern = re.compile(rf"^\s*#\s*(\w+\s*=\s*)?{re.escape(name)}\s*\.\s*(run|evaluate)\b")
        for number, text in enumerate(self.lines, start=1):
            if pattern.match(text):
                return f" (line {number} has it commented out.)"
        return ""

    def _return_annotation(self, definition: TaskDefinition) -> list[Finding]:
        function = definition.function
        if function.returns is not None:
            return []
        for node in _own_nodes(function):
            if isinstance(node, ast.Return) and node.value is not None:
                if isinstance(node.value, ast.Constant) and node.value.value is None:
                    continue
                suggestion = _suggested_annotation(node.value)
                return [
                    Finding(
                        node.lineno,
                        "warning",
                        "KB006",
                        f"Task '{definition.name}' returns a value but `{function.name}` has no "
                        "return annotation: the SDK cannot type the result.",
                        f"Annotate it, e.g. `def {function.name}(...) -> {suggestion}:` "
                        "(bool, int, float, dict, tuple[int, int], tuple[float, float]).",
                    )
                ]
        return []

    def _bare_asserts(self, definition: TaskDefinition) -> list[Finding]:
        return [
            Finding(
                node.lineno,
                "info",
                "KB007",
                f"Bare `assert` in task '{definition.name}': a failure stops the task and is "
                "recorded only as a generic format error.",
                "Use kbench.assertions.assert_true / assert_equal / assert_in ... with an "
                "expectation=, so every check is recorded.",
            )
            for node in _own_nodes(definition.function)
            if isinstance(node, ast.Assert)
        ]

    def _subtasks_stored(self) -> list[Finding]:
        found: list[Finding] = []
        reported: set[tuple[str, int]] = set()
        for outer in self.functions:
            for node in ast.walk(outer.function):
                if not isinstance(node, ast.Call):
                    continue
                callee = _run_receiver(node)
                if callee is None and isinstance(node.func, ast.Name):
                    callee = node.func.id
                if callee is None or callee == outer.function.name:
                    continue
                for inner in self.by_function.get(callee, []):
                    key = (callee, node.lineno)
                    if _stores_task(inner) and key not in reported:
                        reported.add(key)
                        found.append(
                            Finding(
                                node.lineno,
                                "info",
                                "KB008",
                                f"Task '{inner.name}' is called from task '{outer.name}' but "
                                "is also stored as a task of its own.",
                                f"Declare it with store_task=False (line {inner.line}).",
                            )
                        )
        return found
