"""Resizing by interpolation, with the semantics of ``torch.nn.functional.interpolate``.

Every mode is separable: each output row reads a few input rows with weights, each output column
a few input columns. The plan computes these per-axis taps (indices and weights) in Python with
PyTorch's own float32 arithmetic, so that the source indices match PyTorch exactly; one Numba
kernel then combines them: out[y, x] = Σ_i Σ_j wy[y, i] · wx[x, j] · in[iy[y, i], ix[x, j]].
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

from ..errors import ParameterError
from ..limits import check_pixels
from ..shapes import upsample_out_formula, upsample_out
from ._common import as_float_image, parse_word, from_rows, interleaved_rows
from ._paths import Option, choose
from .sinks import sink_or_values

UPSAMPLE_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")
# one engine serves every mode: separable taps on channel-interleaved rows, row-local
UPSAMPLE_PATHS = ("rows",)
_MODE_ALIASES = {"linear": "bilinear", "nearest_exact": "nearest-exact", "cubic": "bicubic"}
CUBIC_A = -0.75          # PyTorch's (and OpenCV's) bicubic convolution parameter


@njit(cache=True, nogil=True)
def _horizontal(row, off, wx, period, h):  # pragma: no cover - compiled
    """h[t] = 0 + Σ_j wx[j, t] · row[off[j, t]], taps in order (fused passes for 2 and 4 taps).

    ``period`` = (t0, n, p, step): for t0 <= t < t0 + n·p the tables repeat every p positions with
    the offsets advanced by ``step`` (e.g. ×2: p = 2·C, step = C), so the middle of the row reads
    contiguous slices instead of gathering through the tables; n = 0: no such run."""
    tx = off.shape[0]
    n = h.shape[0]
    if tx == 2 and period[1] > 0:
        # the periodic middle: no index tables, contiguous source slices
        t0, n_per, p, step = period[0], period[1], period[2], period[3]
        t1 = t0 + n_per * p
        for t in range(t0):
            h[t] = (np.float32(0.0) + wx[0, t] * row[off[0, t]]) + wx[1, t] * row[off[1, t]]
        for t in range(t1, n):
            h[t] = (np.float32(0.0) + wx[0, t] * row[off[0, t]]) + wx[1, t] * row[off[1, t]]
        if p == 2 and step == 1:        # ×2 on one channel: both phases in one vectorised loop
            wa0, wa1, wb0, wb1 = wx[0, t0], wx[1, t0], wx[0, t0 + 1], wx[1, t0 + 1]
            ba0, ba1, bb0, bb1 = off[0, t0], off[1, t0], off[0, t0 + 1], off[1, t0 + 1]
            sa0 = row[ba0:ba0 + n_per]
            sa1 = row[ba1:ba1 + n_per]
            sb0 = row[bb0:bb0 + n_per]
            sb1 = row[bb1:bb1 + n_per]
            hs = h[t0:t1]
            for q in range(n_per):
                hs[2 * q] = (np.float32(0.0) + wa0 * sa0[q]) + wa1 * sa1[q]
                hs[2 * q + 1] = (np.float32(0.0) + wb0 * sb0[q]) + wb1 * sb1[q]
        else:
            for r in range(p):
                w0, w1 = wx[0, t0 + r], wx[1, t0 + r]
                b0, b1 = off[0, t0 + r], off[1, t0 + r]
                for q in range(n_per):
                    h[t0 + q * p + r] = ((np.float32(0.0) + w0 * row[b0 + q * step])
                                         + w1 * row[b1 + q * step])
    elif tx == 2:
        o0, o1, w0, w1 = off[0], off[1], wx[0], wx[1]
        for t in range(n):
            h[t] = (np.float32(0.0) + w0[t] * row[o0[t]]) + w1[t] * row[o1[t]]
    elif tx == 4:
        o0, o1, o2, o3 = off[0], off[1], off[2], off[3]
        w0, w1, w2, w3 = wx[0], wx[1], wx[2], wx[3]
        for t in range(n):
            h[t] = ((((np.float32(0.0) + w0[t] * row[o0[t]]) + w1[t] * row[o1[t]]) + w2[t] * row[o2[t]])
                    + w3[t] * row[o3[t]])
    else:
        for t in range(n):
            h[t] = np.float32(0.0)
        for j in range(tx):
            oj = off[j]
            wj = wx[j]
            for t in range(n):
                h[t] += wj[t] * row[oj[t]]


@njit(cache=True, nogil=True)
def _resample_rows(x, iy, wy, off, wx, period, row0, r0, r1, out):  # pragma: no cover - compiled
    """Output rows r0..r1 of a separable resampling on channel-interleaved rows.

    x is (H, W·C), out's row 0 is output row ``row0`` (W'·C values a row). Horizontal pass: each input row the output rows need is
    interpolated once into a small ring, h[t] = 0 + Σ_j wx[j, t] · row[off[j, t]] (``off`` holds
    the interleaved source positions ix·C + c, unsigned so that no negative-index check is made);
    vertical pass: out[oy, t] = 0 + Σ_i wy[oy, i] · h_{iy[oy, i]}[t], contiguous and vectorised.
    The sums run in the same order as out[y, x] = Σ_i wy · (Σ_j wx · in), bit for bit.
    """
    ty = iy.shape[1]
    n_out = out.shape[1]
    ring = np.empty((ty, n_out), dtype=np.float32)
    tags = np.empty(ty, dtype=np.int64)   # not np.full: one more overload to compile on a first run
    for t in range(ty):
        tags[t] = -1
    for oy in range(r0, r1):
        for i in range(ty):
            y = iy[oy, i]
            slot = y % ty
            if tags[slot] != y:
                tags[slot] = y
                _horizontal(x[y], off, wx, period, ring[slot])
        dst = out[oy - row0]
        if ty == 2:         # (bi)linear: one fused pass
            w0, w1 = wy[oy, 0], wy[oy, 1]
            h0, h1 = ring[iy[oy, 0] % ty], ring[iy[oy, 1] % ty]
            for t in range(n_out):
                dst[t] = (np.float32(0.0) + w0 * h0[t]) + w1 * h1[t]
        elif ty == 4:       # bicubic
            w0, w1, w2, w3 = wy[oy, 0], wy[oy, 1], wy[oy, 2], wy[oy, 3]
            h0, h1 = ring[iy[oy, 0] % ty], ring[iy[oy, 1] % ty]
            h2, h3 = ring[iy[oy, 2] % ty], ring[iy[oy, 3] % ty]
            for t in range(n_out):
                dst[t] = (((np.float32(0.0) + w0 * h0[t]) + w1 * h1[t]) + w2 * h2[t]) + w3 * h3[t]
        else:
            for t in range(n_out):
                dst[t] = np.float32(0.0)
            for i in range(ty):
                w = wy[oy, i]
                h = ring[iy[oy, i] % ty]
                for t in range(n_out):
                    dst[t] += w * h[t]


@dataclass(frozen=True)
class AxisTaps:
    """How one axis is resampled: for each output index, its source coordinate and input taps."""

    n_in: int
    n_out: int
    scale: float | None          # the user's scale factor, or None when the size was given
    ratio: float                 # input pixels per output pixel used by the coordinate map
    source: np.ndarray           # (n_out,) the source coordinate (float, before clamping)
    index: np.ndarray            # (n_out, taps) int64 input indices (clamped to the input)
    weight: np.ndarray           # (n_out, taps) float32 weights (each row sums to 1)
    rule: str                    # the coordinate map in words, e.g. "src = (dst + 0.5)·ratio − 0.5"


@dataclass(frozen=True)
class UpsamplePlan:
    mode: str
    align_corners: bool
    channels: int
    y: AxisTaps
    x: AxisTaps
    path: str = "rows"          # the path that runs (UPSAMPLE_PATHS)

    @property
    def in_h(self) -> int:
        return self.y.n_in

    @property
    def in_w(self) -> int:
        return self.x.n_in

    @property
    def out_h(self) -> int:
        return self.y.n_out

    @property
    def out_w(self) -> int:
        return self.x.n_out

    def formulas(self) -> list[str]:
        """The output-size formulas with the numbers put in, then each axis' coordinate map."""
        return [upsample_out_formula(axis, t.n_in, scale=t.scale, size=None if t.scale is not None else t.n_out)
                for axis, t in (("H", self.y), ("W", self.x))] + [f"rows:    {self.y.rule}", f"columns: {self.x.rule}"]


def check_upsample_mode(mode: str) -> str:
    m = parse_word(mode, UPSAMPLE_MODES, _MODE_ALIASES)
    if m is None:
        raise ParameterError(f"interpolation mode must be one of {', '.join(UPSAMPLE_MODES)} (or linear = "
                             f"bilinear), got {mode!r}")
    return m


def _f32(v) -> np.float32:
    return np.float32(v)


def _scales_value(n: int, m: int, scale: float | None) -> np.float32:
    """PyTorch's compute_scales_value: 1/scale when a scale was given, else in/out; as float32."""
    if scale is not None and scale > 0:
        return _f32(1.0 / scale)
    return _f32(n) / _f32(m)


def _linear_ratio(n: int, m: int, scale: float | None, align_corners: bool) -> np.float32:
    """PyTorch's area_pixel_compute_scale."""
    if align_corners:
        return _f32(n - 1) / _f32(m - 1) if m > 1 else _f32(0.0)
    return _scales_value(n, m, scale)


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution weights (a = −0.75) for fractional offsets t, float32, shape (n, 4)."""
    a = _f32(CUBIC_A)
    one = _f32(1.0)

    def near(v):     # |v| <= 1
        return ((a + _f32(2)) * v - (a + _f32(3))) * v * v + one

    def far(v):      # 1 < |v| < 2
        return ((a * v - _f32(5) * a) * v + _f32(8) * a) * v - _f32(4) * a

    return np.stack([far(t + one), near(t), near(one - t), far((one - t) + one)], axis=1).astype(np.float32)


# PyTorch's CPU ``nearest`` has two code paths that differ when a scale factor gives exactly the
# same or twice the size (say 2.017 on 42 rows -> 84): the one for small outputs (H_out + W_out
# <= 128) copies / halves the index, the general one floors dst × (1/scale). We follow both.
SMALL_NEAREST_OUTPUT = 128


def axis_taps(n: int, m: int, mode: str, scale: float | None, align_corners: bool,
              nearest_shortcuts: bool = True) -> AxisTaps:
    """Source coordinates, input indices and weights of one axis, exactly as PyTorch computes them.

    ``nearest_shortcuts``: whether ``nearest`` takes PyTorch's ×1 / ×2 shortcuts (see above)."""
    dst = np.arange(m, dtype=np.int64)
    dstf = dst.astype(np.float32)
    half = _f32(0.5)
    if mode in ("nearest", "nearest-exact"):
        r = _scales_value(n, m, scale)
        if mode == "nearest":
            if m == n and nearest_shortcuts:     # PyTorch's shortcuts for ×1 and ×2
                idx, rule = dst.copy(), "src = dst (same size: a copy)"
            elif m == 2 * n and nearest_shortcuts:
                idx, rule = dst >> 1, "src = ⌊dst / 2⌋ (exactly twice the size)"
            else:
                idx = np.floor(dstf * r).astype(np.int64)
                rule = f"src = ⌊dst × r⌋, r = {_ratio_text(r, n, m, scale)}"
            source = (dst.astype(np.float64) if m == n and nearest_shortcuts
                      else dst / 2.0 if m == 2 * n and nearest_shortcuts else (dstf * r).astype(np.float64))
        else:
            prod = ((dst + 0.5) * np.float64(r)).astype(np.float32)
            idx = np.floor(prod).astype(np.int64)
            source = prod.astype(np.float64)
            rule = f"src = ⌊(dst + 0.5) × r⌋, r = {_ratio_text(r, n, m, scale)}"
        idx = np.minimum(idx, n - 1)
        return AxisTaps(n, m, scale, float(r), source, idx[:, None], np.ones((m, 1), np.float32), rule)
    r = _linear_ratio(n, m, scale, align_corners)
    rt = _ratio_text(r, n, m, scale, align_corners)
    if align_corners:
        src = r * dstf
        rule = f"src = dst × r, r = {rt}"
    else:
        src = r * (dstf + half) - half
        rule = f"src = (dst + 0.5) × r − 0.5, r = {rt}"
    if mode == "bilinear":
        if m == n:                          # PyTorch: same size is a copy
            idx = np.stack([dst, dst], axis=1)
            w = np.stack([np.ones(m, np.float32), np.zeros(m, np.float32)], axis=1)
            return AxisTaps(n, m, scale, float(r), dst.astype(np.float64), idx, w, "src = dst (same size: a copy)")
        src = np.maximum(src, _f32(0.0))
        rule += "; below 0 becomes 0"
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        lam1 = np.clip(src - i0.astype(np.float32), _f32(0.0), _f32(1.0)).astype(np.float32)
        i1 = i0 + (i0 < n - 1)
        idx = np.stack([i0, i1], axis=1)
        w = np.stack([_f32(1.0) - lam1, lam1], axis=1).astype(np.float32)
        return AxisTaps(n, m, scale, float(r), src.astype(np.float64), idx, w, rule)
    # bicubic: four taps around ⌊src⌋, borders clamped
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    t = np.clip(src - i0.astype(np.float32), _f32(0.0), _f32(1.0)).astype(np.float32)
    idx = np.clip(i0[:, None] + np.arange(-1, 3)[None, :], 0, n - 1)
    return AxisTaps(n, m, scale, float(r), src.astype(np.float64), idx, _cubic_weights(t), rule)


def _num(v: float) -> str:
    return f"{float(v):.6g}"


def _ratio_text(r: np.float32, n: int, m: int, scale: float | None, align_corners: bool = False) -> str:
    fmt = _num
    if align_corners:
        return f"(in − 1)/(out − 1) = {n - 1}/{m - 1} = {fmt(r)}" if m > 1 else "0 (one output cell)"
    if scale is not None:
        return f"1/scale = 1/{fmt(scale)} = {fmt(r)}"
    return f"in/out = {n}/{m} = {fmt(r)}"


def _scale_pair(scale) -> tuple[float, float]:
    if isinstance(scale, (int, float, np.integer, np.floating)) and not isinstance(scale, bool):
        vals = (float(scale), float(scale))
    else:
        try:
            items = [float(v) for v in scale]
        except (TypeError, ValueError):
            raise ParameterError(f"scale must be a number or a pair of numbers (Y,X), got {scale!r}") from None
        if len(items) == 1:
            items = items * 2
        if len(items) != 2:
            raise ParameterError(f"scale must be one number or two (Y,X), got {len(items)} values")
        vals = (items[0], items[1])
    for v in vals:
        if not math.isfinite(v) or v <= 0:
            raise ParameterError(f"scale must be a finite number > 0, got {v:g}")
    return vals


def plan_upsample(shape: Sequence[int], *, mode: str = "nearest", scale=None, size=None,
                  align_corners: bool = False, path: str | None = None) -> UpsamplePlan:
    """Check every parameter against an input ``shape`` ((H, W) or (H, W, C)); PyTorch's rules.
    ``path`` (or CONVCLI_UPSAMPLE_PATH) may name the one path, ``rows``."""
    m = check_upsample_mode(mode)
    h, w = int(shape[0]), int(shape[1])
    c = int(shape[2]) if len(shape) == 3 else 1
    if align_corners and m not in ("bilinear", "bicubic"):
        raise ParameterError(f"align_corners only applies to bilinear and bicubic, not {m} (as in PyTorch)")
    if (scale is None) == (size is None):
        raise ParameterError("give exactly one of scale (a factor) or size (the output H,W)")
    if scale is not None:
        sy, sx = _scale_pair(scale)
        out_h, out_w = upsample_out(h, scale=sy), upsample_out(w, scale=sx)
        if out_h < 1 or out_w < 1:
            raise ParameterError(f"scale {sy:g},{sx:g} shrinks the {h}×{w} input to nothing "
                                 f"(output ⌊{h}×{sy:g}⌋×⌊{w}×{sx:g}⌋ = {out_h}×{out_w})")
        scales = (sy, sx)
    else:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            size = (int(size), int(size))
        try:
            items = tuple(size)
        except TypeError:
            raise ParameterError(f"size must be an integer or a pair H,W, got {size!r}") from None
        if len(items) == 1:
            items = items * 2
        if len(items) != 2 or not all(hasattr(v, "__index__") and not isinstance(v, bool) for v in items):
            raise ParameterError(f"size must be two whole numbers H,W, got {size!r}")
        out_h, out_w = int(items[0]), int(items[1])
        if out_h < 1 or out_w < 1:
            raise ParameterError(f"size must be at least 1×1, got {out_h}×{out_w}")
        scales = (None, None)
    check_pixels(out_h, out_w, c)
    shortcuts = out_h + out_w <= SMALL_NEAREST_OUTPUT
    return UpsamplePlan(m, bool(align_corners), c,
                        axis_taps(h, out_h, m, scales[0], bool(align_corners), shortcuts),
                        axis_taps(w, out_w, m, scales[1], bool(align_corners), shortcuts),
                        choose("upsample", [Option("rows")], path))


def _periodic_run(off: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """(t0, n, p, step) of the longest stretch where the horizontal tables repeat every p output
    positions with offsets advanced by step (the same weights bit for bit); n = 0 when there is none.

    Tried for p = (output cells per input cell)·C, which catches integer factors such as ×2."""
    none = np.zeros(4, dtype=np.int64)
    n = off.shape[1]
    if off.shape[0] != 2 or n < 64:
        return none
    spread = int(off[0, -1]) - int(off[0, 0])
    if spread <= 0:
        return none
    best = none
    for p, step in _period_candidates(off, n):
        same = np.all((off[:, p:] - off[:, :-p] == step) & (wx[:, p:].view(np.uint32) == wx[:, :-p].view(np.uint32)),
                      axis=0)                    # same[t]: position t + p repeats position t
        # longest run of True in same -> positions t0 .. t0 + len + p - 1 are periodic
        padded = np.concatenate(([False], same, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        if edges.size == 0:
            continue
        lengths = edges[1::2] - edges[::2]
        i = int(np.argmax(lengths))
        t0, count = int(edges[2 * i]), (int(lengths[i]) + p) // p
        if count >= 8 and count > best[1]:
            best = np.array([t0, count, p, step], dtype=np.int64)
    return best


def _period_candidates(off: np.ndarray, n: int):
    """(p, step) pairs worth trying: the smallest p whose offsets advance by a whole step."""
    out = []
    for p in range(1, 17):
        d = off[0, p:] - off[0, :-p]
        mid = d[n // 4: 3 * n // 4]
        if mid.size and np.all(mid == mid[0]) and mid[0] > 0:
            out.append((p, int(mid[0])))
            break
    return out


def run_upsample(arr: np.ndarray, plan: UpsamplePlan, sink=None) -> np.ndarray:
    """Run a checked plan on a float32 (H, W) or (H, W, C) array into ``sink`` (None: float32 values)."""
    rows, nc = interleaved_rows(arr)
    # per interleaved output position t = ox·C + c: the source positions ix·C + c and weights
    chan = np.arange(nc, dtype=np.int64)
    off = (plan.x.index.T[:, :, None] * nc + chan).reshape(plan.x.index.shape[1], -1).astype(np.uintp)
    wx = np.ascontiguousarray(np.repeat(plan.x.weight.T, nc, axis=1), dtype=np.float32)
    fill = partial(_resample_rows, rows, np.ascontiguousarray(plan.y.index), np.ascontiguousarray(plan.y.weight),
                   off, wx, _periodic_run(off, wx))
    n_out = plan.out_w * nc
    taps = plan.y.index.shape[1] + plan.x.index.shape[1]
    out = sink_or_values(sink).rows(fill, plan.out_h, n_out, plan.out_h * n_out * taps)
    return from_rows(out, arr.ndim == 2, nc)


def upsample(image, *, mode: str = "nearest", scale=None, size=None, align_corners: bool = False) -> np.ndarray:
    """Resize an image by interpolation, as ``torch.nn.functional.interpolate`` does.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    mode : {"nearest", "nearest-exact", "bilinear", "bicubic"}
        ``linear`` is accepted for ``bilinear``: linear interpolation along x, then along y (on a
        one-row input it is plain linear interpolation). ``bicubic`` uses Keys' kernel with
        a = −0.75 and repeats the border pixels; it can overshoot the input's range.
    scale : float or (float, float)
        Factor(s) > 0: the output is ⌊H·scale⌋ × ⌊W·scale⌋, and the coordinate map uses 1/scale
        (PyTorch's default, ``recompute_scale_factor=None``).
    size : int or (int, int)
        The output H, W instead of a scale; the coordinate map then uses in/out.
    align_corners : bool
        Bilinear and bicubic only: map the corner pixels' centres onto each other,
        src = dst·(in − 1)/(out − 1), instead of src = (dst + 0.5)·ratio − 0.5.

    Returns
    -------
    numpy.ndarray of float32
        (H', W') for a 2-D input, else (H', W', C).

    Notes
    -----
    The slides' nearest-neighbour upsampling, scale 2::

                          20 20 45 45
        20 45     ->      20 20 45 45
        10 43             10 10 43 43
                          10 10 43 43
    """
    arr = as_float_image(image)
    plan = plan_upsample(arr.shape, mode=mode, scale=scale, size=size, align_corners=align_corners)
    return run_upsample(arr, plan)
