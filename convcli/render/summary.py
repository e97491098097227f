"""The model-summary table of `convcli chain --summary`."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..traces.model import fmt


def print_chain_summary(console: Console, source: str, rows: list[dict]) -> None:
    """rows: {"stage", "shape", "formulas", "min", "max", "mean"} per stage (the input first)."""
    table = Table(title=f"chain on {source}", title_justify="left")
    for col, justify in (("#", "right"), ("stage", "left"), ("output shape", "left"),
                         ("output size", "left"), ("min", "right"), ("max", "right"), ("mean", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for i, row in enumerate(rows):
        table.add_row(str(i) if i else "", row["stage"], "×".join(str(s) for s in row["shape"]),
                      "\n".join(row["formulas"]) or "same as its input", fmt(row["min"]), fmt(row["max"]),
                      fmt(row["mean"]))
    console.print(table)


def print_shape_table(console: Console, rows: list) -> None:
    """`convcli shape`: each layer, the shape after it (C×H×W) and the formulas with the numbers put in."""
    table = Table(title="shapes (C×H×W)", title_justify="left")
    for col, justify in (("#", "right"), ("layer", "left"), ("output shape", "left"), ("output size", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for i, row in enumerate(rows):
        table.add_row(str(i) if i else "", row.layer, "×".join(str(s) for s in row.shape),
                      "\n".join(row.formulas) or "")
    console.print(table)
