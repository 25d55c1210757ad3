"""The start-up floor: a plain Textual app painting a 1,000-row table, no network.

Same columns and the same row texts as the dashboard's task list (newest first), so the
only difference from `kbench-tui` is everything the product adds: its screens, the
client, the simulator's round trips and the poller.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header


class FloorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        table.add_columns("Task", "State", "Ver", "Created")
        table.add_rows(
            (f"task-{index:04d}", "COMPLETED", "1", "2026-02-24") for index in range(1000, 0, -1)
        )
        table.focus()


if __name__ == "__main__":
    FloorApp().run()
