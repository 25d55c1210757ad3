"""Lint: each mistake the Kaggle docs warn about is found on the right line, correct files pass."""

from __future__ import annotations

import pytest
from lint_examples import CORRECT, FULLY_CORRECT, SIMPLE

from kbench_tui.taskfile import Finding, lint


def codes(source: str) -> list[tuple[str, int, str]]:
    return [(f.code, f.line, f.severity) for f in lint(source)]


@pytest.mark.parametrize("label", sorted(FULLY_CORRECT))
def test_fully_correct_files_have_no_finding(label: str) -> None:
    assert lint(FULLY_CORRECT[label]) == []


@pytest.mark.parametrize("label", sorted(CORRECT))
def test_correct_files_have_no_error_or_warning(label: str) -> None:
    serious = [f for f in lint(CORRECT[label]) if f.severity in ("error", "warning")]
    assert serious == []


def test_info_notes_on_correct_files_say_what_they_are() -> None:
    assert codes(CORRECT["no cell markers"]) == [("KB009", 1, "info")]
    assert codes(CORRECT["bare assert"]) == [("KB007", 8, "info")]
    assert codes(CORRECT["subtask without store_task=False"]) == [("KB008", 10, "info")]
    assert codes(CORRECT["benchmark alias next to task"]) == [("KB011", 17, "info")]


def test_task_never_run_is_an_error_with_a_fix() -> None:
    source = SIMPLE.replace("geography_quiz.run(kbench.llm)\n", "")
    [finding] = lint(source)
    assert (finding.code, finding.line, finding.severity) == ("KB003", 5, "error")
    assert "never run" in finding.message and "records nothing" in finding.message
    assert "geography_quiz.run(kbench.llm)" in finding.hint


def test_commented_out_run_is_pointed_at() -> None:
    source = SIMPLE.replace("geography_quiz.run(", "# geography_quiz.run(")
    [finding] = lint(source)
    assert finding.code == "KB003"
    assert "line 14 has it commented out" in finding.hint


def test_run_only_inside_a_function_that_is_never_called_is_not_a_run() -> None:
    source = SIMPLE.replace(
        "geography_quiz.run(kbench.llm)\n", "def main():\n    geography_quiz.run(kbench.llm)\n"
    )
    assert [f.code for f in lint(source)] == ["KB003"]


def test_run_under_main_guard_is_an_error() -> None:
    source = SIMPLE.replace(
        "geography_quiz.run(kbench.llm)\n",
        'if __name__ == "__main__":\n    geography_quiz.run(kbench.llm)\n',
    )
    [finding] = lint(source)
    assert (finding.code, finding.line, finding.severity) == ("KB004", 15, "error")
    assert "line 14" in finding.message and "never executes" in finding.message


def test_main_guard_reached_through_a_helper_and_either_order() -> None:
    source = SIMPLE.replace(
        "geography_quiz.run(kbench.llm)\n",
        "def main():\n    geography_quiz.evaluate(llm=[kbench.llm], evaluation_data=None)\n\n"
        "if '__main__' == __name__:\n    main()\n",
    )
    assert codes(source) == [("KB004", 15, "error")]


def test_uncommented_magics_are_warnings_but_commented_ones_are_not() -> None:
    source = SIMPLE.replace(
        "import kaggle_benchmarks as kbench\n",
        "!pip install -q pronouncing\n%time x = 1\n# !pip install fine\n"
        "import kaggle_benchmarks as kbench\n%%bash\necho hi\n\n",
    )
    found = codes(source)
    assert found == [("KB005", 2, "warning"), ("KB005", 3, "warning"), ("KB005", 6, "warning")]
    messages = [f.message for f in lint(source)]
    assert "`!pip install -q pronouncing`" in messages[0]
    assert "Cell magic `%%bash`" in messages[2]


def test_returned_value_without_annotation_is_a_warning_with_a_suggestion() -> None:
    source = SIMPLE.replace(
        '        expectation="Should mention the Nile river."\n    )\n',
        '        expectation="Should mention the Nile river."\n    )\n'
        '    return "nile" in response.lower()\n',
    )
    [finding] = lint(source)
    assert (finding.code, finding.line, finding.severity) == ("KB006", 12, "warning")
    assert "-> bool" in finding.hint


@pytest.mark.parametrize(
    ("returned", "annotation"),
    [("0.5", "float"), ("3", "int"), ('{"a": 1}', "dict"), ("(8, 10)", "tuple[float, float]")],
)
def test_annotation_suggestions(returned: str, annotation: str) -> None:
    source = f"# %%\n@task\ndef t(llm):\n    return {returned}\n\nt.run(llm)\n"
    [finding] = lint(source)
    assert f"-> {annotation}" in finding.hint


def test_syntax_error_is_one_error_with_its_line() -> None:
    source = SIMPLE.replace("def geography_quiz(llm):", "def geography_quiz(llm)")
    [finding] = lint(source)
    assert (finding.code, finding.line, finding.severity) == ("KB001", 6, "error")
    assert "does not parse" in finding.message


def test_no_task_at_all() -> None:
    assert codes("# %%\nimport kaggle_benchmarks as kbench\nprint('hi')\n") == [
        ("KB002", 1, "error")
    ]
    assert codes("") == [("KB002", 1, "error"), ("KB009", 1, "info")]


def test_benchmark_alias_alone_cannot_be_pushed() -> None:
    source = SIMPLE.replace("@kbench.task(", "@kbench.benchmark(")
    [finding] = lint(source)
    assert (finding.code, finding.severity) == ("KB002", "error")
    assert "@kbench.benchmark" in finding.message and "@kbench.task" in finding.hint


def test_benchmark_alias_tasks_are_checked_like_tasks() -> None:
    source = SIMPLE.replace("@kbench.task(", "@kbench.benchmark(").replace(
        "geography_quiz.run(kbench.llm)\n",
        "@task\ndef pushed(llm):\n    pass\n\npushed.run(kbench.llm)\n",
    )
    assert ("KB003", 5, "error") in codes(source)


def test_bom_is_an_error_and_the_rest_is_still_checked() -> None:
    found = codes("\ufeff" + SIMPLE.replace("geography_quiz.run(kbench.llm)\n", ""))
    assert found == [("KB010", 1, "error"), ("KB003", 5, "error")]


def test_duplicate_slugs_are_a_warning() -> None:
    source = (
        SIMPLE
        + '\n@kbench.task(name="Geography Quiz")\ndef again(llm):\n    pass\n\nagain.run(kbench.llm)\n'
    )
    assert ("KB012", 16, "warning") in codes(source)


def test_method_and_nested_tasks_are_not_required_to_run_at_top_level() -> None:
    source = (
        "# %%\nimport kaggle_benchmarks as kbench\n\nclass Suite:\n    @kbench.task\n"
        "    def in_class(self, llm):\n        pass\n\ndef factory():\n    @kbench.task\n"
        "    def nested(llm):\n        pass\n    return nested\n\n@kbench.task\ndef main_task(llm):\n"
        "    pass\n\nmain_task.run(kbench.llm)\n"
    )
    assert lint(source) == []


def test_findings_are_sorted_and_complete() -> None:
    bad = (
        "import kaggle_benchmarks as kbench\n!pip install x\n\n@kbench.task\ndef a(llm):\n"
        "    assert 1 == 1\n    return 1\n\n@kbench.task\ndef b(llm):\n    a.run(llm)\n"
        'if __name__ == "__main__":\n    b.run(kbench.llm)\n'
    )
    found = lint(bad)
    assert all(isinstance(f, Finding) and f.hint for f in found)
    assert [(f.code, f.line) for f in found] == [
        ("KB009", 1),
        ("KB005", 2),
        ("KB007", 6),
        ("KB006", 7),
        ("KB008", 11),
        ("KB004", 13),
    ]


def test_lint_never_crashes_on_the_parity_corpus() -> None:
    from task_corpus import full_corpus

    for label, source in full_corpus():
        for finding in lint(source):
            assert finding.line >= 1, label
            assert finding.severity in ("error", "warning", "info"), label
            assert finding.code.startswith("KB") and finding.message and finding.hint, label
