"""Column sizing for DataTables (the run table): a flexible column takes what the rest leave.

The task list is a `LineTable`, which sizes its own columns (`widgets/line_table.py`).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def fit_column(table: DataTable[Any], key: str, *, minimum: int) -> int:
    """Give column `key` the width left by the other columns; returns the width set.

    A vertical scrollbar is always reserved, so a table that grows past its height does not
    gain a horizontal scrollbar as well. Below `minimum` the column stays at `minimum`.
    """
    available = table.size.width - table.styles.scrollbar_size_vertical
    others = sum(
        column.get_render_width(table)
        for column_key, column in table.columns.items()
        if column_key != ColumnKey(key)
    )
    width = max(minimum, available - others - 2 * table.cell_padding)
    column = table.columns[ColumnKey(key)]
    if table.size.width and (column.width != width or column.auto_width):
        column.width = width
        column.auto_width = False
        # DataTable has no public way to resize a column: flag the dimensions for
        # recomputation (as add_column does), or the virtual width keeps the old size.
        table._require_update_dimensions = True
        table.refresh()
    return width
