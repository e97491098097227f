"""Receptive fields through a chain: which input cells can change one output cell (plain data, no Rich).

Every op a chain can run reads its input axis by axis: output cell (y, x) of a stage depends on the
input rows ``rows(y)`` times the input columns ``cols(x)``. So the cells behind one output cell, at
any depth of the chain, are always a product ``row set × column set``, and following a cell back is
done one axis at a time with exact sets of indices (a dilated kernel leaves holes; nothing here is
approximated by a rectangle).

What "depends" means, stage by stage (the cells whose value enters the arithmetic):

* convolution: the taps of the window, ``o·s + t·d − pad_lo`` for t = 0..k − 1; a tap in zero padding
  reads nothing, a tap in reflect / replicate / circular padding reads the input cell it copies;
* pooling: the window ``o·s − p .. o·s − p + k − 1`` cut to the input (a max pools all of them: any one
  can win);
* upsampling: the input cells whose interpolation weight is not 0 (nearest: one; bilinear: up to 2 per
  axis; bicubic: up to 4, borders clamped), exactly the plan's own taps;
* transposed convolution: the inputs whose stamp reaches the cell, ``i = (o + p − t·d) / s`` whole and
  inside the input; the ``--remedy`` (resize, then convolve) reads ``⌊(o + t·d − pad_lo) / s⌋``;
* activation: the cell itself.

Kernel weights are not looked at: a tap whose weight is 0 still counts (the region is the one a
trained network could use), so a brute-force check must use generic weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

DEFAULT_TRACE_LIMIT = 64          # stages; a pipeline file holds at most as many


@dataclass(frozen=True)
class AxisMap:
    """One axis of one stage: ``reads(o)`` is the sorted input indices output index ``o`` reads.

    Worked out only for the indices a trace asks about, so a big image or kernel costs nothing more."""

    n_in: int
    n_out: int
    reads: Callable[[int], tuple[int, ...]]

    def back(self, indices: Sequence[int]) -> tuple[int, ...]:
        """The input indices that any of the output ``indices`` reads."""
        found: set[int] = set()
        for o in indices:
            found.update(self.reads(o))
        return tuple(sorted(found))


@dataclass(frozen=True)
class StageGeometry:
    """How one stage maps its input onto its output, per axis, and how to say it."""

    label: str                     # the stage as the user wrote it
    op: str                        # convolve, pool, upsample, tconv, activate
    how: str                       # one line: window, stride, padding ... in numbers
    y: AxisMap
    x: AxisMap
    mixes_channels: bool = False   # a 4-D kernel: every input channel feeds every output channel

    @property
    def in_shape(self) -> tuple[int, int]:
        return self.y.n_in, self.x.n_in

    @property
    def out_shape(self) -> tuple[int, int]:
        return self.y.n_out, self.x.n_out


@dataclass(frozen=True)
class Region:
    """The cells ``rows × cols`` of one map (the chain's input, or the output of a stage)."""

    where: str                     # "input", or "after stage N"
    label: str                     # the stage text ("" for the input)
    shape: tuple[int, int]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    how: str = ""                  # how the next stage reads this map ("" for the last)

    @property
    def cells(self) -> int:
        return len(self.rows) * len(self.cols)

    @property
    def bounds(self) -> tuple[int, int, int, int] | None:
        """(first row, last row, first column, last column), or None when the region is empty."""
        if not self.rows or not self.cols:
            return None
        return self.rows[0], self.rows[-1], self.cols[0], self.cols[-1]

    @property
    def solid(self) -> bool:
        """Every cell of the bounding box belongs to the region (no holes from dilation or stride)."""
        b = self.bounds
        return b is not None and len(self.rows) == b[1] - b[0] + 1 and len(self.cols) == b[3] - b[2] + 1

    def as_dict(self) -> dict:
        b = self.bounds
        return {"where": self.where, "stage": self.label, "shape": list(self.shape),
                "rows": [b[0], b[1]] if b else None, "columns": [b[2], b[3]] if b else None,
                "row_cells": list(self.rows), "column_cells": list(self.cols), "cells": self.cells,
                "solid": self.solid, "read_by_next_stage_as": self.how or None}


@dataclass
class ReceptiveTrace:
    """One output cell of the last stage followed back to the chain's input."""

    source: str
    cell: tuple[int, int]
    levels: list[Region] = field(default_factory=list)     # the output first, the input last
    mixes_channels: bool = False

    @property
    def title(self) -> str:
        return f"receptive field of output[{self.cell[0]}, {self.cell[1]}] of the chain on {self.source}"

    @property
    def input_region(self) -> Region:
        return self.levels[-1]

    def as_dict(self) -> dict:
        return {"source": self.source, "cell": list(self.cell), "channels": "every input channel"
                if self.mixes_channels else "the same channel", "levels": [lv.as_dict() for lv in self.levels]}


# ------------------------------------------------------------------ one axis of each op

def _source(q: int, n: int, mode: str) -> int | None:
    """The input index padded position ``q`` copies (PyTorch's padding modes), None for zeros."""
    if 0 <= q < n:
        return q
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if q < 0 else n - 1
    if mode == "circular":
        return q % n
    if n == 1:                       # reflect
        return 0
    period = 2 * (n - 1)
    q %= period
    return q if q < n else period - q


def conv_axis(n_in: int, n_out: int, k: int, stride: int, dilation: int, pad_lo: int,
              mode: str = "zeros") -> AxisMap:
    def reads(o: int) -> tuple[int, ...]:
        taps = {_source(o * stride + t * dilation - pad_lo, n_in, mode) for t in range(k)}
        taps.discard(None)
        return tuple(sorted(taps))                                   # type: ignore[arg-type]
    return AxisMap(n_in, n_out, reads)


def pool_axis(n_in: int, n_out: int, k: int, stride: int, pad: int) -> AxisMap:
    def reads(o: int) -> tuple[int, ...]:
        start = o * stride - pad
        return tuple(range(max(start, 0), min(start + k, n_in)))
    return AxisMap(n_in, n_out, reads)


def taps_axis(n_in: int, index, weight) -> AxisMap:
    """Upsampling: an output reads the input taps whose weight is not 0."""
    def reads(o: int) -> tuple[int, ...]:
        return tuple(sorted({int(i) for i, w in zip(index[o], weight[o]) if float(w) != 0.0}))
    return AxisMap(n_in, len(index), reads)


def tconv_axis(n_in: int, n_out: int, k: int, stride: int, dilation: int, pad: int) -> AxisMap:
    def reads(o: int) -> tuple[int, ...]:
        found = set()
        for t in range(k):
            num = o + pad - t * dilation
            if num % stride == 0 and 0 <= num // stride < n_in:
                found.add(num // stride)
        return tuple(sorted(found))
    return AxisMap(n_in, n_out, reads)


def remedy_axis(n_in: int, n_out: int, k: int, stride: int, dilation: int, pad_lo: int) -> AxisMap:
    """tconv --remedy: nearest ×stride, padded by pad_lo (negative: cropped), then a valid convolution."""
    def reads(o: int) -> tuple[int, ...]:
        found = set()
        for t in range(k):
            u = o + t * dilation - pad_lo
            if 0 <= u < n_in * stride:
                found.add(u // stride)
        return tuple(sorted(found))
    return AxisMap(n_in, n_out, reads)


def identity_axis(n: int) -> AxisMap:
    return AxisMap(n, n, lambda o: (o,))


# ------------------------------------------------------------------ one stage from its plan

def _pair_text(a: tuple[int, int] | Sequence[int]) -> str:
    return f"{a[0]}" if a[0] == a[1] else f"{a[0]},{a[1]}"


def conv_geometry(label: str, plan) -> StageGeometry:
    """A :class:`convcli.ops.conv.ConvPlan`."""
    g = plan.geometry
    y = conv_axis(g.in_h, g.out_h, g.k_h, g.stride[0], g.dilation[0], g.pad[0], plan.padding_mode)
    x = conv_axis(g.in_w, g.out_w, g.k_w, g.stride[1], g.dilation[1], g.pad[2], plan.padding_mode)
    how = (f"convolve: {g.k_h}×{g.k_w} window, stride {_pair_text(g.stride)}, dilation {_pair_text(g.dilation)}, "
           f"padding {g.pad[0]},{g.pad[1]},{g.pad[2]},{g.pad[3]} (top, bottom, left, right; {plan.padding_mode})")
    return StageGeometry(label, "convolve", how, y, x, mixes_channels=bool(plan.dense))


def pool_geometry(label: str, plan) -> StageGeometry:
    """A :class:`convcli.ops.pool.PoolPlan`."""
    y = pool_axis(plan.in_h, plan.out_h, plan.size[0], plan.stride[0], plan.padding[0])
    x = pool_axis(plan.in_w, plan.out_w, plan.size[1], plan.stride[1], plan.padding[1])
    how = (f"{plan.mode} pool: {plan.size[0]}×{plan.size[1]} window, stride {_pair_text(plan.stride)}, "
           f"padding {_pair_text(plan.padding)}" + (", ceil_mode" if plan.ceil_mode else ""))
    return StageGeometry(label, "pool", how, y, x)


def upsample_geometry(label: str, plan) -> StageGeometry:
    """A :class:`convcli.ops.upsample.UpsamplePlan`: its own taps, so PyTorch's shortcuts are included."""
    y = taps_axis(plan.in_h, plan.y.index, plan.y.weight)
    x = taps_axis(plan.in_w, plan.x.index, plan.x.weight)
    rules = (f"{plan.y.rule} (rows and columns)" if plan.y.rule == plan.x.rule
             else f"rows {plan.y.rule}; columns {plan.x.rule}")
    how = f"upsample ({plan.mode}): {rules}; taps of weight 0 left out"
    return StageGeometry(label, "upsample", how, y, x)


def tconv_geometry(label: str, plan, *, remedy: bool = False, remedy_pad: tuple[int, int, int, int] | None = None
                   ) -> StageGeometry:
    """A :class:`convcli.ops.tconv.TConvPlan` (``remedy``: the resize-then-convolve variant)."""
    s, p, d = plan.stride, plan.padding, plan.dilation
    if remedy:
        assert remedy_pad is not None
        y = remedy_axis(plan.in_h, plan.out_h, plan.k_h, s[0], d[0], remedy_pad[0])
        x = remedy_axis(plan.in_w, plan.out_w, plan.k_w, s[1], d[1], remedy_pad[2])
        how = (f"tconv --remedy: nearest ×{_pair_text(s)}, then a {plan.k_h}×{plan.k_w} convolution, "
               f"dilation {_pair_text(d)}")
    else:
        y = tconv_axis(plan.in_h, plan.out_h, plan.k_h, s[0], d[0], p[0])
        x = tconv_axis(plan.in_w, plan.out_w, plan.k_w, s[1], d[1], p[1])
        how = (f"tconv: each input stamps a {plan.k_h}×{plan.k_w} kernel at output i·stride − padding + t·dilation, "
               f"stride {_pair_text(s)}, padding {_pair_text(p)}, dilation {_pair_text(d)}")
    return StageGeometry(label, "tconv", how, y, x, mixes_channels=bool(plan.dense))


def pointwise_geometry(label: str, shape: Sequence[int], op: str = "activate") -> StageGeometry:
    return StageGeometry(label, op, f"{op}: cell by cell", identity_axis(int(shape[0])), identity_axis(int(shape[1])))


# ------------------------------------------------------------------ the trace

def default_cell(shape: Sequence[int]) -> tuple[int, int]:
    """The centre cell of an output: (H // 2, W // 2)."""
    return int(shape[0]) // 2, int(shape[1]) // 2


def trace_back(stages: Sequence[StageGeometry], cell: tuple[int, int], *, source: str = "") -> ReceptiveTrace:
    """Follow output ``cell`` of the last stage back through every stage to the chain's input.

    Each stage's input shape must be the previous stage's output shape. ``levels[0]`` is the cell
    itself (after the last stage), ``levels[-1]`` the cells of the chain's input it depends on.
    """
    from ..errors import ParameterError

    if not stages:
        raise ParameterError("no stages to trace")
    for a, b in zip(stages, stages[1:]):
        if a.out_shape != b.in_shape:
            raise ValueError(f"stage {b.label!r} reads {b.in_shape}, but {a.label!r} makes {a.out_shape}")
    h, w = stages[-1].out_shape
    cy, cx = cell
    if not (0 <= cy < h and 0 <= cx < w):
        raise ParameterError(f"--cell {cy},{cx} is outside the {h}×{w} output of the last stage "
                             f"(rows 0..{h - 1}, columns 0..{w - 1})")
    rows, cols = (cy,), (cx,)
    trace = ReceptiveTrace(source, (cy, cx), mixes_channels=any(s.mixes_channels for s in stages))
    n = len(stages)
    trace.levels.append(Region(f"after stage {n}", stages[-1].label, (h, w), rows, cols))
    for i in range(n - 1, -1, -1):
        stage = stages[i]
        rows, cols = stage.y.back(rows), stage.x.back(cols)
        where, label = ("input", "") if i == 0 else (f"after stage {i}", stages[i - 1].label)
        trace.levels.append(Region(where, label, stage.in_shape, rows, cols, how=stage.how))
    return trace


# ------------------------------------------------------------------ words and pictures (plain text)

def _span(indices: tuple[int, ...], limit: int = 12) -> str:
    """``2..5``, or ``0..8 (0, 2, 4, 6, 8)`` when some in between are missing."""
    if not indices:
        return "none"
    text = f"{indices[0]}..{indices[-1]}"
    if len(indices) != indices[-1] - indices[0] + 1:
        shown = ", ".join(str(i) for i in indices[:limit]) + (", …" if len(indices) > limit else "")
        text += f" ({len(indices)} of them: {shown})"
    return text


def describe(region: Region) -> str:
    """``rows 2..5, columns 1..3 · 4×3 = 12 cells``, in words and numbers."""
    if region.bounds is None:
        return "no cell"
    n = region.cells
    count = "1 cell" if n == 1 else f"{len(region.rows)}×{len(region.cols)} = {n} cells"
    return f"rows {_span(region.rows)}, columns {_span(region.cols)} · {count}"


PICTURE_ROWS = 24
PICTURE_COLS = 40
IN, OUT = "■", "·"


def picture(region: Region, *, max_rows: int = PICTURE_ROWS, max_cols: int = PICTURE_COLS) -> list[str] | None:
    """A small grid of the map, ``■`` on the region's cells, ``·`` elsewhere, labelled with the real
    indices (columns by their last digit). A map too big is cut to the region's bounding box and one
    cell around it; None when even that does not fit."""
    h, w = region.shape
    b = region.bounds
    if b is None:
        return None
    r0, r1, c0, c1 = 0, h - 1, 0, w - 1
    if h > max_rows or w > max_cols:
        r0, r1, c0, c1 = max(b[0] - 1, 0), min(b[1] + 1, h - 1), max(b[2] - 1, 0), min(b[3] + 1, w - 1)
        if r1 - r0 + 1 > max_rows or c1 - c0 + 1 > max_cols:
            return None
    rows, cols = set(region.rows), set(region.cols)
    lab = len(str(r1))
    lines = []
    if (r0, r1, c0, c1) != (0, h - 1, 0, w - 1):
        lines.append(f"(rows {r0}..{r1}, columns {c0}..{c1} of {h}×{w})")
    lines.append(" " * (lab + 2) + " ".join(str(c % 10) for c in range(c0, c1 + 1)))
    for r in range(r0, r1 + 1):
        cells = " ".join(IN if (r in rows and c in cols) else OUT for c in range(c0, c1 + 1))
        lines.append(f"{r:>{lab}}  {cells}")
    return lines


def heading(trace: ReceptiveTrace, index: int) -> str:
    """One line naming a level: where it is, its shape, and the cells."""
    region = trace.levels[index]
    name = "input" if region.where == "input" else f"{region.where} · {region.label}"
    text = f"{name} · {region.shape[0]}×{region.shape[1]}: {describe(region)}"
    return text + (" (the traced cell)" if index == 0 else "")


def trace_lines(trace: ReceptiveTrace, *, pictures: bool = True) -> list[str]:
    """The whole trace as plain lines (the text export, and what the terminal shows)."""
    channels = ("every input channel (a 4-D kernel mixes them)" if trace.mixes_channels
                else "the same channel only")
    lines = [trace.title, f"channels: {channels}; kernel weights of 0 still count as taps", ""]
    n = len(trace.levels) - 1
    for i, region in enumerate(trace.levels):
        lines.append(heading(trace, i))
        if region.how:
            lines.append(f"  read by stage {n - i + 1} as {region.how}")
        grid = picture(region) if pictures else None
        if grid:
            lines += ["  " + g for g in grid]
        lines.append("")
    return lines


def trace_markdown(trace: ReceptiveTrace) -> str:
    out = [f"## {trace.title}", ""]
    n = len(trace.levels) - 1
    for i, region in enumerate(trace.levels):
        out += [f"### {heading(trace, i)}", ""]
        if region.how:
            out += [f"Read by stage {n - i + 1} as {region.how}.", ""]
        grid = picture(region)
        if grid:
            out += ["```text"] + grid + ["```", ""]
    return "\n".join(out)
