"""`?` help: every key binding of the dashboard, with its id (for the keymap) and pane."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from kbench_tui.tui.widgets.log_pane import LogPane
from kbench_tui.tui.widgets.log_view import LogView
from kbench_tui.tui.widgets.run_table import RunTable
from kbench_tui.tui.widgets.task_list import TaskList

# Where each group of bindings applies; the screen's own apply everywhere.
SECTIONS: tuple[tuple[str, type], ...] = (
    ("anywhere", object),
    ("task list", TaskList),
    ("run table", RunTable),
    ("log pane", LogPane),
    ("log pane", LogView),
)

EXTRA_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("↑ ↓  j k", "Move", "lists and log", ""),
    ("enter", "Select (task → runs → log)", "lists", ""),
    ("ctrl+p", "Command palette", "anywhere", ""),
)

FOOTNOTE = (
    'Remap keys in ~/.config/kbench-tui/config.toml:  [keymap]  binding-id = "key"   '
    "(ctrl+a/b/h/j/k/l stay free for tmux and vim)"
)


class HelpScreen(ModalScreen[None]):
    """Lists every binding; escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="close-help"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            # Text, not markup: "[keymap]" would otherwise be read as a style tag and vanish.
            yield Static(Text(FOOTNOTE), id="help-footnote")

    def on_mount(self) -> None:
        from kbench_tui.tui.screens.dashboard import DashboardScreen

        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "Where", "Binding id")
        for keys, description, where, binding_id in self._rows(DashboardScreen):
            table.add_row(
                Text(keys, style="bold"), description, where, Text(binding_id, style="dim")
            )
        table.focus()

    def _rows(self, screen_class: type) -> list[tuple[str, str, str, str]]:
        keymap = self.app._keymap  # the effective overrides, already normalised
        found: dict[str, tuple[list[str], str, str]] = {}
        for where, owner in SECTIONS:
            bindings = screen_class.BINDINGS if owner is object else owner.BINDINGS
            # make_bindings splits "G,end" into one Binding per key with the same id.
            for binding in Binding.make_bindings(bindings):
                if binding.id is None:
                    continue
                keys, _, _ = found.setdefault(binding.id, ([], binding.description, where))
                if binding.id in keymap:
                    keys[:] = keymap[binding.id].split(",")
                elif binding.key not in keys:
                    keys.append(binding.key)
        rows = [
            (", ".join(self._display(key) for key in keys), description, where, binding_id)
            for binding_id, (keys, description, where) in found.items()
        ]
        rows.extend(EXTRA_ROWS)
        return rows

    def _display(self, key: str) -> str:
        return self.app.get_key_display(Binding(key.strip(), ""))
