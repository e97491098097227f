"""Draw any :class:`convcli.traces.Trace` the way the slides do.

Plain text stays readable without colour: window cells are in [brackets], padding cells in
(parentheses), the max-pool winner gets a ``*``, and the output cell being computed is <marked>.
"""
from __future__ import annotations

import io

import numpy as np
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..traces.model import GridView, Step, Trace, fmt
from .grids import CURRENT, MARKED, PADDING, WINDOW, grid_table


def _input_cell(view: GridView, window: set, marked: set):
    def cell(r: int, c: int, v: float) -> Text:
        text = fmt(v)
        style = ""
        if view.pad_mask is not None and view.pad_mask[r, c]:
            text, style = f"({text})", PADDING
        if (r, c) in marked:
            text, style = f"{text}*", MARKED
        if (r, c) in window:
            text = f"[{text}]"
            style = f"{style} {WINDOW}".strip() if (r, c) not in marked else f"{MARKED} on yellow"
        return Text(text, style=style)
    return cell


SMALL_OUTPUT = 256     # outputs with at most this many cells are drawn (and exported) whole


def output_window(trace: Trace) -> tuple[int, int, int, int]:
    """Rows r0..r1 and columns c0..c1 of the output to draw: all of a small output, else the box
    around the output cells of the shown steps. Every view and export shows this part and no more,
    so their size follows --max-steps and --region, not the image."""
    oh, ow = trace.output_shape
    cells = [c for s in trace.steps for c in (s.out_cells or [s.out_pos])]
    if oh * ow <= SMALL_OUTPUT or not cells:
        return 0, oh, 0, ow
    return (min(r for r, _ in cells), max(r for r, _ in cells) + 1,
            min(c for _, c in cells), max(c for _, c in cells) + 1)


def _output_table(trace: Trace, upto: int, partial: np.ndarray | None) -> Table:
    """The output grid after step ``upto``: cells not yet computed show a dot."""
    r0, r1, c0, c1 = output_window(trace)
    done = {c for s in trace.steps[:upto + 1] for c in (s.out_cells or [s.out_pos])}
    step = trace.steps[upto]
    current = set(step.out_cells or [step.out_pos])
    values = trace.output_values if partial is None else partial

    def cell(r: int, c: int, _v: float) -> Text:
        pos = (r + r0, c + c0)
        if pos not in done:
            return Text("·", style="dim")
        text = fmt(values[pos])
        return Text(f"<{text}>", style=CURRENT) if pos in current else Text(text)

    return grid_table(np.zeros((r1 - r0, c1 - c0)), trace.output_title,
                      row_labels=[str(r) for r in range(r0, r1)], col_labels=[str(c) for c in range(c0, c1)],
                      cell=cell)


def render_step(trace: Trace, index: int, partial: np.ndarray | None = None, *, width: int | None = None) -> Group:
    """One step: input with the window, the kernel, the output so far, the written-out sum.

    Side by side, as on a slide; stacked when that would be wider than ``width`` columns.
    """
    step: Step = trace.steps[index]
    view = trace.input
    inp = grid_table(view.values, view.title, row_labels=view.row_labels, col_labels=view.col_labels,
                     cell=_input_cell(view, set(step.cells), set(step.marked)))
    parts: list = [inp]
    if trace.kernel is not None:
        parts += [Text(f"\n\n{trace.operator}", style="bold"),
                  grid_table(trace.kernel.values, trace.kernel.title)]
    parts += [Text("\n\n=", style="bold"), _output_table(trace, index, partial)]
    row = _side_by_side(parts)
    if width is not None and _natural_width(row) > width:
        row = Group(inp, _side_by_side(parts[1:]))
    if step.out_cells is not None and len(step.out_cells) != 1:   # a scatter step writes several cells
        rows = [r for r, _ in step.out_cells] or [step.out_pos[0]]
        cols = [c for _, c in step.out_cells] or [step.out_pos[1]]
        where = f"output[{min(rows)}..{max(rows)}, {min(cols)}..{max(cols)}]"
    else:
        where = f"output[{step.out_pos[0]}, {step.out_pos[1]}]"
    head = Text.assemble((f"Step {index + 1} of {trace.total_steps}", "bold"), f" · {where}",
                         (f" · {step.move}" if step.move else ""))
    return Group(head, row, Text(step.expression, style="bold"), Text(""))


def _side_by_side(parts: list) -> Table:
    row = Table.grid(padding=(0, 2))
    for _ in parts:
        row.add_column(vertical="top", no_wrap=True)
    row.add_row(*parts)
    return row


def _natural_width(renderable) -> int:
    wide = Console(width=10_000, file=io.StringIO())
    return Measurement.get(wide, wide.options, renderable).maximum


def print_trace_header(console: Console, trace: Trace) -> None:
    """The title and the notes."""
    console.print(Text(trace.title, style="bold underline"))
    for note in trace.notes:
        console.print(Text(f"  {note}", style="dim"))
    console.print()


def print_trace_footer(console: Console, trace: Trace) -> None:
    """The output-size formulas and the whole result (when small)."""
    if trace.formulas:
        console.print(Text("Output size", style="bold"))
        for f in trace.formulas:
            console.print(f"  {f}")
        console.print()
    if trace.output_values is not None and trace.output_values.size <= 400:
        h, w = trace.output_values.shape[:2]
        console.print(grid_table(trace.output_values, f"{trace.output_title}",
                                 row_labels=[str(r) for r in range(h)], col_labels=[str(c) for c in range(w)]))


def print_trace(console: Console, trace: Trace, *, partial_outputs: list | None = None) -> None:
    """Print the header, every step, then the output-size formula and the result.

    ``partial_outputs`` (default: ``trace.partial_outputs``) gives the running output values after each
    step, for views whose output cells receive several contributions; cells not yet written show a dot.
    """
    if partial_outputs is None:
        partial_outputs = trace.partial_outputs
    print_trace_header(console, trace)
    for i in range(len(trace.steps)):
        console.print(render_step(trace, i, partial_outputs[i] if partial_outputs else None,
                                  width=console.width))
    print_trace_footer(console, trace)
