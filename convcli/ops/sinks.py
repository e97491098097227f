"""Where an op's result goes: float32 values, or 8/16-bit pixels through a range rule.

Every row-local op runs its block kernel through a sink (``run_plan(arr, plan, sink=...)``):

* :class:`Values` (the default) keeps the float32 result;
* :class:`Pixels` maps each strip of a few dozen output rows to pixels while the strip is in cache,
  so a float32 result is never held whole (a 12 MP RGB result is 144 MB) nor walked twice. A rule
  that needs the whole result first (``rescale``), and a path that is not row-local (channel
  mixing, the FFT), map the finished float result instead: the same pixels, bit for bit.

The range rules, one pass straight into integers (NaN and ±inf count as 0):

========  ==============================================================================
clip      the value, rounded half to even, clipped to 0..maxval
abs       its absolute value, then as clip
rescale   min..max of the whole result stretched onto 0..maxval (all equal: 0)
offset    plus half the range, so 0 becomes mid-gray (ImageMagick's ``-bias 50%``)
window    lo..hi stretched onto 0..maxval through float32, then as clip (activate's display range)
========  ==============================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

from ..errors import ParameterError
from ._common import as_rows, widen_range
from ._parallel import run_blocks

RANGE_MODES = ("clip", "abs", "rescale", "offset", "window")
# float32 values per strip of the pixel sink: a strip stays in cache between the kernel and the rule
STRIP_VALUES = 1 << 18

# a block kernel as the sinks call it: fill(row0, r0, r1, out) fills output rows r0..r1 into out,
# whose row 0 is output row row0 (functools.partial(kernel, *args) of a compiled block kernel)
Fill = Callable[[int, int, int, np.ndarray], None]


@njit(cache=True, nogil=True)
def _map_rows(src, take_abs, scale, shift, window, lo, maxval, r0, r1, out):  # pragma: no cover - compiled
    """out[r] = clip(rint(f(src[r])), 0, maxval) for rows r0..r1, in float64; NaN/±inf count as 0.

    f(v) = |v·scale| + shift (``take_abs``) or v·scale + shift; with ``window`` instead
    float32((v − lo)·scale), as activate's float32 display values, a non-finite one counting as 0.
    A block kernel on the ops' thread pool, not a prange loop: Numba's parallel lowering cost
    about a second of compiling on a first run.
    """
    cols = src.shape[1]
    for r in range(r0, r1):
        for c in range(cols):
            v = np.float64(src[r, c])
            if window:
                y = np.float64(np.float32((v - lo) * scale))
                if not np.isfinite(y):
                    y = 0.0
                y = np.rint(y)
            else:
                if not np.isfinite(v):
                    v = 0.0
                y = v * scale
                if take_abs:
                    y = abs(y)
                y = np.rint(y + shift)
            if y < 0.0:
                y = 0.0
            elif y > maxval:
                y = maxval
            out[r, c] = y


@dataclass(frozen=True)
class RangeRule:
    """How float values become 0..maxval pixels (see the module's table); uint8 when maxval ≤ 255, else uint16."""

    mode: str
    maxval: float = 255.0
    lo: float = 0.0      # "window" only: lo..hi stretched onto 0..maxval
    hi: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in RANGE_MODES:
            raise ParameterError(f"range must be one of {', '.join(RANGE_MODES)}, got {self.mode!r}")
        if not (np.isfinite(self.maxval) and self.maxval > 0):
            raise ParameterError(f"maxval must be a finite number > 0, got {self.maxval!r}")
        if self.mode == "window" and not (np.isfinite(self.lo) and np.isfinite(self.hi)):
            raise ParameterError(f"the display range must be finite, got {self.lo!r}..{self.hi!r}")

    @property
    def dtype(self) -> type:
        return np.uint8 if self.maxval <= 255 else np.uint16

    def pointwise(self) -> tuple[bool, float, float] | None:
        """(take_abs, scale, shift) when each value maps on its own, so a result can be mapped strip
        by strip as it is made; None for rescale (it needs the whole result's min and max first).
        For window: the affine map v·scale + shift the strip kernel computes as (v − lo)·scale."""
        args = self._kernel_args(1.0)
        if args is None:
            return None
        take_abs, scale, shift, window, lo, _ = args
        return (take_abs, scale, -lo * scale) if window else (take_abs, scale, shift)

    def _kernel_args(self, scale: float) -> tuple | None:
        """_map_rows' arguments between ``src`` and ``r0`` for values × ``scale``; None for rescale."""
        m = float(self.maxval)
        if self.mode == "rescale":
            return None
        if self.mode == "window":
            lo = float(self.lo)
            return False, m / (widen_range(lo, float(self.hi)) - lo), 0.0, True, lo, m
        shift = ((m + 1) / 2 if m >= 255 else m / 2) if self.mode == "offset" else 0.0
        return self.mode == "abs", float(scale), float(shift), False, 0.0, m

    def apply(self, values: np.ndarray) -> np.ndarray:
        """The whole array to pixels, same shape."""
        return to_pixels(values, self)


def _rescale_args(flat: np.ndarray, rule: RangeRule, scale: float) -> tuple:
    """_map_rows' arguments for rescale: min..max of the finite values (× scale) onto 0..maxval."""
    lo, hi = float(np.min(flat)), float(np.max(flat))
    if not (np.isfinite(lo) and np.isfinite(hi)):      # NaN or inf present: they count as 0
        clean = np.where(np.isfinite(flat), flat, 0.0)
        lo, hi = float(clean.min()), float(clean.max())
    lo, hi = lo * scale, hi * scale
    k = rule.maxval / (hi - lo) if hi > lo else 0.0
    return False, float(scale * k), float(-lo * k), False, 0.0, float(rule.maxval)


def to_pixels(values: np.ndarray, rule: RangeRule, *, scale: float = 1.0) -> np.ndarray:
    """``values · scale`` mapped to pixels by ``rule`` (scale: the writer's 16- to 8-bit step)."""
    arr = np.asarray(values)
    src = np.ascontiguousarray(arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32))
    flat = as_rows(src)
    args = rule._kernel_args(scale)
    if args is None:
        args = _rescale_args(flat, rule, scale)
    out = np.empty(flat.shape, dtype=rule.dtype)

    def job(r0: int, r1: int) -> None:
        _map_rows(flat, *args, r0, r1, out)

    run_blocks(job, flat.shape[0], flat.size)
    return out.reshape(arr.shape)


class Values:
    """The sink that keeps the result as float32 values (the default)."""

    def rows(self, fill: Fill, out_h: int, n_cols: int, work: float) -> np.ndarray:
        """Run a row-local block kernel over all ``out_h`` rows of ``n_cols`` values."""
        out = np.empty((out_h, n_cols), dtype=np.float32)
        run_blocks(lambda r0, r1: fill(0, r0, r1, out), out_h, work)
        return out

    def whole(self, values: np.ndarray) -> np.ndarray:
        """A finished result (a path that is not row-local)."""
        return values


class Pixels:
    """The sink that makes 8/16-bit pixels through ``rule``, strip by strip where it can.

    ``strip_values``: about how many float32 values a strip holds (tests make it tiny).
    """

    def __init__(self, rule: RangeRule, *, strip_values: int = STRIP_VALUES) -> None:
        if not isinstance(rule, RangeRule):
            raise TypeError(f"Pixels needs a RangeRule, got {type(rule).__name__}")
        self.rule = rule
        self.strip_values = max(1, int(strip_values))

    def __repr__(self) -> str:
        return f"Pixels({self.rule!r})"

    def rows(self, fill: Fill, out_h: int, n_cols: int, work: float) -> np.ndarray:
        """The strip driver: each block of rows is filled a strip at a time into a small float32
        buffer, which the rule maps to pixels while it is in cache."""
        args = self.rule._kernel_args(1.0)
        if args is None:                                   # rescale: the whole result first
            return self.rule.apply(Values().rows(fill, out_h, n_cols, work))
        pixels = np.empty((out_h, n_cols), dtype=self.rule.dtype)
        strip = max(4, min(out_h, self.strip_values // max(1, n_cols)))

        def job(r0: int, r1: int) -> None:
            buf = np.empty((min(strip, r1 - r0), n_cols), dtype=np.float32)
            for s0 in range(r0, r1, strip):
                s1 = min(r1, s0 + strip)
                fill(s0, s0, s1, buf)                      # buf row 0 is output row s0
                _map_rows(buf, *args, 0, s1 - s0, pixels[s0:s1])

        run_blocks(job, out_h, work)
        return pixels

    def whole(self, values: np.ndarray) -> np.ndarray:
        return self.rule.apply(values)


Sink = Values | Pixels


def sink_or_values(sink: Sink | None) -> Sink:
    """``sink``, or Values() for None; anything else is a TypeError."""
    if sink is None:
        return Values()
    if not isinstance(sink, (Values, Pixels)):
        raise TypeError(f"sink must be Values() or Pixels(rule), got {type(sink).__name__}")
    return sink
