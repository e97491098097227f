"""2-D convolution (cross-correlation, as PyTorch and the slides compute it)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit, prange  # prange: the dense (channel-mixing) kernel

from ..errors import ParameterError
from ..kernels import parse_kernel
from ..limits import check_pixels
from ..shapes import ConvGeometry, as_pair, effective_kernel, resolve_conv_padding
from ._common import as_float_image, check_padding_fits, check_padding_mode, from_planes, pad_planes, to_planes
from ._parallel import run_blocks
from .sinks import Pixels, RangeRule, sink_or_values


# padding modes as the kernels see them
_MODE_CODE = {"zeros": 0, "reflect": 1, "replicate": 2, "circular": 3}
# output values computed per pass over the taps: a chunk of a row that stays in L1
_CHUNK = 2048


@njit(cache=True)
def _source_index(q, n, mode):  # pragma: no cover - compiled
    """The input index that padded position ``q`` (relative to the first input cell) reads, or -1 (zero)."""
    if 0 <= q < n:
        return q
    if mode == 0:
        return -1
    if mode == 2:
        return 0 if q < 0 else n - 1
    if mode == 3:
        return q % n
    if n == 1:
        return 0
    period = 2 * (n - 1)
    q = q % period
    return q if q < n else period - q


@njit(cache=True)
def _fill_padded_row(x, y, nc, pl, mode, buf):  # pragma: no cover - compiled
    """buf[(pl + W + pr)·nc] = input row ``y`` (channels interleaved) padded left and right, as float32."""
    w = x.shape[1] // nc
    pw = buf.shape[0] // nc
    base = pl * nc
    row = x[y]
    inner = buf[base:base + w * nc]
    for t in range(w * nc):
        inner[t] = row[t]
    for p in range(pl):
        s = _source_index(p - pl, w, mode)
        for c in range(nc):
            buf[p * nc + c] = 0.0 if s < 0 else row[s * nc + c]
    for p in range(pl + w, pw):
        s = _source_index(p - pl, w, mode)
        for c in range(nc):
            buf[p * nc + c] = 0.0 if s < 0 else row[s * nc + c]


@njit(cache=True)
def _taps_1d(src, weights, step, nc, sx, c0, m, acc):  # pragma: no cover - compiled
    """acc[t] += Σ_j weights[j] · src[tap j of output cell c0 + t], t < m (channels interleaved).

    Output cell t = ox·nc + c reads src[(ox·sx + j·step)·nc + c]; at stride 1 that is src[t + j·step·nc],
    contiguous, and up to four taps share one pass over ``acc``. The taps are slices indexed by the
    loop counter alone: an index of unknown sign would make Numba check for negative indices and
    LLVM would give up vectorising.
    """
    n = weights.shape[0]
    if sx == 1:
        d = step * nc
        j = 0
        while j + 4 <= n:
            w0, w1, w2, w3 = weights[j], weights[j + 1], weights[j + 2], weights[j + 3]
            o = c0 + j * d
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            s2 = src[o + 2 * d:o + 2 * d + m]
            s3 = src[o + 3 * d:o + 3 * d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
            j += 4
        o = c0 + j * d
        if n - j == 3:
            w0, w1, w2 = weights[j], weights[j + 1], weights[j + 2]
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            s2 = src[o + 2 * d:o + 2 * d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t]
        elif n - j == 2:
            w0, w1 = weights[j], weights[j + 1]
            s0 = src[o:o + m]
            s1 = src[o + d:o + d + m]
            for t in range(m):
                acc[t] += w0 * s0[t] + w1 * s1[t]
        elif n - j == 1:
            w0 = weights[j]
            s0 = src[o:o + m]
            for t in range(m):
                acc[t] += w0 * s0[t]
    else:
        for j in range(n):
            wj = weights[j]
            for t in range(m):
                cell = c0 + t
                ox = cell // nc
                c = cell - ox * nc
                acc[t] += wj * src[(ox * sx + j * step) * nc + c]


@njit(cache=True)
def _window_rows(oy, kh, sy, dy, pt, h, mode, tags, slots):  # pragma: no cover - compiled
    """For output row ``oy``: slots[i] = ring slot of kernel row i (-1: a zero row); rows to load get
    tags[slot] = -2 - source row (the caller loads them and stores the source row)."""
    span = tags.shape[0]
    for i in range(kh):
        py = oy * sy + i * dy
        s = _source_index(py - pt, h, mode)
        if s < 0:
            slots[i] = -1
            continue
        slot = py % span
        slots[i] = slot
        if tags[slot] != s:
            tags[slot] = -2 - s


@njit(cache=True, nogil=True)
def _rows_block(x, nc, k, bias_row, pt, pl, pr, mode, sy, sx, dy, dx, row0, r0, r1, out):  # pragma: no cover
    """Depthwise 2-D kernel on channel-interleaved rows, output rows r0..r1: x is (H, W·C), out (H', W'·C).

    out[oy, ox·C + c] = Σ_ij k[i, j] · padded[oy·sy + i·dy, (ox·sx + j·dx)·C + c] + bias_row[ox·C + c].
    The padded input rows the window needs are kept in a small ring (each input row is padded once
    per block, in cache: no padded copy of the image).
    """
    h = x.shape[0]
    w = x.shape[1] // nc
    n_out = out.shape[1]
    kh = k.shape[0]
    span = dy * (kh - 1) + 1
    pwc = (pl + w + pr) * nc
    ring = np.empty((span, pwc), dtype=np.float32)
    tags = np.empty(span, dtype=np.int64)   # not np.full: one more overload to compile on a first run
    for t in range(span):
        tags[t] = -1
    slots = np.empty(kh, dtype=np.int64)
    acc = np.empty(min(_CHUNK, n_out), dtype=np.float32)
    for oy in range(r0, r1):
        _window_rows(oy, kh, sy, dy, pt, h, mode, tags, slots)
        for i in range(kh):
            slot = slots[i]
            if slot >= 0 and tags[slot] <= -2:
                tags[slot] = -2 - tags[slot]
                _fill_padded_row(x, tags[slot], nc, pl, mode, ring[slot])
        for c0 in range(0, n_out, _CHUNK):
            m = min(_CHUNK, n_out - c0)
            for t in range(m):
                acc[t] = 0.0
            for i in range(kh):
                slot = slots[i]
                if slot >= 0:
                    _taps_1d(ring[slot], k[i], dx, nc, sx, c0, m, acc)
            dst = out[oy - row0, c0:c0 + m]
            b_chunk = bias_row[c0:c0 + m]
            for t in range(m):
                dst[t] = acc[t] + b_chunk[t]


@njit(cache=True, nogil=True)
def _separable_block(x, nc, kcol, krow, bias_row, pt, pl, pr, mode, sy, sx, dy, dx, row0, r0, r1,
                     out):  # pragma: no cover - compiled
    """As _rows_block for a rank-1 kernel k = kcol ⊗ krow: each padded input row is filtered with
    krow once (into the ring), and each output row is Σ_i kcol[i] · ring row i: kh + kw taps, not kh·kw."""
    h = x.shape[0]
    w = x.shape[1] // nc
    n_out = out.shape[1]
    kh = kcol.shape[0]
    span = dy * (kh - 1) + 1
    pwc = (pl + w + pr) * nc
    ring = np.empty((span, n_out), dtype=np.float32)
    padded = np.empty(pwc, dtype=np.float32)
    tags = np.empty(span, dtype=np.int64)   # not np.full: one more overload to compile on a first run
    for t in range(span):
        tags[t] = -1
    slots = np.empty(kh, dtype=np.int64)
    live = np.empty(kh, dtype=np.int64)
    col = np.empty(kh, dtype=np.float32)
    acc = np.empty(min(_CHUNK, n_out), dtype=np.float32)
    for oy in range(r0, r1):
        _window_rows(oy, kh, sy, dy, pt, h, mode, tags, slots)
        for i in range(kh):
            slot = slots[i]
            if slot >= 0 and tags[slot] <= -2:
                tags[slot] = -2 - tags[slot]
                _fill_padded_row(x, tags[slot], nc, pl, mode, padded)
                filtered = ring[slot]
                for c0 in range(0, n_out, _CHUNK):
                    m = min(_CHUNK, n_out - c0)
                    for t in range(m):
                        acc[t] = 0.0
                    _taps_1d(padded, krow, dx, nc, sx, c0, m, acc)
                    dst = filtered[c0:c0 + m]
                    for t in range(m):
                        dst[t] = acc[t]
        # the vertical pass over the live (non-zero) rows, four rows per pass over the chunk
        n_live = 0
        for i in range(kh):
            if slots[i] >= 0:
                live[n_live] = slots[i]
                col[n_live] = kcol[i]
                n_live += 1
        for c0 in range(0, n_out, _CHUNK):
            m = min(_CHUNK, n_out - c0)
            for t in range(m):
                acc[t] = 0.0
            i = 0
            while i + 4 <= n_live:
                w0, w1, w2, w3 = col[i], col[i + 1], col[i + 2], col[i + 3]
                s0 = ring[live[i], c0:c0 + m]
                s1 = ring[live[i + 1], c0:c0 + m]
                s2 = ring[live[i + 2], c0:c0 + m]
                s3 = ring[live[i + 3], c0:c0 + m]
                for t in range(m):
                    acc[t] += w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t]
                i += 4
            while i < n_live:
                wi = col[i]
                s0 = ring[live[i], c0:c0 + m]
                for t in range(m):
                    acc[t] += wi * s0[t]
                i += 1
            dst = out[oy - row0, c0:c0 + m]
            b_chunk = bias_row[c0:c0 + m]
            for t in range(m):
                dst[t] = acc[t] + b_chunk[t]


@njit(cache=True, parallel=True)
def _conv2d_dense(xp, w, bias, sy, sx, dy, dx, out):  # pragma: no cover - compiled
    """out[co, oy, ox] = bias[co] + Σ_ci Σ_ij w[co, ci, i, j] · xp[ci, oy·sy + i·dy, ox·sx + j·dx]."""
    c_out, out_h, out_w = out.shape
    c_in, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    for r in prange(c_out * out_h):
        co = r // out_h
        oy = r - co * out_h
        acc = np.zeros(out_w, dtype=np.float32)
        for ci in range(c_in):
            for i in range(kh):
                y = oy * sy + i * dy
                for j in range(kw):
                    wt = w[co, ci, i, j]
                    x0 = j * dx
                    for ox in range(out_w):
                        acc[ox] += wt * xp[ci, y, x0 + ox * sx]
        b = bias[co]
        for ox in range(out_w):
            out[co, oy, ox] = acc[ox] + b


@dataclass(frozen=True)
class ConvPlan:
    """A checked convolution: the geometry plus the kernel as it will be applied."""

    geometry: ConvGeometry
    kernel: np.ndarray          # (kh, kw) or (C_out, C_in, kh, kw), already flipped if asked
    padding_mode: str
    channels_in: int
    channels_out: int
    bias: np.ndarray            # (C_out,)

    @property
    def dense(self) -> bool:
        return self.kernel.ndim == 4


@dataclass(frozen=True)
class ConvSettings:
    """Every convolution parameter checked, before any input is seen (shape checks come in ``plan``)."""

    kernel: np.ndarray          # (kh, kw) or (C_out, C_in, kh, kw), already flipped if asked
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int, int, int]
    padding_mode: str
    bias: np.ndarray            # 1 value (for every channel) or one per output channel

    def plan(self, shape: Sequence[int]) -> "ConvPlan":
        """Check the settings against an input ``shape`` ((H, W) or (H, W, C))."""
        h, w = int(shape[0]), int(shape[1])
        c = int(shape[2]) if len(shape) == 3 else 1
        k = self.kernel
        if k.ndim == 4:
            if k.shape[1] != c:
                raise ParameterError(
                    f"the 4-D kernel has shape {tuple(k.shape)} = (C_out, C_in, kh, kw), so it expects "
                    f"{k.shape[1]} input channel(s), but the input has {c}")
            c_out = k.shape[0]
        else:
            c_out = c
        kh, kw = k.shape[-2], k.shape[-1]
        d, pad = self.dilation, self.pad
        geom = ConvGeometry(h, w, kh, kw, self.stride, d, pad)
        eh, ew = effective_kernel(kh, d[0]), effective_kernel(kw, d[1])
        if eh > geom.padded_h or ew > geom.padded_w:
            dil = f" (spanning {eh}×{ew} with dilation {d[0]},{d[1]})" if d != (1, 1) else ""
            raise ParameterError(
                f"kernel {kh}×{kw}{dil} is larger than the padded input {geom.padded_h}×{geom.padded_w} "
                f"(input {h}×{w}, padding {pad[0]},{pad[1]},{pad[2]},{pad[3]})")
        if any(pad):   # the channel-mixing path copies the input into a padded buffer: refuse a huge one first
            check_pixels(geom.padded_h, geom.padded_w, c, what="the padded input")
        check_pixels(geom.out_h, geom.out_w, c_out)
        b = self.bias
        if b.size == 1:
            b = np.full(c_out, b[0], dtype=np.float32)
        elif b.size != c_out:
            raise ParameterError(f"bias has {b.size} values but the output has {c_out} channel(s)")
        check_padding_fits(h, w, pad, self.padding_mode)
        return ConvPlan(geom, k, self.padding_mode, c, c_out, b)


def conv_settings(kernel, *, stride=1, padding=0, padding_mode="zeros", dilation=1, flip=False,
                  bias=0.0) -> ConvSettings:
    """Check everything that does not depend on the input (kernel, stride, padding words, mode, bias)."""
    k = parse_kernel(kernel)
    if flip:
        k = np.ascontiguousarray(k[..., ::-1, ::-1])
    s = as_pair(stride, "stride", minimum=1)
    d = as_pair(dilation, "dilation", minimum=1)
    pad = resolve_conv_padding(padding, (k.shape[-2], k.shape[-1]), d, s)
    mode = check_padding_mode(padding_mode)
    b = np.asarray(bias, dtype=np.float64).reshape(-1)
    if b.size == 0:
        raise ParameterError("bias is empty")
    if not np.all(np.isfinite(b)):
        raise ParameterError("bias must be finite")
    return ConvSettings(k, s, d, pad, mode, b.astype(np.float32))


def plan_convolution(shape: Sequence[int], kernel, *, stride=1, padding=0, padding_mode="zeros",
                     dilation=1, flip=False, bias=0.0) -> ConvPlan:
    """Check every parameter against an input ``shape`` ((H, W) or (H, W, C)) and resolve the geometry.

    ``kernel`` may also be a :class:`ConvSettings` (then the other arguments are ignored).
    Raises ``ParameterError`` with a message naming the bad argument.
    """
    settings = kernel if isinstance(kernel, ConvSettings) else conv_settings(
        kernel, stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation, flip=flip, bias=bias)
    return settings.plan(shape)


def pad_input(planes: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """The padded (C, H + pt + pb, W + pl + pr) planes the kernel slides over."""
    return np.ascontiguousarray(pad_planes(planes, plan.geometry.pad, plan.padding_mode), dtype=np.float32)


def convolve(image, kernel, *, stride=1, padding=0, padding_mode="zeros", dilation=1, flip=False,
             bias=0.0) -> np.ndarray:
    """Slide a kernel over an image: 2-D cross-correlation with PyTorch's ``conv2d`` semantics.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Values on their own scale (0..255 for 8-bit images). A 2-D kernel filters each channel.
    kernel : str or array_like
        A kernel spec (``"sobel-x"``, ``"gaussian:5,1.2"``, ``"1,0,-1;1,0,-1;1,0,-1"``, a file) or
        an array: (kh, kw), or (C_out, C_in, kh, kw) — a PyTorch ``Conv2d`` weight that mixes channels.
    stride, dilation : int or (int, int)
        Step of the window and spacing of its taps, ≥ 1.
    padding : int, (int, int), or "valid" | "same" | "full"
        Cells added on each side. ``same`` keeps the size (stride 1 only); ``full`` = d·(k − 1).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        PyTorch's names. OpenCV: BORDER_CONSTANT, BORDER_REFLECT_101, BORDER_REPLICATE, BORDER_WRAP.
    flip : bool
        Flip the kernel (true convolution) instead of cross-correlation.
    bias : float or array_like of C_out floats
        Added to every output value.

    Returns
    -------
    numpy.ndarray of float32
        (H', W') for a 2-D input (and one output channel), else (H', W', C').

    Notes
    -----
    With the slides' filter ``vertical-edge``::

        1  0 -1
        1  0 -1      on rows 50 50 0 0 0 gives 150 150 0
        1  0 -1

    H' = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1.
    """
    arr = np.asarray(image)
    if not (arr.dtype == np.uint8 and arr.ndim in (2, 3) and arr.size):   # uint8 is read as is
        arr = as_float_image(image)
    plan = plan_convolution(arr.shape, kernel, stride=stride, padding=padding, padding_mode=padding_mode,
                            dilation=dilation, flip=flip, bias=bias)
    return run_plan(arr, plan)


def _interleaved(arr: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """The input as channel-interleaved rows (H, W·C), uint8 or float32 (other dtypes become float32)."""
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32, copy=False)
    g = plan.geometry
    return np.ascontiguousarray(arr).reshape(g.in_h, g.in_w * plan.channels_in)


def _direct(rows: np.ndarray, plan: ConvPlan, factors):
    """(block kernel, its leading arguments, multiply-adds per output value) for the direct path."""
    g = plan.geometry
    pt, _, pl, pr = g.pad
    (sy, sx), (dy, dx) = g.stride, g.dilation
    taps = (factors[0].size + factors[1].size) if factors is not None else plan.kernel.size
    args = (rows, plan.channels_in) + ((plan.kernel,) if factors is None else factors) + (
        np.tile(plan.bias, g.out_w), pt, pl, pr, _MODE_CODE[plan.padding_mode], sy, sx, dy, dx)
    return (_rows_block if factors is None else _separable_block), args, taps


def run_plan(arr: np.ndarray, plan: ConvPlan, sink=None) -> np.ndarray:
    """Run a checked plan on an (H, W) or (H, W, C) array (float32 or uint8; other dtypes become
    float32) into ``sink`` (None: float32 values; Pixels: 8/16-bit pixels, strip by strip where
    the path is row-local)."""
    sink = sink_or_values(sink)
    g = plan.geometry
    if plan.dense:
        xp = pad_input(to_planes(arr), plan)
        out = np.empty((plan.channels_out, g.out_h, g.out_w), dtype=np.float32)
        _conv2d_dense(xp, plan.kernel, plan.bias, g.stride[0], g.stride[1], g.dilation[0], g.dilation[1], out)
        return sink.whole(from_planes(out, arr.ndim == 2))
    nc = plan.channels_in
    rows = _interleaved(arr, plan)
    factors = _rank1_factors(plan.kernel)
    out = None
    if _fft_wins(plan, rank1=factors is not None):
        out = np.empty((g.out_h, g.out_w * nc), dtype=np.float32)
        out = sink.whole(out) if _run_fft(rows, nc, plan, out) else None
    if out is None:
        block, args, taps = _direct(rows, plan, factors)
        n_out = g.out_w * nc
        out = sink.rows(partial(block, *args), g.out_h, n_out, g.out_h * n_out * taps / 4)
    if arr.ndim == 2:
        return out
    return out.reshape(g.out_h, g.out_w, nc)


def run_plan_pixels(arr: np.ndarray, plan: ConvPlan, take_abs: bool, scale: float, shift: float,
                    maxval: float) -> np.ndarray | None:
    """Deprecated: ``run_plan(arr, plan, sink=Pixels(rule))`` does this for every path. Kept until
    the CLI has moved to sinks: the plan's pixels for a pointwise rule (``display.pointwise_rule``),
    or None when the plan does not take a row-local path."""
    if plan.dense or _fft_wins(plan):
        return None
    rule = RangeRule("abs" if take_abs else ("offset" if shift else "clip"), float(maxval))
    return run_plan(arr, plan, Pixels(rule))


def _rank1_factors(k: np.ndarray):
    """(column, row) float32 vectors with k = column ⊗ row, every entry to within a few float32
    roundings of itself, or None.

    The factors come from the kernel's own entries (the column and the row through its largest
    entry, the first in row-major order), not from an SVD, so that integer kernels such as Sobel or
    the slides' vertical-edge factor exactly ([1, 2, 1] ⊗ [1, 0, −1]) and give bit-identical integer
    results. Plain NumPy: the kernel is tiny, and a compiled version cost a second of compiling on
    a first run.
    """
    kh, kw = k.shape
    if kh < 2 or kw < 2:
        return None
    magnitude = np.abs(k.astype(np.float64))
    p, q = divmod(int(np.argmax(magnitude)), kw)
    big = magnitude[p, q]
    if not big > 0.0:
        return None
    col = k[:, q].astype(np.float32)
    row = (k[p, :].astype(np.float64) / np.float64(k[p, q])).astype(np.float32)
    # every entry within a few float32 roundings of itself (not of the largest entry): a tiny weight
    # that the factors would drop, say 3e-45 beside 1, still counts on an input of 1e15 or ±inf
    error = np.abs(np.outer(col.astype(np.float64), row.astype(np.float64)) - k.astype(np.float64))
    return None if np.any(error > 16.0 * float(np.finfo(np.float32).eps) * magnitude) else (col, row)


# ------------------------------------------------------------------------------------ the FFT path
# A big kernel that is not rank 1 costs kh·kw multiply-adds per output value on the direct path;
# overlap-save FFT correlation costs about the same per value whatever the kernel size. The FFT runs
# in float64 on tiles of the padded input: the rounding error of a float64 FFT is far below float32's
# (the result is cast to float32 at the end), each tile's working set stays in cache, and numpy's
# FFT releases the GIL, so the tiles run on the module's thread pool.

# effective kernel area (kh_eff · kw_eff) from which the FFT path is used, and the fewest output
# values per channel (smaller outputs stay direct). Measured on this project's 2-core machine, both
# paths alternated, random kernels, float32 and uint8 alike (FFT time ÷ direct time):
#   4096²: 15×15 1.8–1.95, 17×17 1.4, 19×19 1.16–1.22, 21×21 0.91, 23×23 0.85–0.97, 31×31 0.48–0.51
#   1024²: 21×21 1.0, 31×31 0.63;  512²: 21×21 0.97, 31×31 0.41;  384² 31×31: 0.51
#   256² 31×31: 1.33; 192²: 1.09 (one tile: its FFT and the kernel's run on the calling thread)
_FFT_MIN_AREA = 400
_FFT_MIN_OUT = 300 * 300
# FFT lengths for the tiles and what one rfft2 + product + irfft2 costs per tile cell at that length
# (ns, float64, one core of this machine, best of 9). Powers of two are not slower here, but above
# ~420 the tile falls out of cache and the cost triples (432: 32 ns, 512: 37 ns).
_FFT_TILES = {256: 9.9, 320: 10.5, 384: 11.6}


def _fast_len(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n (lengths numpy's FFT handles fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _tile_len(span_h: int, span_w: int) -> int:
    """The tile length with the lowest cost per output value for a kernel spanning span_h × span_w."""
    return min(_FFT_TILES, key=lambda n: _FFT_TILES[n] * n * n / max(1, (n - span_h + 1) * (n - span_w + 1)))


def _tiling(out_n: int, span: int, target: int) -> tuple[int, int, int]:
    """(FFT length, outputs per tile, tiles) along one axis for a kernel spanning ``span`` cells.

    Tiles of length ``target``, shortened when the last one would be mostly waste (the outputs are
    spread evenly over the same count of tiles); a short axis gets one tile of the smallest fast
    length that holds it, if that is short (≤ 320: a 405-cell tile measured 2× slower per cell)
    and shorter than the tiles.
    """
    n = max(target, _fast_len(2 * span))
    count = -(-out_n // (n - span + 1))
    even = _fast_len(-(-out_n // count) + span - 1)
    if even <= 0.9 * n:
        n = even
    whole = _fast_len(out_n + span - 1)
    if whole <= max(320, n) and whole <= count * n:
        return whole, out_n, 1
    return n, n - span + 1, -(-out_n // (n - span + 1))


def _fft_wins(plan: ConvPlan, rank1: bool | None = None) -> bool:
    """Whether the plan's shape calls for the FFT path (the input's values are checked separately).

    ``rank1``: whether the kernel splits (``_rank1_factors``), when the caller already knows.
    """
    g = plan.geometry
    if rank1 is None:
        rank1 = not plan.dense and _rank1_factors(plan.kernel) is not None
    if plan.dense or g.stride != (1, 1) or rank1:
        return False
    eh, ew = effective_kernel(g.k_h, g.dilation[0]), effective_kernel(g.k_w, g.dilation[1])
    return eh * ew >= _FFT_MIN_AREA and g.out_h * g.out_w >= _FFT_MIN_OUT


@njit(cache=True, nogil=True)
def _fill_tile(x, nc, c, y0, x0, pt, pl, ph, pw, mode, tile):  # pragma: no cover - compiled
    """tile[a, b] = channel ``c`` of the padded input at (y0 + a, x0 + b), as float64; 0 past its end.

    x is (H, W·C) channel-interleaved; the padded input is ph × pw with pt rows on top and pl columns
    on the left, in padding ``mode``: no padded copy of the image is made. Returns (all finite, all
    whole numbers, max |value|) of the tile, checked on the way (rows are in L1 by then: no extra pass).
    """
    h = x.shape[0]
    w = x.shape[1] // nc
    th, tw = tile.shape
    # tile columns that read input columns directly
    b_lo = min(max(0, pl - x0), tw)
    b_hi = max(b_lo, min(tw, pl + w - x0))
    probe = 0.0
    frac = 0.0
    big = 0.0
    for a in range(th):
        dst = tile[a]
        py = y0 + a
        s = _source_index(py - pt, h, mode) if py < ph else -1
        if s < 0:
            for b in range(tw):
                dst[b] = 0.0
            continue
        row = x[s]
        off = (x0 - pl) * nc + c
        for b in range(b_lo, b_hi):
            dst[b] = row[off + b * nc]
        for b in range(b_lo):
            q = _source_index(x0 + b - pl, w, mode)
            dst[b] = 0.0 if q < 0 else row[q * nc + c]
        for b in range(b_hi, tw):
            px = x0 + b
            q = _source_index(px - pl, w, mode) if px < pw else -1
            dst[b] = 0.0 if q < 0 else row[q * nc + c]
        for b in range(tw):
            v = dst[b]
            probe += v * 0.0                    # NaN as soon as one value is ±inf or NaN
            frac = max(frac, abs(v - np.floor(v)))
            big = max(big, abs(v))
    finite = probe == 0.0
    return finite, finite and frac == 0.0, big


@njit(cache=True, nogil=True)
def _store_tile(res, nc, c, oy0, ox0, vh, vw, bias, whole, out):  # pragma: no cover - compiled
    """out[oy0 + a, (ox0 + b)·C + c] = float32(res[a, b] (rounded to a whole number if ``whole``) + bias)."""
    for a in range(vh):
        src = res[a]
        dst = out[oy0 + a]
        base = ox0 * nc + c
        if whole:
            for b in range(vw):
                dst[base + b * nc] = np.float32(np.rint(src[b]) + bias)
        else:
            for b in range(vw):
                dst[base + b * nc] = np.float32(src[b] + bias)


def _run_fft(rows: np.ndarray, nc: int, plan: ConvPlan, out: np.ndarray) -> bool:
    """Overlap-save FFT correlation of channel-interleaved ``rows`` (H, W·C) into ``out`` (H', W'·C).

    Each tile of th × tw padded-input cells gives (th − eh + 1) × (tw − ew + 1) outputs: the circular
    correlation with the (dilated) kernel is exact there. Where a tile holds only whole numbers and
    the kernel too, and |values| · Σ|k| < 2^24, the exact results are whole numbers that float32
    holds: they are rounded before the bias is added, and match the direct path's exact sums bit
    for bit. Returns False, leaving ``out`` unfinished, as soon as a tile holds a NaN or ±inf
    (it would spread over the whole tile): the caller runs the direct path instead.
    """
    g = plan.geometry
    (dy, dx) = g.dilation
    eh, ew = effective_kernel(g.k_h, dy), effective_kernel(g.k_w, dx)
    target = _tile_len(eh, ew)
    th, vh, ny = _tiling(g.out_h, eh, target)
    tw, vw, nx = _tiling(g.out_w, ew, target)
    k = plan.kernel
    kpad = np.zeros((th, tw))
    kpad[:eh:dy, :ew:dx] = k
    spec = np.conj(np.fft.rfft2(kpad))          # correlation = product with the conjugate spectrum
    # below this max |tile value| the exact results are whole numbers float32 holds (if k is whole)
    exact_below = 2.0 ** 24 / float(np.abs(k.astype(np.float64)).sum()) if np.all(k == np.round(k)) else -1.0
    pt, _, pl, _ = g.pad
    mode = _MODE_CODE[plan.padding_mode]
    bias = [float(b) for b in plan.bias]
    tiles = [(ty, c, tx) for ty in range(ny) for c in range(nc) for tx in range(nx)]
    failed = []

    def work(j0: int, j1: int, out: np.ndarray) -> None:
        # buffers reused for every tile: fresh 0.5 MiB arrays per FFT cost about a third more time
        tile = np.empty((th, tw))
        f = np.empty((th, tw // 2 + 1), dtype=np.complex128)
        res = np.empty((th, tw))
        for ty, c, tx in tiles[j0:j1]:
            if failed:
                return
            oy0, ox0 = ty * vh, tx * vw
            finite, whole, big = _fill_tile(rows, nc, c, oy0, ox0, pt, pl, g.padded_h, g.padded_w, mode, tile)
            if not finite:
                failed.append((ty, c, tx))
                return
            np.fft.rfft2(tile, out=f)
            np.multiply(f, spec, out=f)
            # the inverse by hand: irfft2(out=...) leaves ``out`` unfilled in numpy 2.4, and only the
            # rows kept need the last pass
            np.fft.ifft(f, axis=0, out=f)
            m = min(vh, g.out_h - oy0)
            np.fft.irfft(f[:m], n=tw, axis=1, out=res[:m])
            _store_tile(res, nc, c, oy0, ox0, m, min(vw, g.out_w - ox0), bias[c], whole and big < exact_below, out)

    run_blocks(lambda j0, j1: work(j0, j1, out), len(tiles), len(tiles) * th * tw * 8)
    return not failed


def carry_alpha(alpha: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """Move an alpha plane through the plan's geometry without filtering it.

    Each output pixel takes the alpha of its window's centre tap (row (kh − 1)//2, column
    (kw − 1)//2), borders replicated; with ``padding="same"`` at stride 1 this is the alpha unchanged.
    """
    g = plan.geometry
    centre = np.zeros((g.k_h, g.k_w), dtype=np.float32)
    centre[(g.k_h - 1) // 2, (g.k_w - 1) // 2] = 1.0
    centre_plan = ConvPlan(g, centre, "replicate", 1, 1, np.zeros(1, dtype=np.float32))
    return run_plan(np.asarray(alpha, dtype=np.float32), centre_plan)
