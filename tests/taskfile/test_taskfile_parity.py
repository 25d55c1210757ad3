"""Parity with the kaggle CLI 2.2.4 itself: task names, slugs, push refusals, notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from task_corpus import SLUG_NAMES, TASK_ARGUMENTS, full_corpus

from kbench_tui import taskfile
from kbench_tui.slugs import InvalidTaskArgument, parse_task_argument
from kbench_tui.taskfile import TaskFileError, task_names, to_notebook, validate_push

CORPUS = full_corpus()
IDS = [label for label, _ in CORPUS]


def test_corpus_is_broad() -> None:
    assert len(CORPUS) > 400
    assert len({source for _, source in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("label", "source"), CORPUS, ids=IDS)
def test_task_names_match_the_cli(kaggle_api: type, label: str, source: str) -> None:
    assert task_names(source) == kaggle_api._get_task_names_from_file(source)


def test_documented_example_names(kaggle_api: type) -> None:
    """The API reference's worked example (§8.1), plus BFS order and double decorators."""
    from task_corpus import BFS_ORDER

    expected = [
        "What is Kaggle?",
        "Positional Name",
        "My Simple Task",
        "Var Named",
        "42",
        "Twice A",
        "Twice B",
        "In Class",
        "Nested Deep",
    ]
    assert task_names(BFS_ORDER) == expected == kaggle_api._get_task_names_from_file(BFS_ORDER)


def test_title_casing_and_falsy_literals() -> None:
    source = (
        "@task\ndef aB_cD_e1(llm): pass\n@task\ndef _private(llm): pass\n"
        '@task(name="")\ndef empty_name(llm): pass\n@task("Pos", name=None)\ndef kw_none(llm): pass\n'
        "@task(0)\ndef zero(llm): pass\n@task(3.5)\ndef floaty(llm): pass\n"
    )
    assert task_names(source) == ["Ab Cd E1", " Private", "Empty Name", "Pos", "Zero", "3.5"]


def test_nul_character_gives_no_names(kaggle_api: type) -> None:
    """ast rejects a NUL character: SyntaxError on 3.11.4+ (the CLI then finds no names),
    ValueError on older Pythons (the CLI crashes). We find no names on every version."""
    source = '@task(name="x")\ndef t(llm): pass\n\x00'
    try:
        cli_names = kaggle_api._get_task_names_from_file(source)
    except ValueError:
        cli_names = []
    assert task_names(source) == cli_names == []


@pytest.mark.parametrize("name", SLUG_NAMES + [n for _, s in CORPUS[:5] for n in task_names(s)])
def test_slugify_matches_the_cli(kaggle_api: type, name: str) -> None:
    cli_module = __import__(kaggle_api.__module__, fromlist=["slugify"])
    assert taskfile.slugify(name) == cli_module.slugify(name)


@pytest.mark.parametrize("argument", TASK_ARGUMENTS + SLUG_NAMES)
def test_owner_task_argument_matches_the_cli(kaggle_api: type, argument: str) -> None:
    """`owner/task` keeps its owner for run/status/log/download/publish (§9.2)."""
    try:
        expected = kaggle_api._slugify_task(argument)
    except ValueError as error:
        with pytest.raises(InvalidTaskArgument) as ours:
            parse_task_argument(argument)
        assert str(ours.value) == str(error)
        return
    ref = parse_task_argument(argument)
    assert str(ref) == expected
    slug = kaggle_api._make_task_slug(expected)
    assert (ref.owner or "", ref.task) == (slug.owner_slug, slug.task_slug)


def _strip_ids(notebook: str) -> str:
    return re.sub(r'"id": "[0-9a-f]+"', '"id": "<id>"', notebook)


@pytest.mark.parametrize(("label", "source"), CORPUS[::7] + CORPUS[-40:], ids=IDS[::7] + IDS[-40:])
def test_notebook_is_byte_identical_up_to_cell_ids(
    kaggle_api: type, label: str, source: str
) -> None:
    ours = to_notebook(source)
    theirs = kaggle_api._convert_py_to_notebook(source)
    assert _strip_ids(ours) == _strip_ids(theirs)
    notebook = json.loads(ours)
    assert notebook["metadata"]["kernelspec"] == {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    assert notebook["nbformat"] == 4
    assert all(re.fullmatch(r"[0-9a-f]{8}", cell["id"]) for cell in notebook["cells"])


def test_notebook_cells_follow_percent_markers() -> None:
    source = "import os\n\n# %%\nx = 1\n\n# %% [markdown]\n# Title\n\n# %%\n!pip install y\n"
    cells = json.loads(to_notebook(source))["cells"]
    assert [c["cell_type"] for c in cells] == ["code", "code", "markdown", "code"]
    assert cells[-1]["source"] == ["!pip install y"]


class _Stop(Exception):
    """Raised instead of building an HTTP client: the CLI's local checks are over."""


def _cli_push(kaggle_api: type, task: str, file: str, capsys: pytest.CaptureFixture[str]):
    """Run the CLI's push up to its first network call: (error or None, stderr warning)."""
    api = kaggle_api()

    def no_client() -> None:
        raise _Stop

    api.build_kaggle_client = no_client
    try:
        api.benchmarks_tasks_push_cli(task, file)
    except ValueError as error:
        return str(error), capsys.readouterr().err
    except _Stop:
        return None, capsys.readouterr().err
    raise AssertionError("the CLI push neither refused nor reached the network")


def _write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_bytes(source.encode("utf-8"))
    return str(path)


TWO_TASKS = (
    '# %%\nimport kaggle_benchmarks as kbench\n\n@kbench.task(name="My Task")\ndef my_task(llm):\n'
    '    pass\n\n@kbench.task(name="Other one")\ndef other(llm):\n    pass\n'
)

PUSH_CASES = [
    ("my-task", "t.py", TWO_TASKS),
    ("My Task", "t.py", TWO_TASKS),
    ("my_task", "t.py", TWO_TASKS),
    ("  my task  ", "t.py", TWO_TASKS),
    ("other-one", "t.py", TWO_TASKS),
    ("missing", "t.py", TWO_TASKS),
    ("my-task", "t.txt", TWO_TASKS),
    ("my-task", "t.PY", TWO_TASKS),
    ("my-task", "t.py", "x = 1\n"),
    ("my-task", "t.py", ""),
    ("my-task", "t.py", "@task\ndef my_task(llm):\n    return (\n"),
    ("my-task", "t.py", TWO_TASKS.replace("\n", "\r\n")),
    ("my-task", "t.py", TWO_TASKS.replace("\n", "\r")),
    ("my-task", "t.py", "\ufeff" + TWO_TASKS),
    ("alice/My Task", "t.py", TWO_TASKS),
    ("alice/My Task", "t.py", '@task(name="alice/My Task")\ndef t(llm):\n    pass\n'),
    ("my-task", "t.py", "@kbench.benchmark\ndef my_task(llm):\n    pass\n"),
    ("uber-task", "t.py", '@task(name="Über task!!")\ndef u(llm):\n    pass\n'),
    ("Über task!!", "t.py", '@task(name="Über task!!")\ndef u(llm):\n    pass\n'),
    ("my-task", "t.py", '@task(name="My Task")\ndef a(llm): pass\n@task\ndef my_task(llm): pass\n'),
    ("!!!", "t.py", '@task(name="!!!")\ndef bang(llm): pass\n'),
]


@pytest.mark.parametrize(
    ("task", "name", "source"),
    PUSH_CASES,
    ids=[f"{t}|{n}|{i}" for i, (t, n, _) in enumerate(PUSH_CASES)],
)
def test_push_validation_matches_the_cli(
    kaggle_api: type,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    task: str,
    name: str,
    source: str,
) -> None:
    file = _write(tmp_path, name, source)
    cli_error, cli_warning = _cli_push(kaggle_api, task, file, capsys)
    try:
        plan = validate_push(task, file)
    except TaskFileError as error:
        assert cli_error is not None, f"we refused, the CLI accepted: {error}"
        # Our message is the CLI's, word for word, plus at most one parenthesised hint where
        # the CLI's words alone mislead: a BOM, a parse error, an owner/ prefix, @benchmark.
        assert str(error).startswith(cli_error)
        hint = str(error)[len(cli_error) :]
        expect_hint = (
            source.startswith("\ufeff")
            or "return (" in source
            or ("/" in task and "alice/" not in source)
            or "@kbench.benchmark" in source
        )
        assert bool(hint) == expect_hint
        assert not hint or re.fullmatch(r" \(.+\)", hint)
        return
    assert cli_error is None, f"the CLI refused, we accepted: {cli_error}"
    assert plan.slug == taskfile.slugify(task)
    assert plan.ref.owner is None and plan.ref.task == plan.slug
    # The CLI's warning, printed as "\n<line1>\n<line2>\n" on stderr when the name changed.
    assert "\n".join(plan.notes) == cli_warning.strip("\n")
    assert plan.renamed == (plan.slug != task)


def test_missing_file_matches_the_cli(
    kaggle_api: type, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(tmp_path / "absent.py")
    cli_error, _ = _cli_push(kaggle_api, "t", file, capsys)
    with pytest.raises(TaskFileError) as ours:
        validate_push("t", file)
    assert str(ours.value) == cli_error == f"File '{file}' does not exist."


def test_directory_is_named_as_such_unlike_the_cli(
    kaggle_api: type, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deliberate divergence: the CLI calls a directory missing; we say what it is."""
    folder = tmp_path / "tasks.py"
    folder.mkdir()
    cli_error, _ = _cli_push(kaggle_api, "t", str(folder), capsys)
    assert cli_error == f"File '{folder}' does not exist."
    with pytest.raises(TaskFileError, match="is a directory, not a task file"):
        validate_push("t", folder)


def test_not_found_lists_the_slugs_once_each(tmp_path: Path) -> None:
    file = _write(tmp_path, "t.py", PUSH_CASES[-2][2] + '@task(name="Second")\ndef s(llm): pass\n')
    with pytest.raises(TaskFileError) as error:
        validate_push("nope", file)
    assert str(error.value).endswith("Available tasks: my-task, second")


def test_the_oracle_loads_without_authenticating_or_any_network(tmp_path: Path) -> None:
    """Even with an access token in the environment (which `import kaggle` would introspect
    over the network), loading the oracle never runs kaggle/__init__.py nor opens a socket."""
    import os
    import subprocess
    import sys

    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise SystemExit('network attempted')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from kaggle_oracle import kaggle_api_class\n"
        "api = kaggle_api_class()\n"
        "assert api._get_task_names_from_file('@task\\ndef a_b(llm): pass\\n') == ['A B']\n"
        "print('kaggle' in sys.modules)\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "KAGGLE_API_TOKEN": "would-be-introspected"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
