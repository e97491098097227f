"""2-D convolution (cross-correlation, as PyTorch and the slides compute it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit, prange  # prange: the dense (channel-mixing) kernel

from ..errors import ParameterError
from ..kernels import parse_kernel
from ..limits import check_pixels
from ..shapes import ConvGeometry, as_pair, effective_kernel, resolve_conv_padding
from ._common import (as_float_image, check_padding_fits, check_padding_mode, from_planes, from_rows, interleaved_rows,
                      pad_planes, to_planes)
from ._conv_fft import FFT_MIN_AREA, FFT_MIN_OUT, run_fft
from ._conv_rows import MODE_CODE, _rows_block, _separable_block, rank1_factors
from ._paths import Option, check_path, choose
from .sinks import sink_or_values

# the convolution's execution paths, in the order the chain tries them (see choose_conv_path)
CONV_PATHS = ("dense", "fft", "separable", "direct")


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
    # given: a path to force (None: the chain chooses); once made: the path that runs (CONV_PATHS)
    path: str | None = None
    factors: tuple | None = field(default=None, init=False, repr=False, compare=False)   # (column, row) if rank 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", rank1_factors(self.kernel) if self.kernel.ndim == 2 else None)
        object.__setattr__(self, "path", choose_conv_path(self, self.path))

    @property
    def dense(self) -> bool:
        """Whether the kernel mixes channels (4-D)."""
        return self.kernel.ndim == 4


def choose_conv_path(plan: ConvPlan, path: str | None = None) -> str:
    """The convolution's flat chain: the first path that can run the plan and wins.

    ==========  ==================================================================================
    dense       a 4-D (C_out, C_in, kh, kw) kernel that mixes channels: the only path for it
    fft         stride 1, a kernel that is not rank 1, effective kernel area (kh_eff·kw_eff) ≥
                FFT_MIN_AREA (400, about 20×20) and ≥ FFT_MIN_OUT (300²) output values per channel
                (measured: see _conv_fft). A tile holding NaN or ±inf hands the run to direct.
    separable   a rank-1 kernel (column ⊗ row, factored exactly from its own entries): kh + kw taps
    direct      any 2-D kernel: kh·kw taps a value
    ==========  ==================================================================================

    ``path`` (or CONVCLI_CONV_PATH) forces one; a path that cannot run the plan is a ParameterError.
    """
    g = plan.geometry
    four_d = plan.kernel.ndim == 4
    needs_2d = "it needs a 2-D kernel (one filter for every channel), this one is 4-D" if four_d else None
    eh, ew = effective_kernel(g.k_h, g.dilation[0]), effective_kernel(g.k_w, g.dilation[1])
    big = eh * ew >= FFT_MIN_AREA and g.out_h * g.out_w >= FFT_MIN_OUT
    return choose("conv", [
        Option("dense", None if four_d else "it needs a 4-D (C_out, C_in, kh, kw) kernel"),
        Option("fft", needs_2d or (None if g.stride == (1, 1) else "it needs stride 1"),
               wins=big and plan.factors is None),
        Option("separable", needs_2d or (None if plan.factors is not None else
                                         "it needs a rank-1 kernel (an outer product column ⊗ row)")),
        Option("direct", needs_2d),
    ], path)


@dataclass(frozen=True)
class ConvSettings:
    """Every convolution parameter checked, before any input is seen (shape checks come in ``plan``)."""

    kernel: np.ndarray          # (kh, kw) or (C_out, C_in, kh, kw), already flipped if asked
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int, int, int]
    padding_mode: str
    bias: np.ndarray            # 1 value (for every channel) or one per output channel
    path: str | None = None     # a path to force (CONV_PATHS), or None: the chain chooses

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
        return ConvPlan(geom, k, self.padding_mode, c, c_out, b, self.path)


def conv_settings(kernel, *, stride=1, padding=0, padding_mode="zeros", dilation=1, flip=False,
                  bias=0.0, path=None) -> ConvSettings:
    """Check everything that does not depend on the input (kernel, stride, padding words, mode, bias,
    the name of a forced ``path``)."""
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
    return ConvSettings(k, s, d, pad, mode, b.astype(np.float32), check_path("conv", CONV_PATHS, path))


def plan_convolution(shape: Sequence[int], kernel, *, stride=1, padding=0, padding_mode="zeros",
                     dilation=1, flip=False, bias=0.0, path=None) -> ConvPlan:
    """Check every parameter against an input ``shape`` ((H, W) or (H, W, C)), resolve the geometry
    and choose the path (:func:`choose_conv_path`; ``path`` forces one of CONV_PATHS).

    ``kernel`` may also be a :class:`ConvSettings` (then the other arguments are ignored).
    Raises ``ParameterError`` with a message naming the bad argument.
    """
    settings = kernel if isinstance(kernel, ConvSettings) else conv_settings(
        kernel, stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation, flip=flip, bias=bias,
        path=path)
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


def _run_ring(rows: np.ndarray, plan: ConvPlan, separable: bool, sink):
    """The direct or the separable path: a ring block kernel, row-local, into ``sink``."""
    g = plan.geometry
    pt, _, pl, pr = g.pad
    (sy, sx), (dy, dx) = g.stride, g.dilation
    taps = sum(f.size for f in plan.factors) if separable else plan.kernel.size
    kernel = partial(_separable_block, rows, plan.channels_in, *plan.factors) if separable else \
        partial(_rows_block, rows, plan.channels_in, plan.kernel)
    fill = partial(kernel, np.tile(plan.bias, g.out_w), pt, pl, pr, MODE_CODE[plan.padding_mode], sy, sx, dy, dx)
    n_out = g.out_w * plan.channels_in
    # four taps share one pass over a row chunk: a quarter of the multiply-adds is the work
    return sink.rows(fill, g.out_h, n_out, g.out_h * n_out * taps / 4)


def _run_dense(arr: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """The channel-mixing path on (C, H, W) planes."""
    g = plan.geometry
    xp = pad_input(to_planes(arr), plan)
    out = np.empty((plan.channels_out, g.out_h, g.out_w), dtype=np.float32)
    _conv2d_dense(xp, plan.kernel, plan.bias, g.stride[0], g.stride[1], g.dilation[0], g.dilation[1], out)
    return from_planes(out, arr.ndim == 2)


def run_plan(arr: np.ndarray, plan: ConvPlan, sink=None) -> np.ndarray:
    """Run a checked plan's path on an (H, W) or (H, W, C) array (float32 or uint8; other dtypes
    become float32) into ``sink`` (None: float32 values; Pixels: 8/16-bit pixels, strip by strip on
    the row-local paths, direct and separable)."""
    sink = sink_or_values(sink)
    if plan.path == "dense":
        return sink.whole(_run_dense(arr, plan))
    rows, nc = interleaved_rows(arr, keep_uint8=True)
    out = None
    if plan.path == "fft":
        out = run_fft(rows, nc, plan)                    # None: a tile held NaN or ±inf
        if out is not None:
            out = sink.whole(out)
    if out is None:
        out = _run_ring(rows, plan, plan.path == "separable", sink)
    return from_rows(out, arr.ndim == 2, nc)


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
