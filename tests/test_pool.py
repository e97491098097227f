"""convcli.pool against the slow reference, PyTorch's golden numbers, and the slides."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.errors import LimitError, ParameterError
from conftest import SAMPLES
from golden.make_golden import load
from reference import pool2d_reference

SLIDE = np.loadtxt(SAMPLES / "slide_pool_4x4.csv", delimiter=",", dtype=np.float32)


# ------------------------------------------------------------------------------------- the slides

def test_slide_matrix_is_the_one_documented():
    np.testing.assert_array_equal(SLIDE, [[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 7, 8], [0, 1, 3, 2]])


def test_slides_max_pooling_4x4_to_2x2():
    out = convcli.pool(SLIDE, mode="max")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[4, 2], [6, 8]])


def test_slides_min_pooling_4x4_to_2x2():
    np.testing.assert_array_equal(convcli.pool(SLIDE, mode="min"), [[1, 0], [0, 2]])


def test_average_pooling_by_hand():
    np.testing.assert_array_equal(convcli.pool(SLIDE, mode="avg"), [[2.5, 1], [3, 5]])


def test_min_is_minus_max_of_minus():
    x = np.random.default_rng(3).standard_normal((9, 7, 2)).astype(np.float32)
    np.testing.assert_array_equal(convcli.pool(x, mode="min", size=3, stride=2, padding=1, ceil_mode=True),
                                  -convcli.pool(-x, mode="max", size=3, stride=2, padding=1, ceil_mode=True))


# ------------------------------------------------------------------------ property: vs reference

def _random_case(rng):
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    params = dict(mode=["max", "min", "avg"][int(rng.integers(0, 3))], size=(kh, kw),
                  stride=None if rng.random() < 0.3 else (int(rng.integers(1, 5)), int(rng.integers(1, 5))),
                  padding=(int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))),
                  ceil_mode=bool(rng.integers(0, 2)), count_include_pad=bool(rng.integers(0, 2)))
    h, w = int(rng.integers(1, 13)), int(rng.integers(1, 13))
    shape = (h, w) if rng.random() < 0.5 else (h, w, int(rng.integers(1, 5)))
    return (rng.standard_normal(shape) * 50).astype(np.float32), params


@pytest.mark.parametrize("seed", range(400))
def test_random_against_reference(seed):
    rng = np.random.default_rng(seed)
    x, p = _random_case(rng)
    try:
        ref = pool2d_reference(x, **p)
    except ValueError:              # the reference found no room for a single window
        with pytest.raises(ParameterError, match="does not fit"):
            convcli.pool(x, **p)
        return
    out = convcli.pool(x, **p)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


def test_nan_wins_max_and_min_like_pytorch():
    x = SLIDE.copy()
    x[0, 1] = np.nan
    for mode in ("max", "min", "avg"):
        out = convcli.pool(x, mode=mode)
        assert np.isnan(out[0, 0]) and not np.isnan(out[1, 1])


def test_padding_never_wins():
    neg = -np.arange(1, 10, dtype=np.float32).reshape(3, 3)      # all below the padding's 0
    out = convcli.pool(neg, mode="max", size=3, stride=1, padding=1)
    assert out.max() < 0                                         # a 0 from the padding never won
    np.testing.assert_array_equal(out, pool2d_reference(neg, mode="max", size=(3, 3), stride=(1, 1), padding=(1, 1)))
    pos = -neg
    assert convcli.pool(pos, mode="min", size=3, stride=1, padding=1).min() > 0


def test_average_divisor_rules():
    x = np.ones((3, 3), np.float32)
    # count_include_pad: the corner window holds 1 input cell and 3 padded zeros
    assert convcli.pool(x, mode="avg", size=2, stride=2, padding=1)[0, 0] == 0.25
    assert convcli.pool(x, mode="avg", size=2, stride=2, padding=1, count_include_pad=False)[0, 0] == 1.0
    # ceil_mode: the last window (starting at column 2) runs off a 3-wide input without padding;
    # PyTorch divides by the part inside the (padded) input only
    out = convcli.pool(x, mode="avg", size=2, stride=2, ceil_mode=True)
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, np.ones((2, 2)))


def test_layouts_and_defaults(rng):
    x = rng.standard_normal((6, 8, 3)).astype(np.float32)
    assert convcli.pool(x).shape == (3, 4, 3)
    assert convcli.pool(x[:, :, :1]).shape == (3, 4, 1)
    assert convcli.pool(x, size=(3, 2)).shape == (2, 4, 3)   # stride = size
    np.testing.assert_array_equal(convcli.pool(x, size=(3, 2)), convcli.pool(x, size=(3, 2), stride=(3, 2)))


# ---------------------------------------------------------------------------- golden (PyTorch)

GOLDEN = load("pool")


@pytest.mark.parametrize("i", range(len(GOLDEN)))
def test_golden_pytorch(i):
    case = GOLDEN[i]
    out = convcli.pool(case["x"], mode=case["mode"], size=tuple(case["size"]),
                       stride=None if case["stride"] is None else tuple(case["stride"]),
                       padding=tuple(case["padding"]), ceil_mode=case["ceil_mode"],
                       count_include_pad=case["count_include_pad"])
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], rtol=1e-4, atol=1e-5)


def test_golden_covers_every_option():
    seen = {(c["mode"], c["ceil_mode"], tuple(c["padding"]), c["count_include_pad"], c["layout"]) for c in GOLDEN}
    assert {s[0] for s in seen} == {"max", "min", "avg"}
    assert {(s[0], s[1], s[2], s[3]) for s in seen if s[0] == "avg"} >= {
        ("avg", cm, p, cip) for cm in (False, True) for p in ((0, 0), (1, 1), (1, 0)) for cip in (False, True)}
    assert {s[4] for s in seen} == {"hw", "hwc"}
    # ceil_mode changes the output size in some of the cases
    grown = [c for c in GOLDEN if c["ceil_mode"] and convcli.pool(
        c["x"], mode="max", size=tuple(c["size"]), stride=None if c["stride"] is None else tuple(c["stride"]),
        padding=tuple(c["padding"])).shape != c["expected"].shape]
    assert len(grown) >= 20


# ------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("kwargs, message", [
    (dict(size=0), "size must be at least 1"),
    (dict(size=(2, -1)), "size must be at least 1"),
    (dict(stride=0), "stride must be at least 1"),
    (dict(padding=-1), "padding must be >= 0"),
    (dict(size=2, padding=2), "more than half the window size 2"),
    (dict(size=(4, 3), padding=(2, 2)), "padding 2 along X is more than half the window size 3"),
    (dict(size=5), "does not fit in the input 4×4"),
    (dict(mode="median"), "pooling mode must be one of max, min, avg"),
    (dict(size=2.5), "size must be an integer"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        convcli.pool(SLIDE, **kwargs)


def test_mode_aliases():
    np.testing.assert_array_equal(convcli.pool(SLIDE, mode="AVERAGE"), convcli.pool(SLIDE, mode="avg"))


def test_output_over_the_pixel_limit_is_refused(monkeypatch):
    import convcli.limits as limits
    limits.set_max_pixels(10)
    with pytest.raises(LimitError, match="8×8 = 64 pixels"):
        convcli.pool(np.zeros((8, 8), np.float32), size=1)


def test_trace_model_marks_pytorchs_winner():
    from convcli.ops.pool import plan_pool, run_pool
    from convcli.traces.pool import pool_trace

    x = np.array([[5, 5], [1, 5]], np.float32)          # a tie: PyTorch keeps the first maximum
    plan = plan_pool(x.shape, mode="max")
    trace = pool_trace(x, plan, run_pool(x, plan))
    assert trace.steps[0].marked == [(0, 0)] and trace.steps[0].expression == "max(5, 5, 1, 5) = 5"
    plan = plan_pool(SLIDE.shape, mode="min", padding=1, stride=1, size=2)
    trace = pool_trace(SLIDE, plan, run_pool(SLIDE, plan), max_steps=100)
    assert trace.total_steps == 25 and len(trace.steps) == 25
    assert trace.steps[0].expression == "min(1) = 1  · 3 padded cells (+inf) never win"


@pytest.mark.parametrize("shape", [(64, 66), (1030, 1024), (40, 34, 3), (17, 9, 4)])
@pytest.mark.parametrize("mode", ["max", "min", "avg"])
@pytest.mark.parametrize("size,stride", [(2, None), ((3, 2), (2, 1)), ((2, 3), (1, 3))])
def test_unpadded_row_kernel_matches_the_general_kernel_bit_for_bit(shape, mode, size, stride):
    # unpadded whole windows take the interleaved-row kernel (2×2 stride 2 on 2-D: a vectorised
    # loop; big inputs: several threads); the general planar kernel must give the same bits, NaNs too
    from convcli.ops.pool import plan_pool, run_pool
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 50).astype(np.float32)
    x.reshape(-1)[rng.integers(0, x.size, 7)] = np.nan
    assert plan_pool(x.shape, mode=mode, size=size, stride=stride).path == "rows"
    ref = run_pool(x, plan_pool(x.shape, mode=mode, size=size, stride=stride, path="planes"))
    out = convcli.pool(x, mode=mode, size=size, stride=stride)
    np.testing.assert_array_equal(out.view(np.uint32), ref.view(np.uint32))
