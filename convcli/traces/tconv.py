"""Traces of a transposed convolution, in its two equivalent definitions.

* scatter: each input value multiplies the whole kernel, and the product is added into the output
  at stride steps; the output grid shows the running sums as the stamps overlap.
* zeros: stride − 1 zeros inserted between the inputs, dilation·(k − 1) − padding cells of padding
  around them (plus output_padding at the bottom/right), then an ordinary convolution
  (cross-correlation) with the kernel flipped — built with the convolution trace itself.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..ops.conv import ConvPlan, run_plan
from ..ops.tconv import TConvPlan
from ..shapes import ConvGeometry
from .conv import conv_trace
from .model import GridView, Step, Trace, channel_plane, fmt, fmt_factor, parse_region, region_cells

DEFAULT_MAX_STEPS = 25


def _channel_plane(image: np.ndarray, plan: TConvPlan, channel: int, max_steps: int) -> np.ndarray:
    if plan.dense:
        raise ParameterError("--trace draws 2-D kernels (one channel at a time); a 4-D weight mixes "
                             "channels: trace it per channel pair with a 2-D slice w[ci, co] of it")
    return channel_plane(image, channel, max_steps)[0]


def _notes(plan: TConvPlan) -> list[str]:
    (sy, sx), (py, px), (ay, ax), (dy, dx) = plan.stride, plan.padding, plan.output_padding, plan.dilation

    def pair(name, a, b):
        return f"{name} {a}" if a == b else f"{name} {a},{b}"
    return [", ".join([pair("stride", sy, sx), pair("padding", py, px), pair("output_padding", ay, ax),
                       pair("dilation", dy, dx)])]


def scatter_trace(image: np.ndarray, plan: TConvPlan, result: np.ndarray, *, channel: int = 0,
                  region=None, max_steps: int = DEFAULT_MAX_STEPS) -> Trace:
    """One step per input value: value × kernel stamped into the output, overlaps adding up.

    ``result`` is the op's own output (shown at the end); ``Trace.partial_outputs`` holds the
    running sums after each step, built here from the definition.
    """
    x = _channel_plane(image, plan, channel, max_steps)
    h, w = x.shape
    k = plan.kernel
    kh, kw = k.shape
    dy, dx = plan.dilation
    cells, used = region_cells(h, w, lambda iy, ix: (iy, ix), parse_region(region), (h, w))
    if not cells:
        raise ParameterError(f"no input value in region {used}")
    total = len(cells)
    cells = cells[:max_steps]
    if total == h * w:
        r0, r1, c0, c1 = 0, h, 0, w
    else:
        r0, r1 = min(r for r, _ in cells), max(r for r, _ in cells) + 1
        c0, c1 = min(c for _, c in cells), max(c for _, c in cells) + 1
    view = GridView(x[r0:r1, c0:c1], f"input {h}×{w}" + (f" (channel {channel})" if image.ndim == 3 else ""),
                    row_labels=[str(r) for r in range(r0, r1)], col_labels=[str(c) for c in range(c0, c1)])
    bias = float(plan.bias[channel])
    running: dict[tuple[int, int], float] = {}
    partials: list[dict] = []
    steps = []
    for iy, ix in cells:
        steps.append(_stamp(plan, (iy, ix), float(x[iy, ix]), bias, running, (r0, c0)))
        partials.append(dict(running))
    res = result if result.ndim == 2 else result[:, :, channel]
    return Trace(title="transposed convolution (scatter: each input value × the kernel, added into the output)",
                 input=view, kernel=GridView(k, f"kernel {kh}×{kw}" + (f", dilation {dy},{dx}" if (dy, dx) != (1, 1) else "")),
                 operator="×", output_shape=(plan.out_h, plan.out_w), steps=steps, formulas=plan.formulas(),
                 notes=_scatter_notes(plan, bias, len(cells), total), total_steps=total, output_values=res,
                 output_title=f"result {plan.out_h}×{plan.out_w}", partial_outputs=partials)


def _stamp(plan: TConvPlan, src: tuple[int, int], v: float, bias: float, running: dict, origin: tuple[int, int]) -> Step:
    """Input value ``v`` at ``src`` times the kernel, added into ``running`` (the output's sums so
    far, each starting at the bias): the step that shows it."""
    k = plan.kernel
    kh, kw = k.shape
    (sy, sx), (py, px), (dy, dx) = plan.stride, plan.padding, plan.dilation
    oh, ow = plan.out_h, plan.out_w
    iy, ix = src
    written, added, added_terms, terms, parts = [], [], [], [], []
    cropped = 0
    for i in range(kh):
        for j in range(kw):
            y, xx = iy * sy - py + i * dy, ix * sx - px + j * dx
            product = np.float32(v) * k[i, j]
            terms.append(f"{fmt_factor(v)}×{fmt_factor(k[i, j])}")
            if not (0 <= y < oh and 0 <= xx < ow):
                cropped += 1
                continue
            running[(y, xx)] = float(np.float32(running.get((y, xx), bias)) + product)
            written.append((y, xx))
            added.append(float(product))
            added_terms.append(terms[-1])
            parts.append(f"[{y},{xx}] += {fmt(product)} → {fmt(running[(y, xx)])}")
    top = (iy * sy - py, ix * sx - px)
    expr = (f"input[{iy},{ix}] = {fmt(v)}; {fmt(v)} × kernel, top-left tap at output[{top[0]},{top[1]}]: "
            + ("; ".join(parts) if parts else "nothing lands in the output"))
    if cropped:
        expr += f" ({cropped} tap{'s' if cropped != 1 else ''} fall outside: cropped by padding)"
    move = (f"stamp at output rows {top[0]}..{top[0] + dy * (kh - 1)}, "
            f"columns {top[1]}..{top[1] + dx * (kw - 1)}")
    out_pos = written[0] if written else (min(max(top[0], 0), oh - 1), min(max(top[1], 0), ow - 1))
    return Step(out_pos, [(iy - origin[0], ix - origin[1])], terms, expr, v, move,
                out_cells=written, out_products=added, out_terms=added_terms)


def _scatter_notes(plan: TConvPlan, bias: float, shown: int, total: int) -> list[str]:
    sy, sx = plan.stride
    notes = _notes(plan) + [
        "each input value times the kernel is added into the output; where stamps overlap, values add up",
        f"the stamps move {sy} output cell{'s' if sy != 1 else ''} per input row and {sx} per input column"]
    if bias:
        notes.append(f"every output starts at the bias {fmt(bias)}")
    if total > shown:
        notes.append(f"showing {shown} of {total} steps: --max-steps N shows more, "
                     f"--region Y,X,H,W picks another part of the input")
    return notes


def _pads(n_in: int, k: int, s: int, p: int, a: int, d: int) -> tuple[int, int, int]:
    """Zero-insertion view along one axis: (dilated length, padding before, padding after);
    negative padding means that many cells are cropped."""
    q = d * (k - 1) - p
    return (n_in - 1) * s + 1, q, q + a


def zero_insertion(plane: np.ndarray, plan: TConvPlan) -> tuple[np.ndarray, ConvPlan, tuple[int, int]]:
    """The zero-inserted (and cropped, when padding > d·(k − 1)) plane, the ordinary convolution plan
    that finishes the job, and the crop applied at the top/left."""
    (sy, sx) = plan.stride
    hz, top, bottom = _pads(plane.shape[0], plan.k_h, sy, plan.padding[0], plan.output_padding[0], plan.dilation[0])
    wz, left, right = _pads(plane.shape[1], plan.k_w, sx, plan.padding[1], plan.output_padding[1], plan.dilation[1])
    z = np.zeros((hz, wz), dtype=np.float32)
    z[::sy, ::sx] = plane
    crop_t, crop_l = max(-top, 0), max(-left, 0)
    z = np.ascontiguousarray(z[crop_t:hz - max(-bottom, 0), crop_l:wz - max(-right, 0)])
    pad = (max(top, 0), max(bottom, 0), max(left, 0), max(right, 0))
    geom = ConvGeometry(z.shape[0], z.shape[1], plan.k_h, plan.k_w, (1, 1), plan.dilation, pad)
    flipped = np.ascontiguousarray(plan.kernel[::-1, ::-1])
    return z, ConvPlan(geom, flipped, "zeros", 1, 1, plan.bias[:1].copy()), (crop_t, crop_l)


def zeros_trace(image: np.ndarray, plan: TConvPlan, *, channel: int = 0, region=None,
                max_steps: int = DEFAULT_MAX_STEPS) -> Trace:
    """The same transposed convolution as zeros inserted + padding + an ordinary convolution with the
    flipped kernel. Its numbers come from running that convolution (``convcli.ops.conv``), so they
    can be checked against :func:`convcli.tconv`."""
    x = _channel_plane(image, plan, channel, max_steps)
    h, w = x.shape
    (sy, sx) = plan.stride
    z, cplan, (crop_t, crop_l) = zero_insertion(x, plan)
    cplan = ConvPlan(cplan.geometry, cplan.kernel, "zeros", 1, 1, plan.bias[channel:channel + 1].copy())
    conv_result = run_plan(z, cplan)
    zregion = None
    if region is not None:
        y0, x0, rh, rw = parse_region(region)
        zregion = (max(y0 * sy - crop_t, 0), max(x0 * sx - crop_l, 0), (rh - 1) * sy + 1, (rw - 1) * sx + 1)
    trace = conv_trace(z, cplan, conv_result, region=zregion, max_steps=max_steps)
    # label the rows/columns that hold input values with their input index; the inserted zeros join
    # the padding in (parentheses): neither comes from the input
    view = trace.input
    rows = [int(r) + crop_t for r in view.row_labels]
    cols = [int(c) + crop_l for c in view.col_labels]
    hz, wz = (h - 1) * sy + 1, (w - 1) * sx + 1

    def label(v: int, s: int, n: int) -> str:
        return str(v // s) if 0 <= v < n and v % s == 0 else ""
    from_input = np.array([[label(r, sy, hz) != "" and label(c, sx, wz) != "" for c in cols] for r in rows])
    trace.input = GridView(view.values, f"input {h}×{w}" + (f" (channel {channel})" if image.ndim == 3 else "")
                           + " with zeros inserted and padding",
                           row_labels=[label(r, sy, hz) for r in rows], col_labels=[label(c, sx, wz) for c in cols],
                           pad_mask=~from_input, coords=(rows, cols))
    kh, kw = plan.k_h, plan.k_w
    (dy, dx), (py, px), (ay, ax) = plan.dilation, plan.padding, plan.output_padding
    trace.kernel = GridView(cplan.kernel, "kernel, flipped"
                            + (f", dilation {dy},{dx}" if (dy, dx) != (1, 1) else ""))
    trace.title = ("transposed convolution (zeros view: insert zeros, pad, then an ordinary convolution "
                   "with the flipped kernel)")
    g = cplan.geometry

    def side(name, q, a):
        text = f"{name}: dilation·(k − 1) − padding = {q}" if q >= 0 else f"{name}: {-q} cells cropped ({q})"
        return text + (f", plus output_padding {a} at the {'bottom' if name == 'rows' else 'right'}" if a else "")
    zeros_note = (f"{sy - 1} zero row{'s' if sy - 1 != 1 else ''} between input rows, {sx - 1} zero "
                  f"column{'s' if sx - 1 != 1 else ''} between input columns (stride − 1)")
    trace.notes = _notes(plan) + [
        zeros_note,
        "padding " + side("rows", dy * (kh - 1) - py, ay) + "; " + side("columns", dx * (kw - 1) - px, ax),
        "inserted zeros and padding are drawn in (parentheses); row/column labels are input indices",
    ] + [n for n in trace.notes if n.startswith("showing")]
    trace.formulas = plan.formulas() + [f"(the ordinary convolution on the {g.padded_h}×{g.padded_w} "
                                        f"padded, zero-inserted grid) " + f for f in g.formulas()]
    return trace
