"""`convcli chain --trace`: a receptive field printed stage by stage, or exported (text, markdown, json)."""
from __future__ import annotations

import os

from rich.console import Console
from rich.text import Text

from ..errors import ParameterError
from ..traces.receptive import IN, ReceptiveTrace, trace_lines, trace_markdown
from .present import dumps_compact

EXPORTS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".json": "json"}


def export_format(path: str) -> str:
    """--trace-out's format from its extension: .json, .md/.markdown, anything else plain text."""
    return EXPORTS.get(os.path.splitext(path)[1].lower(), "text")


def export_receptive(trace: ReceptiveTrace, fmt_name: str) -> str:
    if fmt_name == "json":
        return dumps_compact(trace.as_dict()) + "\n"
    if fmt_name == "markdown":
        return trace_markdown(trace)
    if fmt_name == "text":
        return "\n".join(trace_lines(trace)) + "\n"
    raise ParameterError(f"a receptive-field trace exports as text, markdown or json, not {fmt_name}")


def print_receptive(console: Console, trace: ReceptiveTrace) -> None:
    """The plain lines, with the region's cells highlighted on a colour terminal."""
    for i, line in enumerate(trace_lines(trace)):
        text = Text(line)
        if i == 0:
            text.stylize("bold")
        elif line.startswith(("input", "after stage")):
            text.stylize("bold cyan")
        elif line.startswith("  read by"):
            text.stylize("dim")
        else:
            text.highlight_words([IN], "bold yellow")
        console.print(text)


FIELD_CONVENTION = (
    "r: input cells one output cell sees (padding cells included); j: input cells between the fields of "
    "neighbouring output cells; start: the centre of output cell 0's field, counting input cells from 0 "
    "(negative: in the padding); output cell i is centred at start + i·j. Y×X when the axes differ. "
    "tconv and up sample between cells (j < 1): r and start are spans and centres, and a field holds fewer "
    "whole cells (none where an interpolation weight is 0); `convcli chain --trace` finds the exact cells.")


def _both(a, b) -> str:
    from ..shapes import num_text
    return num_text(a) if a == b else f"{num_text(a)}×{num_text(b)}"


def print_field_table(console: Console, rows: list) -> None:
    """`convcli shape`: each layer's receptive field (size, jump, start) with the formulas in numbers."""
    from rich.table import Table

    table = Table(title="receptive fields (in input cells)", title_justify="left")
    for col, justify in (("#", "right"), ("layer", "left"), ("r", "right"), ("j", "right"), ("start", "right"),
                         ("formulas", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for i, row in enumerate(rows):
        fy, fx = row.field_y, row.field_x
        table.add_row(str(i) if i else "", row.layer, _both(fy.r, fx.r), _both(fy.j, fx.j),
                      _both(fy.start, fx.start), "\n".join(row.field_formulas))
    console.print(table)
    console.print(Text(FIELD_CONVENTION, style="dim"))
