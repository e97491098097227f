"""Results to pixels: the range rules as one pass, straight into 8- or 16-bit integers.

A 12-megapixel RGB result is 144 MB of float32; doing abs, scale, round and clip with NumPy
makes a float copy and walks it five times. This kernel reads each value once and writes the
final integer, which is what the image encoder needs.
"""
from __future__ import annotations

import numpy as np

from .. import _numba_env  # noqa: F401  (sets the Numba cache directory before Numba loads)
from numba import njit

from ..errors import ParameterError
from .conv import _in_blocks, _threads

RANGE_RULES = ("clip", "abs", "rescale", "offset")


# below this many values the pass runs on the calling thread
_SERIAL_VALUES = 1 << 20


@njit(cache=True, nogil=True)
def _to_pixels(src, take_abs, scale, shift, maxval, r0, r1, out):  # pragma: no cover - compiled
    """out = clip(rint(f(src·scale) + shift), 0, maxval) for rows r0..r1, f = |·| when take_abs;
    NaN/inf count as 0. A block kernel on the ops' thread pool, not a prange loop: Numba's
    parallel lowering cost about a second of compiling on a first run."""
    cols = src.shape[1]
    for r in range(r0, r1):
        for c in range(cols):
            v = np.float64(src[r, c])
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


def pointwise_rule(rule: str, maxval: float, scale: float = 1.0) -> tuple[bool, float, float] | None:
    """(take_abs, scale, shift) for ``_to_pixels`` when ``rule`` maps each value on its own (clip,
    abs, offset), so a result can be mapped strip by strip as it is made; None for rescale, which
    needs the whole result's min and max first."""
    if rule not in RANGE_RULES:
        raise ParameterError(f"range must be one of {', '.join(RANGE_RULES)}, got {rule!r}")
    if rule == "rescale":
        return None
    shift = ((maxval + 1) / 2 if maxval >= 255 else maxval / 2) if rule == "offset" else 0.0
    return rule == "abs", float(scale), float(shift)


def to_pixels(result: np.ndarray, maxval: float, rule: str, *, scale: float = 1.0) -> np.ndarray:
    """Map ``result·scale`` onto 0..maxval by a range rule; uint8 when maxval ≤ 255, else uint16.

    clip: as it is; abs: absolute value; rescale: min..max stretched to 0..maxval (all equal: 0);
    offset: plus half the range, so 0 becomes mid-gray (ImageMagick's -bias 50%). Then rounded
    half to even and clipped. NaN and infinities count as 0 (also for rescale's min and max).
    """
    mapping = pointwise_rule(rule, maxval, scale)
    arr = np.asarray(result)
    src = np.ascontiguousarray(arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float32))
    flat = src.reshape(src.shape[0], -1) if src.ndim >= 2 else src.reshape(1, -1)
    if mapping is None:                                    # rescale
        lo, hi = float(np.min(flat)), float(np.max(flat))
        if not (np.isfinite(lo) and np.isfinite(hi)):      # NaN or inf present: they count as 0
            clean = np.where(np.isfinite(flat), flat, 0.0)
            lo, hi = float(clean.min()), float(clean.max())
        lo, hi = lo * scale, hi * scale
        k = maxval / (hi - lo) if hi > lo else 0.0
        mapping = (False, float(scale * k), float(-lo * k))
    out = np.empty(flat.shape, dtype=np.uint8 if maxval <= 255 else np.uint16)
    rows = flat.shape[0]
    n_blocks = 1 if flat.size < _SERIAL_VALUES else min(rows, 2 * _threads())
    _in_blocks(_to_pixels, (flat, *mapping, float(maxval)), rows, n_blocks, out)
    return out.reshape(arr.shape)
