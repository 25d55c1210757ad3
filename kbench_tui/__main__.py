"""`python -m kbench_tui` is the same as the `kbench-tui` command."""

from kbench_tui.cli import entry

entry()
