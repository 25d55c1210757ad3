"""A generated corpus of task files for the parity tests (every form the CLI's rules distinguish).

Each entry is `(label, source)`. Sources are built from the cross product of decorator forms,
decorator arguments, function names and function kinds, plus hand-written files for magics,
syntax errors, encodings and line endings.
"""

from __future__ import annotations

import itertools

DECORATORS = [
    "task",
    "kbench.task",
    "x.y.task",
    "kaggle_benchmarks.task",
    "tasks",  # does not count
    "kbench.tasks",  # does not count
    "task_helper",  # does not count
    "Task",  # does not count (case matters)
    "kbench.benchmark",  # the SDK alias; the CLI does not count it
    "task.run",  # attribute `run`, does not count
]

ARGUMENTS = [
    None,  # bare decorator, not called
    "",
    'name="What is Kaggle?"',
    '"Positional Name"',
    "name=NAME_VAR",
    "NAME_VAR",
    'name=""',
    "name=None",
    '""',
    "42",
    "0",
    "3.5",
    "True",
    "False",
    "None",
    'b"bytes"',
    "...",
    '"Pos", name="Kw"',
    '"Pos", name=""',
    '"Pos", name=None',
    'NAME_VAR, name="Kw"',
    '"Pos", name=NAME_VAR',
    'description="only a description"',
    'name="sub", store_task=False',
    'name=f"fmt {NAME_VAR}"',
    'name="Über task!!"',
    'name="日本語"',
    'name="emoji 🚀 task"',
    'name="   "',
    'name="!!!"',
    'name="it\'s"',
    'name="1,000 tasks"',
    'name="&amp; test"',
    'name="Task 2.0"',
    'name="a--b"',
    "**options",
]

FUNCTION_NAMES = [
    "my_simple_task",
    "what_is_kaggle",
    "aB_cD_e1",
    "_private",
    "__dunder__",
    "task2_0",
    "ÜberTask",
    "straße_test",
    "x",
]

PRELUDE = 'import kaggle_benchmarks as kbench\nNAME_VAR = "from a variable"\noptions = {}\n'


def _decorator(form: str, arguments: str | None) -> str:
    return f"@{form}" if arguments is None else f"@{form}({arguments})"


def _function_kinds(decorator: str, name: str) -> dict[str, str]:
    """The same decorated function as a def, async def, method, nested function and nested task."""
    return {
        "def": f"{decorator}\ndef {name}(llm):\n    pass\n",
        "async": f"{decorator}\nasync def {name}(llm):\n    pass\n",
        "method": f"class Holder:\n    {decorator}\n    def {name}(self, llm):\n        pass\n",
        "nested": f"def outer():\n    {decorator}\n    def {name}(llm):\n        pass\n",
        "in-task": (
            f"@kbench.task\ndef outer_task(llm):\n    {decorator}\n    def {name}(llm):\n"
            "        pass\n"
        ),
    }


def decorator_corpus() -> list[tuple[str, str]]:
    """Every decorator form with every argument form on a plain function."""
    corpus = []
    for form, arguments in itertools.product(DECORATORS, ARGUMENTS):
        source = PRELUDE + f"\n# %%\n{_decorator(form, arguments)}\ndef my_simple_task(llm):\n"
        source += "    pass\n\nmy_simple_task.run(kbench.llm)\n"
        corpus.append((f"decorator {_decorator(form, arguments)}", source))
    return corpus


def function_corpus() -> list[tuple[str, str]]:
    """Every function name in every function kind, bare and called decorators."""
    corpus = []
    for name, decorator in itertools.product(FUNCTION_NAMES, ["@task", "@kbench.task()"]):
        for kind, body in _function_kinds(decorator, name).items():
            corpus.append((f"{kind} {name} {decorator}", PRELUDE + body))
    return corpus


BFS_ORDER = """import kaggle_benchmarks as kbench
from kaggle_benchmarks import task

class InClass:
    @task
    def in_class(self, llm):
        pass

@kbench.task(name="What is Kaggle?")
def what_is_kaggle(llm):
    @task(name="Nested Deep")
    def inner(llm):
        pass

@task("Positional Name")
def positional(llm):
    pass

@task
def my_simple_task(llm):
    pass

NAME_VAR = "x"

@task(name=NAME_VAR)
def var_named(llm):
    pass

@task(42)
async def answer(llm):
    pass

@other
@kbench.task("Twice A")
@task(name="Twice B")
def twice(llm):
    pass
"""

SPECIAL: dict[str, str] = {
    "empty": "",
    "only whitespace": "\n\n   \n",
    "only comments": "# %%\n# just a comment\n",
    "no decorators": "def my_task(llm):\n    pass\n",
    "bfs order": BFS_ORDER,
    "same slug twice": (
        '@task(name="My Task")\ndef a(llm):\n    pass\n\n'
        '@task(name="my_task")\ndef b(llm):\n    pass\n\n'
        "@task\ndef my_task(llm):\n    pass\n"
    ),
    "syntax error": "@task\ndef broken(llm):\n    return (\n",
    "python 2 print": '@task\ndef t(llm):\n    pass\nprint "hi"\n',
    "tab error": "@task\ndef t(llm):\n\tif True:\n        pass\n\tpass\n",
    "tabs": "@task\ndef tabbed_task(llm):\n\tx = 1\n\treturn x\n",
    "crlf": '# %%\r\nimport kaggle_benchmarks as kbench\r\n\r\n@kbench.task(name="CRLF task")\r\n'
    "def crlf(llm):\r\n    pass\r\n\r\ncrlf.run(kbench.llm)\r\n",
    "cr only": '@task(name="CR task")\rdef cr(llm):\r    pass\r',
    "bom": '\ufeff# %%\n@task(name="BOM task")\ndef bom(llm):\n    pass\n',
    "non-ascii source": '# %%\n# Überblick: 日本語のコメント\n@task(name="Größe prüfen")\ndef größe(llm):\n'
    '    return "ß"\n',
    "line magics": (
        '# %%\n!pip install -q pandas\n%time x = 1\n  !ls -la\n%matplotlib inline\n@task(name="After magics")\n'
        "def after(llm):\n    !echo inside\n    pass\n"
    ),
    "cell magic": (
        "%%bash\necho not python\nfor x in 1 2; do echo $x; done\n\n"
        '@task(name="After cell magic")\ndef after(llm):\n    pass\n'
    ),
    "cell magic swallows a task": (
        '%%capture\n@task(name="Hidden")\ndef hidden(llm):\n    pass\n\n'
        '@task(name="Visible")\ndef visible(llm):\n    pass\n'
    ),
    "cell magic at end without blank line": '@task(name="Kept")\ndef kept(llm):\n    pass\n%%bash\necho x',
    "percent percent alone": "%%\n@task\ndef t(llm):\n    pass\n",
    "magic with space": "% time\n@task\ndef t(llm):\n    pass\n",
    "bang alone": "!\n@task\ndef t(llm):\n    pass\n",
    "assignment from shell": "files = !ls\n@task\ndef t(llm):\n    pass\n",
    "magic inside string": '@task(name="S")\ndef s(llm):\n    x = """\n!pip install y\n%%bash\n"""\n',
    "double percent in comment": '# %% [markdown]\n# text\n# %%\n@task(name="Md")\ndef md(llm):\n    pass\n',
    "markdown cell": '# %% [markdown]\n# # Title\n\n# %%\n@task(name="Markdown After")\ndef m(llm):\n    pass\n',
    "decorator on class": "@task\nclass NotAFunction:\n    pass\n",
    "lambda assigned": "t = task(lambda llm: None)\n",
    "match statement": (
        'match 1:\n    case 1:\n        @task(name="In Match")\n        def in_match(llm):\n            pass\n'
    ),
    "task in if": 'if True:\n    @task(name="Conditional")\n    def c(llm):\n        pass\n',
}


def full_corpus() -> list[tuple[str, str]]:
    """Everything above (several hundred files)."""
    return decorator_corpus() + function_corpus() + sorted(SPECIAL.items())


SLUG_NAMES = [
    "My Task",
    "my_task",
    "my-task",
    "Über task!!",
    "a--b",
    "  x  ",
    "owner/my task",
    "What is Kaggle?",
    "MyTask",
    "Task 2.0",
    "grok-4.3",
    "it's",
    "1,000 tasks",
    "&amp; test",
    "&#39;quoted&#x27;",
    "ß",
    "Ærøskøbing",
    "日本語",
    "emoji 🚀 task",
    "!!!",
    "",
    "Ab Cd E1",
    " Private",
    "__dunder__",
    "tab\there",
    "new\nline",
    "ÀÉÎÕÜ ñ ç",
    "Привет мир",
    "مرحبا",
    "1,2,3",
    "a,b",
    "x" * 300,
]

TASK_ARGUMENTS = [
    "my-task",
    "My Task",
    "owner/my task",
    "Owner/My_Task",
    "a/b/c",
    "/task",
    "owner/",
    "/",
    "!!!",
    "alice/!!!",
    "Ü/ß",
]
