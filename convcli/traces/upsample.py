"""Trace of an interpolation: for each output cell, its source coordinate and weighted neighbours.

Nearest-neighbour modes copy one input cell into a block of output cells, as the slides draw it:
one step per block.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..ops.upsample import UpsamplePlan
from .model import GridView, Step, Trace, channel_plane, fmt, fmt_factor, parse_region, region_cells

DEFAULT_MAX_STEPS = 25
_TITLES = {
    "nearest": "nearest-neighbour upsampling: every output cell copies the input cell it falls in",
    "nearest-exact": "nearest-exact upsampling: every output cell copies the input cell nearest to its centre",
    "bilinear": "bilinear interpolation: linear along x, then along y, between the 2×2 nearest input cells",
    "bicubic": "bicubic interpolation: Keys' cubic (a = −0.75) over the 4×4 nearest input cells",
}


def _span(values: list[int], word: str) -> str:
    lo, hi = min(values), max(values)
    return f"{word} {lo}" if lo == hi else f"{word}s {lo}–{hi}"


def upsample_trace(image: np.ndarray, plan: UpsamplePlan, result: np.ndarray, *, channel: int = 0,
                   region=None, max_steps: int = DEFAULT_MAX_STEPS) -> Trace:
    """Build the trace of ``plan`` on ``image`` (float32 (H, W) or (H, W, C)) for one channel."""
    x, n_c = channel_plane(image, channel, max_steps)
    h, w = x.shape
    res = result if result.ndim == 2 else result[:, :, channel]
    ty, tx = plan.y, plan.x
    nearest = plan.mode.startswith("nearest")

    def centre(oy: int, ox: int) -> tuple[int, int]:
        if nearest:
            return int(ty.index[oy, 0]), int(tx.index[ox, 0])
        return (min(max(int(round(float(ty.source[oy]))), 0), h - 1),
                min(max(int(round(float(tx.source[ox]))), 0), w - 1))

    cells, used_region = region_cells(plan.out_h, plan.out_w, centre, parse_region(region), (h, w))
    if not cells:
        raise ParameterError(f"no output value comes from region {used_region}")
    if nearest:        # one step per input cell: the block of output cells that copy it
        blocks: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for oy, ox in cells:
            blocks.setdefault(centre(oy, ox), []).append((oy, ox))
        groups = list(blocks.items())
    else:
        groups = [(centre(oy, ox), [(oy, ox)]) for oy, ox in cells]
    total = len(groups)
    groups = groups[:max_steps]
    rows = sorted({int(i) for _, outs in groups for oy, _ in outs for i in ty.index[oy]})
    cols = sorted({int(j) for _, outs in groups for _, ox in outs for j in tx.index[ox]})
    r0, r1, c0, c1 = (0, h, 0, w) if total == len(cells) and len(cells) == plan.out_h * plan.out_w \
        else (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    view = GridView(x[r0:r1, c0:c1], f"input {h}×{w}" + (f" (channel {channel})" if n_c > 1 else ""),
                    row_labels=[str(r) for r in range(r0, r1)], col_labels=[str(c) for c in range(c0, c1)])
    steps = [_step(x, plan, src, outs, float(res[outs[0]]), (r0, c0)) for src, outs in groups]
    return Trace(title=_TITLES[plan.mode], input=view, output_shape=(plan.out_h, plan.out_w), steps=steps,
                 formulas=plan.formulas(), notes=_notes(plan, len(groups), total), total_steps=total,
                 output_values=res, output_title=f"result {plan.out_h}×{plan.out_w}")


def _step(x: np.ndarray, plan: UpsamplePlan, src: tuple[int, int], outs: list[tuple[int, int]], value: float,
          origin: tuple[int, int]) -> Step:
    """One step: the block of output cells that copy input ``src`` (nearest modes), or one output
    cell and its weighted input cells."""
    r0, c0 = origin
    ty, tx = plan.y, plan.x
    if plan.mode.startswith("nearest"):
        sy, sx = src
        out_rows, out_cols = [o[0] for o in outs], [o[1] for o in outs]
        expr = (f"{_span(out_rows, 'row')} × {_span(out_cols, 'column')} copy input[{sy}, {sx}] = {fmt(value)}"
                if len(outs) > 1 else f"output[{outs[0][0]}, {outs[0][1]}] copies input[{sy}, {sx}] = {fmt(value)}")
        return Step(outs[0], [(sy - r0, sx - c0)], [fmt(value)], expr, value,
                    move=f"a block of {len(outs)} output cell{'s' if len(outs) != 1 else ''}", out_cells=outs)
    oy, ox = outs[0]
    weights: dict[tuple[int, int], float] = {}
    for i, wy in zip(ty.index[oy], ty.weight[oy]):
        for j, wx in zip(tx.index[ox], tx.weight[ox]):
            key = (int(i), int(j))
            weights[key] = weights.get(key, 0.0) + float(wy) * float(wx)
    used = [(k, v) for k, v in weights.items() if v != 0.0] or list(weights.items())[:1]
    terms = [f"{fmt_factor(x[i, j])}×{fmt_factor(v)}" for (i, j), v in used]
    expr = (f"src ({fmt(ty.source[oy])}, {fmt(tx.source[ox])}): " + " + ".join(terms) + f" = {fmt(value)}")
    return Step((oy, ox), [(i - r0, j - c0) for (i, j), _ in used], terms, expr, value,
                move=f"{len(used)} input cell{'s' if len(used) != 1 else ''} weighted")


def _notes(plan: UpsamplePlan, shown: int, total: int) -> list[str]:
    notes = []
    if plan.mode == "bilinear":
        notes.append("weights: (1 − fy)·(1 − fx), (1 − fy)·fx, fy·(1 − fx), fy·fx, f = the source's fractional part; "
                     "a source outside the input is clamped to its edge")
    elif plan.mode == "bicubic":
        notes.append("weights: Keys' cubic kernel (a = −0.75) of the distance to 4 neighbours per axis, "
                     "border cells repeated; results can overshoot the input's range")
    if plan.align_corners:
        notes.append("align_corners: the corner cells' centres map onto each other")
    if total > shown:
        notes.append(f"showing {shown} of {total} steps: --max-steps N shows more, "
                     f"--region Y,X,H,W picks another part of the input")
    return notes
