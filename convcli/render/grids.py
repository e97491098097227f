"""Grids of numbers as Rich tables."""
from __future__ import annotations

from typing import Callable

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..traces.model import fmt

WINDOW = "bold black on yellow"
PADDING = "dim italic"
MARKED = "bold red"
CURRENT = "bold black on green"


def grid_table(values: np.ndarray, title: str | None = None, *, row_labels=None, col_labels=None,
               cell: Callable[[int, int, float], Text] | None = None) -> Table:
    """A borderless table of a 2-D array, with optional row/column labels and per-cell styling."""
    h, w = values.shape
    table = Table(box=box.SIMPLE_HEAD if col_labels else None, show_header=col_labels is not None,
                  min_width=len(title) if title else None,
                  title=title, title_justify="left", padding=(0, 1), pad_edge=False, collapse_padding=True)
    rows = []
    for r in range(h):
        cells = [cell(r, c, values[r, c]) if cell else Text(fmt(values[r, c])) for c in range(w)]
        if row_labels is not None:
            cells.insert(0, Text(row_labels[r]))
        rows.append(cells)
    headers = ([""] if row_labels is not None else []) + [col_labels[c] if col_labels else "" for c in range(w)]
    for j, header in enumerate(headers):
        # never squeeze a number into an ellipsis: a column is as wide as its widest cell
        widest = max([len(header)] + [r[j].cell_len for r in rows])
        table.add_column(header, justify="right", header_style="dim", no_wrap=True, min_width=widest,
                         style="dim" if (row_labels is not None and j == 0) else None)
    for cells in rows:
        table.add_row(*cells)
    return table


def matrix_table(values: np.ndarray, title: str | None = None) -> Table:
    h, w = values.shape
    return grid_table(values, title, row_labels=[str(r) for r in range(h)], col_labels=[str(c) for c in range(w)])


def print_matrix(console: Console, result: np.ndarray, title: str = "result") -> None:
    """Print a small 2-D or 3-D result, one table per channel."""
    if result.ndim == 2:
        console.print(matrix_table(result, f"{title} {result.shape[0]}×{result.shape[1]}"))
        return
    for c in range(result.shape[2]):
        console.print(matrix_table(result[:, :, c], f"{title} {result.shape[0]}×{result.shape[1]}, channel {c}"))
