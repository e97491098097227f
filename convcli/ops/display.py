"""Results to pixels by the ``--range`` rules: the names the image writer and older callers use.

The rules and their one-pass kernel live in :mod:`convcli.ops.sinks` (:class:`~convcli.ops.sinks.RangeRule`).
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .sinks import RangeRule, to_pixels as _rule_to_pixels

RANGE_RULES = ("clip", "abs", "rescale", "offset")


def _rule(rule: str, maxval: float) -> RangeRule:
    if rule not in RANGE_RULES:     # "window" is activate's rule, not a --range word
        raise ParameterError(f"range must be one of {', '.join(RANGE_RULES)}, got {rule!r}")
    return RangeRule(rule, float(maxval))


def to_pixels(result: np.ndarray, maxval: float, rule: str, *, scale: float = 1.0) -> np.ndarray:
    """Map ``result·scale`` onto 0..maxval by a range rule; uint8 when maxval ≤ 255, else uint16.

    clip: as it is; abs: absolute value; rescale: min..max stretched to 0..maxval (all equal: 0);
    offset: plus half the range, so 0 becomes mid-gray (ImageMagick's -bias 50%). Then rounded
    half to even and clipped. NaN and infinities count as 0 (also for rescale's min and max).
    """
    return _rule_to_pixels(result, _rule(rule, maxval), scale=scale)
