"""Transposed convolution ("deconvolution"), with PyTorch's ``conv_transpose2d`` semantics.

Each input value multiplies the whole kernel and the product is added into the output at
``stride`` steps (the scatter definition). The compiled kernels use the equivalent gather form:
each output row sums the input taps that reach it, so rows run in parallel without write races.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit, prange

from ..errors import ParameterError
from ..kernels import parse_kernel
from ..limits import check_pixels
from ..shapes import Pair, as_pair, tconv_out, tconv_out_formula
from ._common import as_float_image, from_planes, from_rows, interleaved_rows, to_planes
from ._paths import Option, choose
from .conv import convolve
from .sinks import sink_or_values

TCONV_PATHS = ("rows", "planes")


@njit(cache=True, parallel=True)
def _tconv2d(x, w, bias, dense, sy, sx, py, px, dy, dx, out):  # pragma: no cover - compiled
    """out[co, y, x] = bias[co] + Σ w[ci, co', i, j] · x[ci, iy, ix] over y = iy·sy − py + i·dy,
    x = ix·sx − px + j·dx. ``dense``: w is (C_in, C_out, kh, kw) and every ci feeds every co;
    else w is (C, 1, kh, kw) and channel c feeds only itself (groups = C)."""
    c_out, out_h, out_w = out.shape
    c_in, in_h, in_w = x.shape
    kh, kw = w.shape[2], w.shape[3]
    for r in prange(c_out * out_h):
        co = r // out_h
        oy = r - co * out_h
        acc = np.zeros(out_w, dtype=np.float32)
        c_lo = 0 if dense else co
        c_hi = c_in if dense else co + 1
        for ci in range(c_lo, c_hi):
            wo = co if dense else 0
            for i in range(kh):
                t = oy + py - i * dy
                if t < 0 or t % sy != 0:
                    continue
                iy = t // sy
                if iy >= in_h:
                    continue
                for j in range(kw):
                    wt = w[ci, wo, i, j]
                    x0 = j * dx - px
                    for ix in range(in_w):
                        ox = ix * sx + x0
                        if 0 <= ox < out_w:
                            acc[ox] += wt * x[ci, iy, ix]
        b = bias[co]
        for ox in range(out_w):
            out[co, oy, ox] = acc[ox] + b


@njit(cache=True, nogil=True)
def _tconv_rows(x, nc, k, bias, sy, sx, py, px, dy, dx, row0, r0, r1, out):  # pragma: no cover - compiled
    """Depthwise transposed convolution (one (kh, kw) kernel for every channel) on channel-interleaved
    rows, output rows r0..r1: x is (H, W·C), out's row 0 is output row ``row0`` (W'·C values a row).

    Gather form split into the stride's phases along x: output column ox = q·sx + r collects, for
    each tap (i, j) with (j·dx − px) ≡ r (mod sx), the input column q − ⌊(j·dx − px)/sx⌋. Each phase
    r is accumulated in its own contiguous row ``acc[r]``, so every tap is one contiguous, vectorised
    multiply-add of an input row slice; then the phases are interleaved into the output row. Taps are
    added in the order of _tconv2d (i, then j), starting from 0, then the bias: the same bits.
    """
    in_h = x.shape[0]
    in_w = x.shape[1] // nc
    out_w = out.shape[1] // nc
    kh, kw = k.shape
    n_q = (out_w + sx - 1) // sx
    acc = np.empty((sx, n_q * nc), dtype=np.float32)
    for oy in range(r0, r1):
        acc[:, :] = 0.0
        for i in range(kh):
            t = oy + py - i * dy
            if t < 0 or t % sy != 0:
                continue
            iy = t // sy
            if iy >= in_h:
                continue
            row = x[iy]
            for j in range(kw):
                x0 = j * dx - px                 # ox = ix·sx + x0
                r = x0 % sx
                qoff = (x0 - r) // sx            # q = ix + qoff
                ix_lo = max(0, -qoff)
                n_phase = (out_w - r + sx - 1) // sx     # output columns in phase r
                ix_hi = min(in_w, n_phase - qoff)
                if ix_hi <= ix_lo:
                    continue
                wt = k[i, j]
                m = (ix_hi - ix_lo) * nc
                src = row[ix_lo * nc:ix_lo * nc + m]
                a0 = (ix_lo + qoff) * nc
                dst = acc[r, a0:a0 + m]
                for u in range(m):
                    dst[u] += wt * src[u]
        orow = out[oy - row0]
        for r in range(min(sx, out_w)):
            n_phase = (out_w - r + sx - 1) // sx
            a = acc[r]
            if nc == 1:
                b = bias[0]
                for q in range(n_phase):
                    orow[q * sx + r] = a[q] + b
            else:
                for q in range(n_phase):
                    o = (q * sx + r) * nc
                    for c in range(nc):
                        orow[o + c] = a[q * nc + c] + bias[c]


@dataclass(frozen=True)
class TConvPlan:
    """A checked transposed convolution: sizes, parameters and the kernel as given."""

    in_h: int
    in_w: int
    kernel: np.ndarray          # (kh, kw), or (C_in, C_out, kh, kw) as PyTorch's ConvTranspose2d weight
    stride: Pair
    padding: Pair
    output_padding: Pair
    dilation: Pair
    channels_in: int
    channels_out: int
    bias: np.ndarray            # (C_out,)
    path: str = "planes"        # the path that runs (TCONV_PATHS), set by plan_tconv

    @property
    def dense(self) -> bool:
        """Whether the kernel mixes channels (4-D)."""
        return self.kernel.ndim == 4

    @property
    def k_h(self) -> int:
        return int(self.kernel.shape[-2])

    @property
    def k_w(self) -> int:
        return int(self.kernel.shape[-1])

    @property
    def out_h(self) -> int:
        return tconv_out(self.in_h, self.k_h, self.stride[0], self.padding[0], self.output_padding[0],
                         self.dilation[0])

    @property
    def out_w(self) -> int:
        return tconv_out(self.in_w, self.k_w, self.stride[1], self.padding[1], self.output_padding[1],
                         self.dilation[1])

    def formulas(self) -> list[str]:
        return [tconv_out_formula("H", self.in_h, self.k_h, self.stride[0], self.padding[0],
                                  self.output_padding[0], self.dilation[0]),
                tconv_out_formula("W", self.in_w, self.k_w, self.stride[1], self.padding[1],
                                  self.output_padding[1], self.dilation[1])]


def plan_tconv(shape: Sequence[int], kernel, *, stride=1, padding=0, output_padding=0, dilation=1,
               bias=0.0, path: str | None = None) -> TConvPlan:
    """Check every parameter against an input ``shape`` ((H, W) or (H, W, C)); raise ``ParameterError``.
    The plan names its path (:func:`choose_tconv_path`; ``path`` forces one of TCONV_PATHS)."""
    h, w = int(shape[0]), int(shape[1])
    c = int(shape[2]) if len(shape) == 3 else 1
    k = parse_kernel(kernel)
    if k.ndim == 4:
        if k.shape[0] != c:
            raise ParameterError(
                f"the 4-D kernel has shape {tuple(k.shape)} = (C_in, C_out, kh, kw) (PyTorch's "
                f"ConvTranspose2d weight), so it expects {k.shape[0]} input channel(s), but the input has {c}")
        c_out = int(k.shape[1])
    else:
        c_out = c
    s = as_pair(stride, "stride", minimum=1)
    d = as_pair(dilation, "dilation", minimum=1)
    p = as_pair(padding, "padding", minimum=0)
    a = as_pair(output_padding, "output_padding", minimum=0)
    for axis, ai, si, di in (("height", a[0], s[0], d[0]), ("width", a[1], s[1], d[1])):
        if not (ai < si or ai < di):
            raise ParameterError(
                f"output_padding must be smaller than the stride or the dilation (PyTorch's rule), "
                f"but along the {axis} output_padding is {ai}, stride {si}, dilation {di}")
    plan = TConvPlan(h, w, k, s, p, a, d, c, c_out, np.zeros(c_out, dtype=np.float32))
    if plan.out_h < 1 or plan.out_w < 1:
        bad = plan.formulas()[0] if plan.out_h < 1 else plan.formulas()[1]
        raise ParameterError(f"the output would be empty: {bad}; use a smaller padding")
    check_pixels(plan.out_h, plan.out_w, c_out)
    b = np.asarray(bias, dtype=np.float64)
    if b.ndim == 0:
        b = np.full(c_out, float(b))
    b = b.reshape(-1)
    if b.size != c_out:
        raise ParameterError(f"bias has {b.size} values but the output has {c_out} channel(s)")
    if not np.all(np.isfinite(b)):
        raise ParameterError("bias must be finite")
    plan = TConvPlan(h, w, k, s, p, a, d, c, c_out, b.astype(np.float32))
    object.__setattr__(plan, "path", choose_tconv_path(plan, path))  # still being made: frozen from here on
    return plan


def choose_tconv_path(plan: TConvPlan, path: str | None = None) -> str:
    """The transposed convolution's flat chain: the first path that can run the plan.

    rows    a 2-D kernel (one for every channel): the gather split into the stride's phases on
            channel-interleaved rows, every tap one contiguous multiply-add; row-local
    planes  any kernel, on (C, H, W) planes: the general gather, the only path for a 4-D
            (C_in, C_out, kh, kw) kernel that mixes channels

    ``path`` (or CONVCLI_TCONV_PATH) forces one; a path that cannot run the plan is a ParameterError.
    """
    return choose("tconv", [
        Option("rows", None if not plan.dense else "it needs a 2-D kernel (one for every channel), this one is 4-D"),
        Option("planes"),
    ], path)


def run_tconv(arr: np.ndarray, plan: TConvPlan, sink=None) -> np.ndarray:
    """Run a checked plan's path on a float32 (H, W) or (H, W, C) array into ``sink`` (None: float32 values)."""
    sink = sink_or_values(sink)
    if plan.path == "rows":
        return _run_phase_rows(arr, plan, sink)
    return sink.whole(_run_planes(arr, plan))


def _run_phase_rows(arr: np.ndarray, plan: TConvPlan, sink):
    """The rows path: one kernel for every channel, by stride phase on the interleaved rows."""
    rows, nc = interleaved_rows(arr)
    bias = plan.bias if plan.bias.size == nc else np.resize(plan.bias, nc).astype(np.float32)
    fill = partial(_tconv_rows, rows, nc, np.ascontiguousarray(plan.kernel, dtype=np.float32), bias,
                   plan.stride[0], plan.stride[1], plan.padding[0], plan.padding[1],
                   plan.dilation[0], plan.dilation[1])
    # each tap is one contiguous multiply-add, four to a vector: a quarter of them is the work
    out = sink.rows(fill, plan.out_h, plan.out_w * nc, rows.size * plan.kernel.size / 4)
    return from_rows(out, arr.ndim == 2, nc)


def _run_planes(arr: np.ndarray, plan: TConvPlan) -> np.ndarray:
    """The planes path: the general gather; a 2-D kernel acts as (C, 1, kh, kw), channel c on itself."""
    x = to_planes(arr)
    bias = plan.bias
    if plan.dense:
        w = np.ascontiguousarray(plan.kernel, dtype=np.float32)
    else:
        w = np.ascontiguousarray(np.broadcast_to(plan.kernel, (x.shape[0], 1) + plan.kernel.shape),
                                 dtype=np.float32)
        bias = bias if bias.size == x.shape[0] else np.resize(bias, x.shape[0]).astype(np.float32)
    out = np.empty((bias.size, plan.out_h, plan.out_w), dtype=np.float32)
    _tconv2d(x, w, bias, plan.dense, plan.stride[0], plan.stride[1], plan.padding[0], plan.padding[1],
             plan.dilation[0], plan.dilation[1], out)
    return from_planes(out, arr.ndim == 2)


def tconv(image, kernel, *, stride=1, padding=0, output_padding=0, dilation=1, bias=0.0) -> np.ndarray:
    """Transposed convolution: PyTorch's ``conv_transpose2d``, learnable upsampling.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Values on their own scale. A 2-D kernel works on each channel alone (groups = C).
    kernel : str or array_like
        A kernel spec as for :func:`convcli.convolve`, or an array: (kh, kw), or
        (C_in, C_out, kh, kw) — a PyTorch ``ConvTranspose2d`` weight (note: C_in first), which mixes channels.
    stride, dilation : int or (int, int)
        Step between the kernel stamps in the output, and spacing of the kernel taps; ≥ 1.
    padding : int or (int, int)
        Cells cropped from each side of the full result (PyTorch's meaning), ≥ 0.
    output_padding : int or (int, int)
        Extra cells added at the bottom/right; must be smaller than the stride or the dilation.
    bias : float or array_like of C_out floats

    Returns
    -------
    numpy.ndarray of float32
        (H', W') for a 2-D input and kernel, else (H', W', C').

    Notes
    -----
    Every input value is multiplied by the kernel and added into the output at stride steps::

        input 1 2   kernel 1 1   stride 2        1 1 2 2
              3 4          1 1        ->         1 1 2 2
                                                 3 3 4 4
                                                 3 3 4 4

    H' = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1. When k is not a multiple
    of the stride, the stamps overlap unevenly: the checkerboard (see :func:`overlap_map`).
    """
    arr = as_float_image(image)
    plan = plan_tconv(arr.shape, kernel, stride=stride, padding=padding, output_padding=output_padding,
                      dilation=dilation, bias=bias)
    return run_tconv(arr, plan)


def overlap_counts(n: int, k: int, stride: int, padding: int, output_padding: int, dilation: int) -> np.ndarray:
    """Along one axis: how many (input cell, kernel tap) pairs land on each output cell."""
    out = tconv_out(n, k, stride, padding, output_padding, dilation)
    counts = np.zeros(max(out, 0), dtype=np.int64)
    for i in range(n):
        for t in range(k):
            y = i * stride - padding + t * dilation
            if 0 <= y < out:
                counts[y] += 1
    return counts


def overlap_map(plan: TConvPlan) -> np.ndarray:
    """(H_out, W_out) int64 map of how many kernel taps reach each output pixel (kernel values ignored).

    It is the product of the two axes' counts; uneven (the checkerboard) when the kernel size is not a
    multiple of the stride: k = 3, s = 2 gives 1 2 1 2 … along each axis, so 1, 2 and 4 in 2-D.
    """
    rows = overlap_counts(plan.in_h, plan.k_h, plan.stride[0], plan.padding[0], plan.output_padding[0],
                          plan.dilation[0])
    cols = overlap_counts(plan.in_w, plan.k_w, plan.stride[1], plan.padding[1], plan.output_padding[1],
                          plan.dilation[1])
    return np.outer(rows, cols)


def carry_alpha(alpha: np.ndarray, plan: TConvPlan) -> np.ndarray:
    """Move an alpha plane to the output size without filtering it: each output pixel takes the alpha
    of the input pixel whose kernel centre tap lands there (rounded down, clamped to the input)."""
    def index(n_out, n_in, s, p, d, k):
        y = np.arange(n_out)
        return np.clip((y + p - d * ((k - 1) // 2)) // s, 0, n_in - 1)

    rows = index(plan.out_h, plan.in_h, plan.stride[0], plan.padding[0], plan.dilation[0], plan.k_h)
    cols = index(plan.out_w, plan.in_w, plan.stride[1], plan.padding[1], plan.dilation[1], plan.k_w)
    return np.ascontiguousarray(np.asarray(alpha, dtype=np.float32)[rows[:, None], cols[None, :]])


def _nearest_repeat(arr: np.ndarray, factor: Pair) -> np.ndarray:
    """Nearest-neighbour upsampling by whole factors: every pixel becomes a factor_y × factor_x block.

    A stand-in for the shared ``upsample`` op (issue 3, ops/upsample.py) written in parallel with
    this module; ``nearest`` upsampling by an integer factor is exactly this repeat.
    """
    return np.repeat(np.repeat(arr, factor[0], axis=0), factor[1], axis=1)


def remedy_padding(plan: TConvPlan) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) cells the remedy adds around the upsampled image (negative = crop).

    Top/left: dilation·(k − 1) − padding − ⌊(stride − 1)/2⌋, the zero-insertion view's padding
    shifted so each s×s block sits where the transposed convolution puts its input value;
    bottom/right: whatever makes the result exactly as large as the transposed convolution's.
    At stride 1 this is the zero-insertion view itself, so the remedy equals ``tconv``.
    """
    def axis(n, k, s, p, d, out):
        lo = d * (k - 1) - p - (s - 1) // 2
        return lo, out - n * s + d * (k - 1) - lo

    top, bottom = axis(plan.in_h, plan.k_h, plan.stride[0], plan.padding[0], plan.dilation[0], plan.out_h)
    left, right = axis(plan.in_w, plan.k_w, plan.stride[1], plan.padding[1], plan.dilation[1], plan.out_w)
    return top, bottom, left, right


def remedy_kernel(plan: TConvPlan) -> np.ndarray:
    """The kernel the remedy's ordinary convolution uses: the tconv kernel flipped (as in the
    zero-insertion view), a 4-D weight also turned from (C_in, C_out, …) into Conv2d's (C_out, C_in, …)."""
    k = plan.kernel
    if k.ndim == 4:
        k = k.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(k[..., ::-1, ::-1])


def resize_convolve(image, kernel, *, stride=1, padding=0, output_padding=0, dilation=1,
                    bias=0.0) -> np.ndarray:
    """The checkerboard remedy of Odena, Dumoulin and Olah (Distill, 2016): resize, then convolve.

    Nearest-neighbour upsampling by ``stride``, then an ordinary convolution (:func:`convcli.convolve`,
    zero padding) with the same kernel, flipped, so every output pixel gets the same number of taps.
    The result has exactly the size :func:`tconv` gives with the same arguments (the upsampled image
    is padded or cropped as :func:`remedy_padding` says), so the two can be compared pixel by pixel;
    at stride 1 it equals :func:`tconv`.
    """
    arr = as_float_image(image)
    plan = plan_tconv(arr.shape, kernel, stride=stride, padding=padding, output_padding=output_padding,
                      dilation=dilation, bias=bias)
    return run_remedy(arr, plan)


def run_remedy(arr: np.ndarray, plan: TConvPlan) -> np.ndarray:
    """Run :func:`resize_convolve` for a checked plan."""
    sy, sx = plan.stride
    check_pixels(plan.in_h * sy, plan.in_w * sx, plan.channels_in, what="the upsampled image")
    up = _nearest_repeat(arr, plan.stride)
    top, bottom, left, right = remedy_padding(plan)
    widths = [(max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))] + [(0, 0)] * (up.ndim - 2)
    up = np.pad(up, widths)
    h, w = up.shape[:2]
    up = up[max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    bias = plan.bias if plan.channels_out > 1 else float(plan.bias[0])
    out = convolve(up, remedy_kernel(plan), dilation=plan.dilation, bias=bias)
    if out.ndim == 3 and arr.ndim == 2 and plan.channels_out == 1:
        out = out[:, :, 0]
    return out
