"""The activate report and trace as Rich tables."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..ops.activations import SATURATION_THRESHOLD, ActivationStats
from ..traces.activation import ActivationTrace
from ..traces.model import fmt

STATUS_STYLE = {"dead": "bold red", "saturated": "yellow"}


def _pct(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100.0 * part / whole:.1f}%)" if whole else "0"


def print_report(console: Console, stats: ActivationStats, *, source: str, mapping: str = "") -> None:
    """A heading, a table of the output and gradient ranges, then the dead and saturated counts."""
    alpha = f", α = {stats.alpha:g}" if stats.alpha is not None else ""
    what = "g'(x)" if stats.derivative else "g(x)"
    console.print(Text(f"activate {stats.fn}{alpha} on {source} → {what}", style="bold"))
    if mapping:
        console.print(Text(f"  {mapping}", style="dim"))
    table = Table(box=box.SIMPLE_HEAD, show_header=True, pad_edge=False)
    table.add_column("", style="bold")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    table.add_column("mean", justify="right")
    table.add_row("g(x)", fmt(stats.min, 6), fmt(stats.max, 6), fmt(stats.mean, 6))
    table.add_row("g'(x)", fmt(stats.gradient_min, 6), fmt(stats.gradient_max, 6), fmt(stats.gradient_mean, 6))
    console.print(table)
    console.print(Text.assemble("  dead (g = 0 and g' = 0): ", (_pct(stats.dead, stats.count), STATUS_STYLE["dead"])))
    console.print(Text.assemble(f"  saturated (|g'| < {SATURATION_THRESHOLD:g}): ",
                                (_pct(stats.saturated, stats.count), STATUS_STYLE["saturated"])))


def print_activation_trace(console: Console, trace: ActivationTrace) -> None:
    console.print(Text(trace.title, style="bold underline"))
    for f in trace.formulas:
        console.print(f"  {f}")
    for note in trace.notes:
        console.print(Text(f"  {note}", style="dim"))
    with_pixels = any(r.pixel is not None for r in trace.rows)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("cell", justify="left")
    if with_pixels:
        table.add_column("pixel", justify="right")
    for name in ("x", "g(x)", "g'(x)", ""):
        table.add_column(name, justify="right" if name else "left")
    for r in trace.rows:
        cells = [",".join(str(p) for p in r.position)]
        if with_pixels:
            cells.append(fmt(r.pixel, 6))
        cells += [fmt(r.x, 6), fmt(r.y, 6), fmt(r.d, 6)]
        cells.append(Text(r.status, style=STATUS_STYLE.get(r.status, "")))
        table.add_row(*cells)
    console.print(table)
