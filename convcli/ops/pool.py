"""2-D pooling: max, min and average, with PyTorch's ``max_pool2d`` / ``avg_pool2d`` semantics."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit, prange

from ..errors import ParameterError
from ..limits import check_pixels
from ..shapes import Pair, as_pair, pool_out, pool_out_formula
from ._common import as_float_image, parse_word, from_planes, from_rows, interleaved_rows, to_planes
from ._paths import Option, choose
from .sinks import sink_or_values

POOL_MODES = ("max", "min", "avg")
_MODE_CODE = {"max": 0, "min": 1, "avg": 2}
POOL_PATHS = ("rows", "planes")
_MODE_ALIASES = {"mean": "avg", "average": "avg", "maximum": "max", "minimum": "min"}


@njit(cache=True, parallel=True)
def _pool2d(x, kh, kw, sy, sx, py, px, mode, include_pad, out):  # pragma: no cover - compiled
    """out[c, oy, ox] = max / min / mean of the window at (oy·sy − py, ox·sx − px).

    Windows are clipped to the input (padded cells never win a max or min); ``mode`` 0 = max,
    1 = min, 2 = avg. A NaN in a window wins, as in PyTorch. The average's divisor follows
    PyTorch: with ``include_pad`` the window clipped to the padded input, else the input cells only.
    """
    n_c, out_h, out_w = out.shape
    h, w = x.shape[1], x.shape[2]
    for r in prange(n_c * out_h):
        c = r // out_h
        oy = r - c * out_h
        y0 = oy * sy - py
        y1 = min(y0 + kh, h + py)
        pool_h = y1 - y0
        ya, yb = max(y0, 0), min(y1, h)
        for ox in range(out_w):
            x0 = ox * sx - px
            x1 = min(x0 + kw, w + px)
            xa, xb = max(x0, 0), min(x1, w)
            if mode == 2:
                acc = np.float32(0.0)
                for y in range(ya, yb):
                    for xx in range(xa, xb):
                        acc += x[c, y, xx]
                if include_pad:
                    div = pool_h * (x1 - x0)
                else:
                    div = (yb - ya) * (xb - xa)
                out[c, oy, ox] = acc / np.float32(div)
            else:
                best = x[c, ya, xa]
                for y in range(ya, yb):
                    for xx in range(xa, xb):
                        v = x[c, y, xx]
                        if np.isnan(v):
                            best = v
                        elif not np.isnan(best):
                            if mode == 0:
                                if v > best:
                                    best = v
                            elif v < best:
                                best = v
                out[c, oy, ox] = best


@njit(cache=True, nogil=True)
def _pool_rows(x, nc, kh, kw, sy, sx, mode, row0, r0, r1, out):  # pragma: no cover - compiled
    """Unpadded pooling of whole windows on channel-interleaved rows, output rows r0..r1.

    x is (H, W·C), out's row 0 is output row ``row0`` (W'·C values a row); every window lies inside the input. The taps are combined in
    the order of _pool2d (row by row, left to right), with the same NaN rule written as a select
    (``v > best`` is false when best is NaN), so that LLVM can vectorise the 2×2 stride-2 case.
    """
    out_w = out.shape[1] // nc
    quarter = np.float32(0.25)
    div = np.float32(kh * kw)
    for oy in range(r0, r1):
        dst = out[oy - row0]
        y0 = oy * sy
        if kh == 2 and kw == 2 and sy == 2 and sx == 2 and nc == 1:
            a_row = x[y0]
            b_row = x[y0 + 1]
            if mode == 2:
                for ox in range(out_w):
                    dst[ox] = (((np.float32(0.0) + a_row[2 * ox]) + a_row[2 * ox + 1]) + b_row[2 * ox]
                               + b_row[2 * ox + 1]) * quarter
            elif mode == 0:
                for ox in range(out_w):
                    best = a_row[2 * ox]
                    v = a_row[2 * ox + 1]
                    best = v if ((v != v) | (v > best)) else best
                    v = b_row[2 * ox]
                    best = v if ((v != v) | (v > best)) else best
                    v = b_row[2 * ox + 1]
                    best = v if ((v != v) | (v > best)) else best
                    dst[ox] = best
            else:
                for ox in range(out_w):
                    best = a_row[2 * ox]
                    v = a_row[2 * ox + 1]
                    best = v if ((v != v) | (v < best)) else best
                    v = b_row[2 * ox]
                    best = v if ((v != v) | (v < best)) else best
                    v = b_row[2 * ox + 1]
                    best = v if ((v != v) | (v < best)) else best
                    dst[ox] = best
            continue
        for ox in range(out_w):
            x0 = ox * sx * nc
            for c in range(nc):
                if mode == 2:
                    acc = np.float32(0.0)
                    for i in range(kh):
                        row = x[y0 + i]
                        for j in range(kw):
                            acc += row[x0 + j * nc + c]
                    dst[ox * nc + c] = acc / div
                else:
                    best = x[y0, x0 + c]
                    for i in range(kh):
                        row = x[y0 + i]
                        for j in range(kw):
                            v = row[x0 + j * nc + c]
                            if mode == 0:
                                best = v if ((v != v) | (v > best)) else best
                            else:
                                best = v if ((v != v) | (v < best)) else best
                    dst[ox * nc + c] = best


@dataclass(frozen=True)
class PoolPlan:
    """A checked pooling: mode and geometry, enough for the kernel, the trace and the formulas."""

    mode: str
    in_h: int
    in_w: int
    channels: int
    size: Pair
    stride: Pair
    padding: Pair
    ceil_mode: bool
    count_include_pad: bool
    path: str = "planes"        # the path that runs (POOL_PATHS), set by plan_pool

    @property
    def out_h(self) -> int:
        return pool_out(self.in_h, self.size[0], self.stride[0], self.padding[0], ceil_mode=self.ceil_mode)

    @property
    def out_w(self) -> int:
        return pool_out(self.in_w, self.size[1], self.stride[1], self.padding[1], ceil_mode=self.ceil_mode)

    def window(self, oy: int, ox: int) -> tuple[int, int, int, int]:
        """Rows y0..y1 and columns x0..x1 (end exclusive, input coordinates, may be < 0) of a
        window, already cut where PyTorch cuts it: at the end of the right/bottom padding."""
        y0 = oy * self.stride[0] - self.padding[0]
        x0 = ox * self.stride[1] - self.padding[1]
        return (y0, min(y0 + self.size[0], self.in_h + self.padding[0]),
                x0, min(x0 + self.size[1], self.in_w + self.padding[1]))

    def formulas(self) -> list[str]:
        return [pool_out_formula("H", self.in_h, self.size[0], self.stride[0], self.padding[0], self.ceil_mode),
                pool_out_formula("W", self.in_w, self.size[1], self.stride[1], self.padding[1], self.ceil_mode)]


def check_pool_mode(mode: str) -> str:
    m = parse_word(mode, POOL_MODES, _MODE_ALIASES)
    if m is None:
        raise ParameterError(f"pooling mode must be one of {', '.join(POOL_MODES)}, got {mode!r}")
    return m


def plan_pool(shape: Sequence[int], *, mode: str = "max", size=2, stride=None, padding=0,
              ceil_mode: bool = False, count_include_pad: bool = True, path: str | None = None) -> PoolPlan:
    """Check every parameter against an input ``shape`` ((H, W) or (H, W, C)); PyTorch's rules.
    The plan names its path (:func:`choose_pool_path`; ``path`` forces one of POOL_PATHS)."""
    m = check_pool_mode(mode)
    h, w = int(shape[0]), int(shape[1])
    c = int(shape[2]) if len(shape) == 3 else 1
    k = as_pair(size, "size", minimum=1)
    s = k if stride is None else as_pair(stride, "stride", minimum=1)
    p = as_pair(padding, "padding", minimum=0)
    for axis, kk, pp in (("Y", k[0], p[0]), ("X", k[1], p[1])):
        if pp > kk // 2:
            raise ParameterError(
                f"padding {pp} along {axis} is more than half the window size {kk} (at most {kk // 2}, "
                f"PyTorch's rule: a window must never lie wholly in the padding)")
    plan = PoolPlan(m, h, w, c, k, s, p, bool(ceil_mode), bool(count_include_pad))
    if plan.out_h < 1 or plan.out_w < 1:
        raise ParameterError(
            f"the {k[0]}×{k[1]} window does not fit in the input {h}×{w} with padding {p[0]},{p[1]} "
            f"(output would be {plan.out_h}×{plan.out_w})")
    check_pixels(plan.out_h, plan.out_w, c)
    object.__setattr__(plan, "path", choose_pool_path(plan, path))   # still being made: frozen from here on
    return plan


def choose_pool_path(plan: PoolPlan, path: str | None = None) -> str:
    """The pooling's flat chain: the first path that can run the plan.

    rows    no padding and every window inside the input (a ceil-mode partial window is not):
            whole windows on channel-interleaved rows, row-local, the 2×2 stride-2 case vectorised
    planes  any pooling, on (C, H, W) planes: windows clipped to the input, padding, the divisor rules

    ``path`` (or CONVCLI_POOL_PATH) forces one; a path that cannot run the plan is a ParameterError.
    """
    (kh, kw), (sy, sx) = plan.size, plan.stride
    inside = (plan.padding == (0, 0) and (plan.out_h - 1) * sy + kh <= plan.in_h
              and (plan.out_w - 1) * sx + kw <= plan.in_w)
    return choose("pool", [
        Option("rows", None if inside else "it needs padding 0 and every window inside the input"),
        Option("planes"),
    ], path)


def run_pool(arr: np.ndarray, plan: PoolPlan, sink=None) -> np.ndarray:
    """Run a checked plan on a float32 (H, W) or (H, W, C) array into ``sink`` (None: float32 values)."""
    sink = sink_or_values(sink)
    (kh, kw), (sy, sx) = plan.size, plan.stride
    if plan.path == "rows":        # every window inside the input: the interleaved rows, no transposes
        rows, nc = interleaved_rows(arr)
        fill = partial(_pool_rows, rows, nc, kh, kw, sy, sx, _MODE_CODE[plan.mode])
        out = sink.rows(fill, plan.out_h, plan.out_w * nc, plan.out_h * plan.out_w * nc * kh * kw)
        return from_rows(out, arr.ndim == 2, nc)
    planes = to_planes(arr)
    out = np.empty((planes.shape[0], plan.out_h, plan.out_w), dtype=np.float32)
    _pool2d(planes, plan.size[0], plan.size[1], plan.stride[0], plan.stride[1], plan.padding[0],
            plan.padding[1], _MODE_CODE[plan.mode], plan.count_include_pad, out)
    return sink.whole(from_planes(out, arr.ndim == 2))


def pool(image, *, mode: str = "max", size=2, stride=None, padding=0, ceil_mode: bool = False,
         count_include_pad: bool = True) -> np.ndarray:
    """Pool an image: the maximum, minimum or average of each window, per channel.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
    mode : {"max", "min", "avg"}
        ``min`` is ``-max_pool2d(-x)``. Padded cells never win a max or a min.
    size : int or (int, int)
        Window height and width (PyTorch's ``kernel_size``), ≥ 1.
    stride : int or (int, int), optional
        Step of the window; defaults to ``size`` (windows side by side, as on the slides).
    padding : int or (int, int)
        Cells added on each side, at most half the window size.
    ceil_mode : bool
        Round the output size up, so a last partial window is kept — as long as it starts inside
        the input or its left/top padding (PyTorch's rule).
    count_include_pad : bool
        For ``avg``: divide by the window size including padded zeros (PyTorch's default), else
        by the number of input cells in the window. Parts of a ceil-mode window beyond the padding
        are never counted.

    Returns
    -------
    numpy.ndarray of float32
        (H', W') for a 2-D input, else (H', W', C).

    Notes
    -----
    The slides' 4×4 → 2×2 max pooling (size 2, stride 2)::

        1 3 | 2 1
        4 2 | 0 1      ->   4 2
        ----+----           6 8
        5 6 | 7 8
        0 1 | 3 2

    H' = ⌊(H + 2·padding − (size − 1) − 1) / stride⌋ + 1 (⌈…⌉ with ``ceil_mode``).
    """
    arr = as_float_image(image)
    plan = plan_pool(arr.shape, mode=mode, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                     count_include_pad=count_include_pad)
    return run_pool(arr, plan)
