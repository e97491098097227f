"""Trace of a pooling: each window on the (padded) input, its values, and the winner or the average."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ..ops.pool import PoolPlan
from .model import GridView, Step, Trace, channel_plane, fmt, move_text, parse_region, region_cells

DEFAULT_MAX_STEPS = 25
_PAD_VALUE = {"max": -math.inf, "min": math.inf, "avg": 0.0}
_TITLES = {"max": "max pooling: each output is the largest value in its window",
           "min": "min pooling: each output is the smallest value in its window (−max(−x))",
           "avg": "average pooling: each output is the mean of its window"}


def _winner(values: list[float], mode: str) -> int:
    """Index of the value PyTorch picks: the first largest (smallest), or the last NaN."""
    best = 0
    for i, v in enumerate(values):
        if math.isnan(v):
            best = i
        elif not math.isnan(values[best]) and ((v > values[best]) if mode == "max" else (v < values[best])):
            best = i
    return best


def _avg_expression(plan: PoolPlan, ordered: list[float | None], n_pad: int, cut: bool, value: float,
                    window_cells: int) -> str:
    """``ordered``: the window's values in reading order, None for a padded cell."""
    terms = [fmt(v) if v is not None else "0" for v in ordered if v is not None or plan.count_include_pad]
    divisor = len(terms)
    text = f"({' + '.join(terms)}) / {divisor} = {fmt(value)}"
    kh, kw = plan.size
    why = []
    if n_pad and plan.count_include_pad:
        why.append(f"the divisor counts {n_pad} padded zero{'s' if n_pad != 1 else ''} (count_include_pad)")
    elif n_pad:
        why.append(f"divisor {divisor}: {n_pad} padded cell{'s' if n_pad != 1 else ''} not counted "
                   f"(--no-count-include-pad)")
    if cut:
        why.append(f"the {kh}×{kw} window runs past the padded input (ceil_mode): only its "
                   f"{window_cells} cell{'s' if window_cells != 1 else ''} inside count")
    return text + ("  · " + "; ".join(why) if why else "")


def pool_trace(image: np.ndarray, plan: PoolPlan, result: np.ndarray, *, channel: int = 0, region=None,
               max_steps: int = DEFAULT_MAX_STEPS) -> Trace:
    """Build the trace of ``plan`` on ``image`` (float32 (H, W) or (H, W, C)) for one channel."""
    x, n_c = channel_plane(image, channel, max_steps)
    h, w = x.shape
    (kh, kw), (sy, sx), (py, px) = plan.size, plan.stride, plan.padding
    res = result if result.ndim == 2 else result[:, :, channel]

    def centre(oy: int, ox: int) -> tuple[int, int]:
        return oy * sy - py + (kh - 1) // 2, ox * sx - px + (kw - 1) // 2

    cells, used_region = region_cells(plan.out_h, plan.out_w, centre, parse_region(region), (h, w))
    if not cells:
        raise ParameterError(f"no output value has its window centred in region {used_region}")
    total = len(cells)
    cells = cells[:max_steps]
    wins = {c: plan.window(*c) for c in cells}
    view, origin = _input_view(x, plan, wins, every=total == plan.out_h * plan.out_w,
                               title=f"input {h}×{w}" + (f" (channel {channel})" if n_c > 1 else "")
                               + (" with padding" if py or px else ""))
    steps = []
    prev = None
    for oy, ox in cells:
        steps.append(_step(x, plan, (oy, ox), wins[(oy, ox)], origin, float(res[oy, ox]), prev))
        prev = (oy, ox)
    return Trace(title=_TITLES[plan.mode], input=view, output_shape=(plan.out_h, plan.out_w), steps=steps,
                 formulas=plan.formulas(), notes=_notes(plan, len(cells), total), total_steps=total,
                 output_values=res, output_title=f"result {plan.out_h}×{plan.out_w}")


def _input_view(x: np.ndarray, plan: PoolPlan, wins: dict, *, every: bool, title: str) -> tuple[GridView, tuple]:
    """The part of the padded input the shown windows cover (all of it when every output is shown),
    and its top-left corner in padded coordinates."""
    h, w = x.shape
    py, px = plan.padding
    padded = np.full((h + 2 * py, w + 2 * px), _PAD_VALUE[plan.mode], dtype=np.float64)
    padded[py:py + h, px:px + w] = x
    if every:
        r0, r1, c0, c1 = 0, padded.shape[0], 0, padded.shape[1]
    else:
        r0 = min(v[0] for v in wins.values()) + py
        r1 = max(v[1] for v in wins.values()) + py
        c0 = min(v[2] for v in wins.values()) + px
        c1 = max(v[3] for v in wins.values()) + px
    pad_mask = np.ones(padded.shape, dtype=bool)
    pad_mask[py:py + h, px:px + w] = False
    view = GridView(padded[r0:r1, c0:c1], title,
                    row_labels=[str(r - py) for r in range(r0, r1)],
                    col_labels=[str(c - px) for c in range(c0, c1)], pad_mask=pad_mask[r0:r1, c0:c1])
    return view, (r0, c0)


def _step(x: np.ndarray, plan: PoolPlan, out: tuple[int, int], win: tuple, origin: tuple, value: float,
          prev) -> Step:
    """One output value: its window's cells (in view coordinates), the values inside, the expression."""
    h, w = x.shape
    (kh, kw), (py, px) = plan.size, plan.padding
    r0, c0 = origin
    y0, y1, x0, x1 = win
    window, inside, inside_cells, ordered, n_pad = [], [], [], [], 0
    for y in range(y0, y1):
        for xx in range(x0, x1):
            window.append((y + py - r0, xx + px - c0))
            if 0 <= y < h and 0 <= xx < w:
                inside.append(float(x[y, xx]))
                inside_cells.append(window[-1])
                ordered.append(inside[-1])
            else:
                n_pad += 1
                ordered.append(None)
    cut = (y1 - y0) * (x1 - x0) < kh * kw
    marked = []
    if plan.mode == "avg":
        expr = _avg_expression(plan, ordered, n_pad, cut, value, (y1 - y0) * (x1 - x0))
    else:
        marked = [inside_cells[_winner(inside, plan.mode)]]
        expr = _extreme_expression(plan.mode, inside, n_pad, cut, value)
    return Step(out, window, [fmt(v) for v in inside], expr, value, move_text(prev, out, plan.stride),
                marked=marked)


def _extreme_expression(mode: str, inside: list[float], n_pad: int, cut: bool, value: float) -> str:
    expr = f"{mode}({', '.join(fmt(v) for v in inside)}) = {fmt(value)}"
    notes = []
    if n_pad:
        pad_text = "−inf" if mode == "max" else "+inf"
        notes.append(f"{n_pad} padded cell{'s' if n_pad != 1 else ''} ({pad_text}) never win")
    if cut:
        notes.append("the window runs past the padded input (ceil_mode): the rest is ignored")
    if notes:
        expr += "  · " + "; ".join(notes)
    return expr


def _notes(plan: PoolPlan, shown: int, total: int) -> list[str]:
    (kh, kw), (sy, sx), (py, px) = plan.size, plan.stride, plan.padding
    notes = [f"window {kh}×{kw}, stride {sy}" if sy == sx else f"window {kh}×{kw}, stride {sy},{sx}"]
    if py or px:
        notes.append(f"padding {py},{px}: padded cells hold {fmt(_PAD_VALUE[plan.mode])}"
                     + (", so they never win" if plan.mode != "avg" else
                        (" and count in the divisor (count_include_pad)" if plan.count_include_pad
                         else " but do not count in the divisor")))
    if plan.ceil_mode:
        notes.append("ceil_mode: a last partial window is kept if it starts inside the input or its left padding")
    if plan.mode != "avg":
        notes.append("the winner is marked with *")
    if total > shown:
        notes.append(f"showing {shown} of {total} steps: --max-steps N shows more, "
                     f"--region Y,X,H,W picks another part of the input")
    return notes
