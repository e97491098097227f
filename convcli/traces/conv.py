"""Trace of a convolution: the slides' window sliding over the (padded) input."""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..ops.conv import ConvPlan, pad_input
from .model import GridView, Step, Trace, channel_plane, fmt, fmt_factor, move_text, parse_region, region_cells

DEFAULT_MAX_STEPS = 25


def conv_trace(image: np.ndarray, plan: ConvPlan, result: np.ndarray, *, channel: int = 0,
               region=None, max_steps: int = DEFAULT_MAX_STEPS) -> Trace:
    """Build the trace of ``plan`` applied to ``image`` (float32 (H, W) or (H, W, C)) for one channel.

    ``result`` is the op's own output; the trace shows its numbers, and each step's written-out sum.
    """
    if plan.dense:
        raise ParameterError("--trace draws 2-D kernels (one channel at a time); a 4-D weight mixes "
                             "channels: trace it per input channel with a 2-D slice of it")
    plane, n_c = channel_plane(image, channel, max_steps)
    g = plan.geometry
    pt, _, pl, _ = g.pad
    (sy, sx), (dy, dx) = g.stride, g.dilation
    xp = pad_input(plane[None], plan)[0]
    res = result if result.ndim == 2 else result[:, :, channel]
    k = plan.kernel
    kh, kw = k.shape

    def centre(oy: int, ox: int) -> tuple[int, int]:
        return oy * sy - pt + dy * ((kh - 1) // 2), ox * sx - pl + dx * ((kw - 1) // 2)

    cells, used_region = region_cells(g.out_h, g.out_w, centre, parse_region(region), (g.in_h, g.in_w))
    if not cells:
        raise ParameterError(f"no output value has its window centred in region {used_region}")
    total = len(cells)
    cells = cells[:max_steps]
    view, origin = _input_view(xp, plan, cells, every=total == g.out_h * g.out_w,
                               title=f"input {g.in_h}×{g.in_w}" + (f" (channel {channel})" if n_c > 1 else "")
                               + (" with padding" if any(g.pad) else ""))
    bias = float(plan.bias[channel])
    steps = []
    prev = None
    for oy, ox in cells:
        steps.append(_step(xp, plan, (oy, ox), origin, bias, float(res[oy, ox]), prev))
        prev = (oy, ox)
    kview = GridView(k, f"kernel {kh}×{kw}" + (f", dilation {dy},{dx}" if (dy, dx) != (1, 1) else ""))
    notes = [f"padding mode {plan.padding_mode}" if any(g.pad) else "no padding",
             f"stride {sy},{sx}" if sy != sx else f"stride {sy}"]
    if total > len(cells):
        notes.append(f"showing {len(cells)} of {total} steps: --max-steps N shows more, "
                     f"--region Y,X,H,W picks another part of the input")
    return Trace(title="convolution (cross-correlation: multiply element-wise, then add)",
                 input=view, kernel=kview, operator="*", output_shape=(g.out_h, g.out_w), steps=steps,
                 formulas=g.formulas(), notes=notes, total_steps=total,
                 output_values=res, output_title=f"result {g.out_h}×{g.out_w}")


def _input_view(xp: np.ndarray, plan: ConvPlan, cells: list, *, every: bool, title: str) -> tuple[GridView, tuple]:
    """The part of the padded input ``xp`` the traced windows cover (all of it when every output is
    traced), and its top-left corner."""
    g = plan.geometry
    pt, _, pl, _ = g.pad
    (sy, sx), (dy, dx) = g.stride, g.dilation
    kh, kw = plan.kernel.shape
    r0 = min(oy for oy, _ in cells) * sy
    r1 = max(oy for oy, _ in cells) * sy + dy * (kh - 1) + 1
    c0 = min(ox for _, ox in cells) * sx
    c1 = max(ox for _, ox in cells) * sx + dx * (kw - 1) + 1
    if every:
        r0, r1, c0, c1 = 0, g.padded_h, 0, g.padded_w
    pad_mask = np.ones(xp.shape, dtype=bool)
    pad_mask[pt:pt + g.in_h, pl:pl + g.in_w] = False
    view = GridView(xp[r0:r1, c0:c1], title,
                    row_labels=[str(r - pt) for r in range(r0, r1)],
                    col_labels=[str(c - pl) for c in range(c0, c1)],
                    pad_mask=pad_mask[r0:r1, c0:c1])
    return view, (r0, c0)


def _step(xp: np.ndarray, plan: ConvPlan, out: tuple[int, int], origin: tuple[int, int], bias: float,
          value: float, prev) -> Step:
    """One output value: the kernel's window on the padded input and the written-out sum."""
    g = plan.geometry
    (sy, sx), (dy, dx) = g.stride, g.dilation
    k = plan.kernel
    oy, ox = out
    r0, c0 = origin
    window = []
    terms = []
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            r, c = oy * sy + i * dy, ox * sx + j * dx
            window.append((r - r0, c - c0))
            terms.append(f"{fmt_factor(xp[r, c])}×{fmt_factor(k[i, j])}")
    expr = " + ".join(terms) + (f" + bias {fmt_factor(bias)}" if bias else "") + f" = {fmt(value)}"
    return Step(out, window, terms, expr, value, move_text(prev, out, g.stride))
