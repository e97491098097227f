"""bnorm-stats' tables and trace."""
from __future__ import annotations

from typing import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..ops.batchnorm import BatchNormStats
from ..traces.batchnorm import BatchNormTrace
from ..traces.model import fmt


def stats_table(stats: BatchNormStats, names: Sequence[str]) -> Table:
    """One row per mini-batch and channel, then the whole input set."""
    mode = "training" if stats.training else "evaluation with stored running statistics"
    momentum = "none (cumulative average)" if stats.momentum is None else f"{stats.momentum:g}"
    title = f"bnorm-stats: {stats.inputs} input(s), {stats.channels} channel(s), {mode}; ε = {stats.eps:g}"
    if stats.training:
        title += f", momentum {momentum}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("batch", "left"), ("inputs", "left"), ("ch", "right"), ("n", "right"),
                          ("mean", "right"), ("var", "right"), ("var (unbiased)", "right"),
                          ("running mean", "right"), ("running var", "right")):
        table.add_column(name, justify=justify)

    def label(start: int, stop: int) -> str:
        if stop - start == 1:
            return names[start]
        return f"{names[start]} … {names[stop - 1]}" if stop - start > 2 else f"{names[start]}, {names[stop - 1]}"

    if stats.training:
        for b in stats.batches:
            for c in range(stats.channels):
                table.add_row(str(b.index + 1) if c == 0 else "", label(b.start, b.stop) if c == 0 else "", str(c),
                              str(b.count), fmt(b.mean[c], 6), fmt(b.var[c], 6), fmt(b.var_unbiased[c], 6),
                              fmt(b.running_mean[c], 6), fmt(b.running_var[c], 6))
        table.add_section()
    for c in range(stats.channels):
        table.add_row(Text("all", style="bold") if c == 0 else "", label(0, stats.inputs) if c == 0 else "", str(c),
                      str(stats.count), fmt(stats.mean[c], 6), fmt(stats.var[c], 6), fmt(stats.var_unbiased[c], 6),
                      fmt(stats.running_mean[c], 6), fmt(stats.running_var[c], 6))
    return table


def print_batchnorm_trace(console: Console, trace: BatchNormTrace) -> None:
    console.print(Text(trace.title, style="bold underline"))
    for note in trace.notes:
        console.print(Text(f"  {note}", style="dim"))
    for sec in trace.sections:
        console.print(Text(sec.title, style="bold"))
        for line in sec.lines:
            console.print(f"  {line}")
