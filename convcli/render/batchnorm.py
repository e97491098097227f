"""bnorm-stats' tables, trace, and (--show) histograms of the values before and after normalization."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
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


# ------------------------------------------------------------------ --show: distributions

HIST_ROWS = 8                   # text rows per histogram (8 levels each: ▁..█)
MAX_BINS = 60
MIN_BINS = 10
BLOCKS = " ▁▂▃▄▅▆▇█"
GAP = 4


@dataclass
class Histogram:
    """The distribution of one channel: ``counts`` as numpy.histogram gives them over ``edges``, and
    the mean and (population) standard deviation of the same values."""

    title: str
    counts: np.ndarray
    edges: np.ndarray
    mean: float
    std: float
    count: int


def channel_histogram(arrays: Sequence[np.ndarray], channel: int, bins: int, title: str) -> Histogram:
    """numpy.histogram of channel ``channel`` of every (H, W, C) array together, over its min..max
    (±0.5 around a constant), accumulated array by array (the arrays are not joined in memory);
    mean and standard deviation in float64, two passes."""
    planes = [np.asarray(a[..., channel], dtype=np.float64).ravel() for a in arrays]
    planes = [p[np.isfinite(p)] for p in planes]
    n = sum(p.size for p in planes)
    if n == 0:
        return Histogram(title, np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1), math.nan,
                         math.nan, 0)
    lo = min(float(p.min()) for p in planes if p.size)
    hi = max(float(p.max()) for p in planes if p.size)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = np.zeros(bins, dtype=np.int64)
    for p in planes:
        counts += np.histogram(p, bins=bins, range=(lo, hi))[0]
    edges = np.histogram_bin_edges(np.empty(0), bins=bins, range=(lo, hi))
    mean = sum(float(p.sum()) for p in planes) / n
    std = math.sqrt(sum(float(((p - mean) ** 2).sum()) for p in planes) / n)
    return Histogram(title, counts, edges, mean, std, n)


def bar_eighths(counts: np.ndarray, rows: int = HIST_ROWS) -> np.ndarray:
    """Each bar's height in eighths of a text row: the tallest bin fills ``rows`` rows, the others in
    proportion (rounded), and a bin with any value shows at least ▁."""
    counts = np.asarray(counts)
    top = counts.max() if counts.size else 0
    if top <= 0:
        return np.zeros(counts.shape, dtype=np.int64)
    eighths = np.rint(counts / top * rows * 8).astype(np.int64)
    return np.where(counts > 0, np.maximum(eighths, 1), 0)


def mark_column(value: float, edges: np.ndarray) -> int | None:
    """The bin (column) a value falls in, as numpy.histogram bins it; None outside the range."""
    if not math.isfinite(value) or value < edges[0] or value > edges[-1]:
        return None
    return int(min(np.searchsorted(edges, value, side="right") - 1, len(edges) - 2))


def shown_mean(mean: float, std: float) -> str:
    """The mean as printed: "μ ≈ 0" when it is zero but for rounding (|μ| below a millionth of σ), as
    after normalization; else "μ = " and 4 significant digits."""
    if math.isfinite(mean) and std > 0 and abs(mean) < 1e-6 * std:
        return "μ ≈ 0"
    return f"μ = {fmt(mean, 4)}"


def histogram_lines(h: Histogram, *, rows: int = HIST_ROWS, style: str = "cyan") -> list[Text]:
    """The histogram as text: title with μ and σ, bars (the tallest bin's count on the axis), the axis
    with μ and μ ± σ marked under their bins, and the value range."""
    bins = len(h.counts)
    top = int(h.counts.max()) if bins else 0
    label_w = max(len(str(top)), 1)
    out = [Text(h.title, style="bold"),
           Text(f"n = {h.count}, {shown_mean(h.mean, h.std)}, σ = {fmt(h.std, 4)}", style="dim")]
    eighths = bar_eighths(h.counts, rows)
    marks = {}
    wanted = [(h.mean, "μ")] if not h.std > 0 else [(h.mean - h.std, "σ"), (h.mean + h.std, "σ"), (h.mean, "μ")]
    for value, char in wanted:                  # μ last: it wins a bin it shares with a σ mark
        col = mark_column(value, h.edges)
        if col is not None:
            marks[col] = char
    for r in range(rows):
        level = rows - 1 - r                         # this row shows eighths level*8 .. level*8 + 8
        cells = "".join(BLOCKS[int(min(max(e - level * 8, 0), 8))] for e in eighths).rstrip()
        label = str(top) if r == 0 else ("0" if r == rows - 1 else "")
        out.append(Text.assemble(f"{label:>{label_w}} ┤", (cells, style)))
    axis = "".join("┴" if i in marks else "─" for i in range(bins))
    out.append(Text(" " * label_w + " └" + axis))
    under = "".join(marks.get(i, " ") for i in range(bins)).rstrip()
    if under:
        out.append(Text(" " * (label_w + 2) + under, style="bold"))
    lo, hi = fmt(float(h.edges[0]), 4), fmt(float(h.edges[-1]), 4)
    gap = max(1, bins - len(lo) - len(hi))
    out.append(Text(" " * (label_w + 2) + lo + " " * gap + hi, style="dim"))
    return out


def print_histograms(console: Console, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], *,
                     normalized_title: str = "normalized", rows: int = HIST_ROWS) -> list[tuple[Histogram, Histogram]]:
    """--show of bnorm-stats: per channel, the distribution of the inputs beside that of the normalized
    values (centred near 0 with σ near 1 in training), μ and μ ± σ marked. Returns the histograms."""
    channels = inputs[0].shape[-1] if inputs else 0
    width = console.width
    side_by_side = width >= 2 * 30 + GAP
    panel_w = (width - GAP) // 2 if side_by_side else width
    total = sum(int(np.prod(a.shape[:-1])) for a in inputs)
    bins = int(min(MAX_BINS, max(MIN_BINS, panel_w - len(str(total)) - 2)))
    drawn = []
    for c in range(channels):
        before = channel_histogram(inputs, c, bins, f"channel {c} · inputs")
        after = channel_histogram(outputs, c, bins, f"channel {c} · {normalized_title}")
        drawn.append((before, after))
        left, right = histogram_lines(before, rows=rows), histogram_lines(after, rows=rows, style="magenta")
        if side_by_side:
            grid = Table.grid(padding=(0, GAP))
            grid.add_column(no_wrap=True)
            grid.add_column(no_wrap=True)
            grid.add_row(Text("\n").join(left), Text("\n").join(right))
            console.print(grid)
        else:
            for line in left + right:
                console.print(line)
        console.print()
    return drawn
