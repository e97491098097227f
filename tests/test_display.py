"""to_pixels: the range rules straight into 8/16-bit integers, on one thread or in row blocks."""
from __future__ import annotations

import numpy as np
import pytest

from convcli.ops import display


def _expected(x, maxval, rule, scale=1.0):
    v = np.where(np.isfinite(x), x.astype(np.float64), 0.0)
    shift = 0.0
    if rule == "rescale":
        lo, hi = v.min() * scale, v.max() * scale
        k = maxval / (hi - lo) if hi > lo else 0.0
        scale, shift = scale * k, (-lo * k if hi > lo else 0.0)
    elif rule == "offset":
        shift = (maxval + 1) / 2 if maxval >= 255 else maxval / 2
    y = v * scale
    if rule == "abs":
        y = np.abs(y)
    return np.clip(np.rint(y + shift), 0, maxval)


@pytest.mark.parametrize("rule", display.RANGE_RULES)
@pytest.mark.parametrize("maxval", [255.0, 65535.0])
@pytest.mark.parametrize("serial", [True, False])
def test_rules_on_a_big_result_in_blocks_and_serially(rng, monkeypatch, rule, maxval, serial):
    x = (rng.standard_normal((1030, 1100)) * maxval).astype(np.float32)   # > 2**20 values: blocks
    x[3, 5], x[700, 2], x[1029, 1099] = np.nan, np.inf, -np.inf
    x[500, :7] = [0.5, 1.5, 2.5, -0.5, maxval + 0.5, maxval - 0.5, 1e30]     # ties round to even
    if serial:
        monkeypatch.setenv("CONVCLI_BLOCKS", "serial")
    got = display.to_pixels(x, maxval, rule, scale=0.75)
    assert got.dtype == (np.uint8 if maxval <= 255 else np.uint16) and got.shape == x.shape
    np.testing.assert_array_equal(got, _expected(x, maxval, rule, scale=0.75))


def test_blocks_and_one_thread_agree_on_a_colour_result(rng, monkeypatch):
    x = rng.uniform(-300, 600, (700, 600, 3)).astype(np.float32)
    blocked = display.to_pixels(x, 255.0, "abs")
    monkeypatch.setenv("CONVCLI_BLOCKS", "serial")
    np.testing.assert_array_equal(display.to_pixels(x, 255.0, "abs"), blocked)
    assert blocked.shape == x.shape and blocked.max() == 255 and blocked.min() == 0
