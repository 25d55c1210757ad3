"""The README tells the truth: its commands, keys, flags and screenshots match the code.

A newcomer reads the README first. These tests keep it from drifting: the two commands at
the top, every binding id of the key table, every `export`/`sim` flag it mentions, the
`--help` of each command, and every screenshot it shows — which must be the one
`scripts/screenshots.py` generated (its sha256 is in `screenshots/MANIFEST.txt`).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from textual.binding import Binding

from kbench_tui import __version__
from kbench_tui.cli import main
from kbench_tui.export_options import add_export_arguments
from kbench_tui.sim.options import add_sim_arguments
from kbench_tui.tui.screens.dashboard import DashboardScreen
from kbench_tui.tui.widgets.log_pane import LogPane
from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.tui.widgets.run_table import RunTable
from kbench_tui.tui.widgets.task_list import TaskList

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCREENSHOTS = ROOT / "screenshots"

# The README writes keys as a person reads them; the app as Textual names them.
KEY_NAMES = {
    "/": "slash",
    "?": "question_mark",
    "esc": "escape",
    "↑": "up",
    "↓": "down",
    "end": "end",
    "home": "home",
}


def section(title_start: str) -> str:
    """The README text from the `## ` heading starting with `title_start` to the next one."""
    match = re.search(rf"^## {re.escape(title_start)}.*?(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section '## {title_start}…'"
    return match.group(0)


def manifest() -> dict[str, str]:
    """`screenshots/MANIFEST.txt` as {file name: sha256}."""
    entries = {}
    for line in (SCREENSHOTS / "MANIFEST.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, digest, _description = line.split(maxsplit=2)
            entries[name] = digest
    return entries


def app_bindings() -> dict[str, list[str]]:
    """Every binding id of the dashboard and its panes, with its keys."""
    keys: dict[str, list[str]] = {}
    for owner in (DashboardScreen, TaskList, RunTable, LogPane, LogView):
        for binding in Binding.make_bindings(owner.BINDINGS):
            if binding.id is not None:
                keys.setdefault(binding.id, []).append(binding.key)
    return keys


def key_table() -> list[tuple[list[str], list[str]]]:
    """(keys, binding ids) of each row of the README's key table, as written there."""
    rows = []
    for line in section("Keys").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("key", "---"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        ids = re.findall(r"`([a-z][a-z-]*)`", cells[2])
        rows.append(([key for group in keys for key in group.split()], ids))
    return rows


def app_key(readme_key: str) -> str:
    """A README key (`End`, `/`, `ctrl+r`, `P`) in Textual's spelling."""
    if len(readme_key) == 1 and readme_key.isalpha():
        return readme_key  # `p` and `P` are different keys
    lowered = readme_key.lower()
    return KEY_NAMES.get(lowered, lowered)


def option_strings(add_arguments) -> set[str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return {option for action in parser._actions for option in action.option_strings}


def flags_in(text: str) -> set[str]:
    """Every `--long` and `-x` option a piece of README text mentions."""
    long_flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    short_flags = set(re.findall(r"(?<=[\s\[`])-[a-zA-Z](?=[\s\]`])", text))
    return long_flags | short_flags


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`kbench-tui ARGV` in-process: (exit code, stdout)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    return code, capsys.readouterr().out


# -- the two commands at the top ------------------------------------------------------------


def test_readme_starts_with_the_demo_and_the_test_commands() -> None:
    top = "\n".join(README.splitlines()[:8])
    demo = next(line for line in top.splitlines() if "kbench-tui --demo" in line)
    assert "python3 -m venv .venv" in demo
    assert "pip install -e ." in demo
    tests = next(line for line in top.splitlines() if "pytest" in line)
    assert "python3 -m venv .venv" in tests
    assert "pip install -e '.[test]'" in tests
    assert "python -m pytest" in tests


# -- screenshots ----------------------------------------------------------------------------


def test_every_screenshot_the_readme_shows_came_from_the_script() -> None:
    shown = re.findall(r"\]\((screenshots/[^)\s]+)\)", README)
    assert "screenshots/dashboard.svg" in shown
    digests = manifest()
    for reference in shown:
        path = ROOT / reference
        assert path.is_file(), f"README shows {reference}, which does not exist"
        assert path.name in digests, f"{reference} is not in MANIFEST.txt"
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        assert actual == digests[path.name], (
            f"{reference} differs from what scripts/screenshots.py wrote: run it again"
        )


def test_every_svg_in_screenshots_is_in_the_manifest_and_shows_no_secret() -> None:
    digests = manifest()
    svgs = sorted(SCREENSHOTS.glob("*.svg"))
    assert {path.name for path in svgs} == set(digests)
    for path in svgs:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digests[path.name], path.name
        text = path.read_text(encoding="utf-8")
        assert "demo-token" not in text, f"{path.name} shows the access token"


def test_the_screenshot_script_reproduces_the_help_screenshot() -> None:
    # One scene (a couple of seconds) proves the script is deterministic; the script's
    # `--check` regenerates it into a temporary directory and compares the sha256.
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--check", "--only", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


# -- keys -----------------------------------------------------------------------------------


def test_every_binding_id_in_the_key_table_is_a_binding_of_the_app() -> None:
    bindings = app_bindings()
    rows = key_table()
    assert len(rows) > 15
    for _keys, ids in rows:
        for binding_id in ids:
            assert binding_id in bindings, (
                f"README names binding id {binding_id!r}; the app has none"
            )


def test_the_key_table_names_the_keys_the_app_binds() -> None:
    bindings = app_bindings()
    for keys, ids in key_table():
        written = {app_key(key) for key in keys}
        for binding_id in ids:
            for key in bindings[binding_id]:
                assert key in written, f"{binding_id} is bound to {key!r}; README says {keys}"


def test_every_dashboard_action_is_in_the_key_table() -> None:
    documented = {binding_id for _keys, ids in key_table() for binding_id in ids}
    # The README groups the cursor moves of each pane into one `↑ ↓ / j k` row.
    moves = {"task-down", "task-up", "run-down", "run-up", "log-down", "log-up"}
    missing = set(app_bindings()) - documented - moves
    assert not missing, f"bindings missing from the README's key table: {sorted(missing)}"


# -- flags ----------------------------------------------------------------------------------


def test_every_export_flag_the_readme_mentions_exists() -> None:
    text = (
        section("Headless export")
        + "\n"
        + "\n".join(line for line in README.splitlines() if "kbench-tui export" in line)
    )
    mentioned = flags_in(text)
    assert {"--format", "--with-results", "--fail-on-error", "-o", "-m"} <= mentioned
    unknown = mentioned - option_strings(add_export_arguments)
    assert not unknown, f"README mentions export flags the parser lacks: {sorted(unknown)}"


def test_every_sim_flag_the_readme_mentions_exists() -> None:
    mentioned = flags_in(section("The simulator"))
    assert {"--seed", "--speed", "--fault"} <= mentioned
    unknown = mentioned - option_strings(add_sim_arguments) - {"--demo"}
    assert not unknown, f"README mentions sim flags the parser lacks: {sorted(unknown)}"


# -- --help and --version -------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "--version")
    assert code == 0
    assert out.strip() == f"kbench-tui {__version__}"


def test_top_level_help_names_the_modes_and_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "--help")
    assert code == 0
    for text in (
        "--demo",
        "--endpoint",
        "export",
        "sim",
        "Dashboard keys",
        "config.toml",
        "HTTPS_PROXY",
    ):
        assert text in out
    for binding_id in ("push", "download", "results", "publish"):
        assert binding_id in out


def test_export_help_lists_every_option_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run_cli(capsys, "export", "--help")
    assert code == 0
    for option in option_strings(add_export_arguments):
        assert option in out
    assert "Exit codes" in out
    for line in ("0  exported", "3  credentials missing or rejected", "4  service unreachable"):
        assert line in out


def test_sim_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "sim", "--help")
    assert code == 0
    for option in option_strings(add_sim_arguments):
        assert option in out
    assert "kbench-sim listening on" in out
    assert "demo-token" in out
