"""Every execution path of every op, forced with ``path=``, against the plain reference
(convcli.ops.reference) on random cases, and its Pixels sink against its Values; the chains'
choices and the errors of a path that is unknown or cannot run."""
from __future__ import annotations

import numpy as np
import pytest

from convcli.errors import ParameterError
from convcli.ops import reference as ref
from convcli.ops.activations import FUNCTIONS, plan_activation, run_activation
from convcli.ops.conv import CONV_PATHS, plan_convolution, run_plan
from convcli.ops.pool import POOL_PATHS, plan_pool, run_pool
from convcli.ops.sinks import Pixels, RangeRule
from convcli.ops.tconv import TCONV_PATHS, plan_tconv, run_tconv
from convcli.ops.upsample import UPSAMPLE_PATHS, plan_upsample, run_upsample

MODES = ["zeros", "reflect", "replicate", "circular"]
RULES = [RangeRule("clip"), RangeRule("abs", 65535.0), RangeRule("offset"), RangeRule("rescale"),
         RangeRule("window", 255.0, -20.0, 300.0)]
SEEDS = range(10)


def _input(rng, h, w, c, uint8):
    shape = (h, w) if c == 0 else (h, w, c)
    if uint8:
        return rng.integers(0, 256, shape).astype(np.uint8)
    return rng.uniform(-100, 200, shape).astype(np.float32)


def _check_sinks(run, x, values, strip_values=61):
    """Pixels (in small strips) equals the rule applied to the Values result, for several rules."""
    for rule in RULES:
        np.testing.assert_array_equal(run(x, Pixels(rule, strip_values=strip_values)), rule.apply(values),
                                      err_msg=str(rule))


# --------------------------------------------------------------------------------- convolution

def _conv_case(rng, path):
    """(input, kernel, keyword arguments) of a random convolution the path can run."""
    c = int(rng.choice([0, 1, 3, 4]))
    h, w = (int(v) for v in rng.integers(9, 26, 2))
    kh, kw = (int(v) for v in rng.integers(2, 6, 2))
    if path == "dense":
        k = rng.standard_normal((int(rng.integers(1, 4)), max(c, 1), kh, kw)).astype(np.float32)
    elif path == "separable":
        k = np.outer(rng.standard_normal(kh) + 2.0, rng.standard_normal(kw)).astype(np.float32)
    else:
        k = rng.standard_normal((kh, kw)).astype(np.float32)
    stride = (1, 1) if path == "fft" else tuple(int(v) for v in rng.integers(1, 4, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    mode = MODES[int(rng.integers(0, 4))]
    pad = tuple(int(v) for v in rng.integers(0, 3, 2))
    c_out = k.shape[0] if k.ndim == 4 else max(c, 1)
    bias = rng.uniform(-5, 5, c_out) if rng.random() < 0.5 else float(rng.uniform(-5, 5))
    x = _input(rng, h, w, c, uint8=bool(rng.random() < 0.5))
    return x, k, dict(stride=stride, padding=pad, padding_mode=mode, dilation=dilation, bias=bias)


@pytest.mark.parametrize("path", CONV_PATHS)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_convolution_path_against_the_reference(path, seed):
    rng = np.random.default_rng(hash((path, seed)) % 2**32)
    x, k, kw = _conv_case(rng, path)
    plan = plan_convolution(x.shape, k, path=path, **kw)
    assert plan.path == path
    out = run_plan(x, plan)
    py, px = kw["padding"]
    want = ref.conv2d_reference(x, k, stride=kw["stride"], pad=(py, py, px, px), mode=kw["padding_mode"],
                                dilation=kw["dilation"], bias=kw["bias"])
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-3)
    _check_sinks(lambda a, s: run_plan(a, plan, s), x, out)


def test_the_convolution_chain_and_its_thresholds(rng):
    big = (300, 310)
    assert plan_convolution(big, "sobel-x").path == "separable"
    assert plan_convolution(big, rng.standard_normal((3, 3))).path == "direct"
    assert plan_convolution(big, rng.standard_normal((21, 21)), padding="same").path == "fft"
    assert plan_convolution((30, 30), rng.standard_normal((21, 21))).path == "direct"   # small output
    assert plan_convolution(big + (3,), rng.standard_normal((2, 3, 3, 3))).path == "dense"


@pytest.mark.parametrize("path, kernel, kw, why", [
    ("separable", "1,2;3,5", {}, "rank-1"),
    ("fft", "1,2;3,5", {"stride": 2}, "stride 1"),
    ("dense", "1,2;3,5", {}, "4-D"),
    ("direct", np.ones((2, 1, 3, 3), np.float32), {}, "2-D kernel"),
])
def test_a_forced_convolution_path_that_cannot_run_says_why(path, kernel, kw, why):
    with pytest.raises(ParameterError, match=why):
        plan_convolution((20, 20), kernel, path=path, **kw)


def test_unknown_paths_name_the_allowed_ones():
    with pytest.raises(ParameterError, match="path for conv must be one of dense, fft, separable, direct"):
        plan_convolution((20, 20), "box", path="winograd")
    with pytest.raises(ParameterError, match="path for pool must be one of rows, planes"):
        plan_pool((20, 20), path="fast")
    with pytest.raises(ParameterError, match="path for tconv must be one of rows, planes"):
        plan_tconv((20, 20), "box", path="scatter")
    with pytest.raises(ParameterError, match="path for upsample must be one of rows"):
        plan_upsample((20, 20), scale=2, path="planes")
    with pytest.raises(ParameterError, match="path for activation must be one of rows"):
        plan_activation("relu", path="planes")


def test_the_environment_forces_a_path_and_fails_closed(monkeypatch, rng):
    x = rng.uniform(0, 255, (40, 40)).astype(np.float32)
    monkeypatch.setenv("CONVCLI_CONV_PATH", "direct")
    plan = plan_convolution(x.shape, "sobel-x", padding=1)
    assert plan.path == "direct"
    np.testing.assert_array_equal(run_plan(x, plan), run_plan(x, plan_convolution(x.shape, "sobel-x", padding=1,
                                                                                  path="separable")))
    assert plan_convolution(x.shape, "sobel-x", padding=1, path="fft").path == "fft"    # path= wins
    monkeypatch.setenv("CONVCLI_CONV_PATH", "FFT ")
    assert plan_convolution(x.shape, "box").path == "fft"
    monkeypatch.setenv("CONVCLI_CONV_PATH", "fastest")
    with pytest.raises(ParameterError, match="CONVCLI_CONV_PATH for conv must be one of"):
        plan_convolution(x.shape, "box")
    monkeypatch.setenv("CONVCLI_CONV_PATH", "separable")
    with pytest.raises(ParameterError, match="CONVCLI_CONV_PATH: the conv path 'separable' cannot run"):
        plan_convolution(x.shape, "1,2;3,5")
    monkeypatch.setenv("CONVCLI_POOL_PATH", "rows")
    with pytest.raises(ParameterError, match="CONVCLI_POOL_PATH: .*padding 0"):
        plan_pool(x.shape, padding=1)
    monkeypatch.setenv("CONVCLI_BLOCKS", "many")
    with pytest.raises(ParameterError, match="CONVCLI_BLOCKS"):
        run_pool(x, plan_pool(x.shape, size=2))


# ------------------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("path", POOL_PATHS)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_pooling_path_against_the_reference(path, seed):
    rng = np.random.default_rng(hash(("pool", path, seed)) % 2**32)
    c = int(rng.choice([0, 1, 3, 4]))
    x = _input(rng, int(rng.integers(6, 30)), int(rng.integers(6, 30)), c, uint8=False)
    if seed % 3 == 0:
        x.reshape(-1)[int(rng.integers(0, x.size))] = np.nan
    size = tuple(int(v) for v in rng.integers(1, 5, 2))
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    padding = (0, 0) if path == "rows" else (int(rng.integers(0, size[0] // 2 + 1)), int(rng.integers(0, size[1] // 2 + 1)))
    ceil_mode = path == "planes" and bool(rng.random() < 0.5)
    kw = dict(mode=["max", "min", "avg"][seed % 3], size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
              count_include_pad=bool(rng.random() < 0.5))
    try:
        plan = plan_pool(x.shape, path=path, **kw)
    except ParameterError as e:                     # a ceil-mode partial window: rows cannot run it
        assert path == "rows" and "every window inside" in str(e)
        return
    assert plan.path == path
    out = run_pool(x, plan)
    want = ref.pool2d_reference(x, **kw)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    _check_sinks(lambda a, s: run_pool(a, plan, s), x, out)


def test_pool_paths_agree_bit_for_bit_where_both_run(rng):
    x = rng.uniform(-50, 50, (61, 47, 3)).astype(np.float32)
    for mode in ("max", "min", "avg"):
        for size, stride in (((2, 2), None), ((3, 2), (2, 3))):
            a = run_pool(x, plan_pool(x.shape, mode=mode, size=size, stride=stride, path="rows"))
            b = run_pool(x, plan_pool(x.shape, mode=mode, size=size, stride=stride, path="planes"))
            np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
    assert plan_pool(x.shape, size=2).path == "rows" and plan_pool(x.shape, size=2, padding=1).path == "planes"


# ---------------------------------------------------------------------------------- upsampling

@pytest.mark.parametrize("path", UPSAMPLE_PATHS)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("seed", range(4))
def test_every_upsampling_path_against_the_reference(path, mode, seed):
    rng = np.random.default_rng(hash(("up", mode, seed)) % 2**32)
    x = _input(rng, int(rng.integers(3, 14)), int(rng.integers(3, 14)), int(rng.choice([0, 1, 3])), uint8=False)
    if seed % 2:
        kw = dict(scale=tuple(float(v) for v in rng.uniform(0.6, 3.2, 2)))
        want_kw = dict(scale=kw["scale"])
    else:
        kw = dict(size=tuple(int(v) for v in rng.integers(2, 30, 2)))
        want_kw = dict(size=kw["size"])
    align = mode in ("bilinear", "bicubic") and bool(rng.random() < 0.5)
    plan = plan_upsample(x.shape, mode=mode, align_corners=align, path=path, **kw)
    assert plan.path == path
    out = run_upsample(x, plan)
    want = ref.interpolate_reference(x, mode=mode, align_corners=align, **want_kw)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-3)
    _check_sinks(lambda a, s: run_upsample(a, plan, s), x, out)


# ------------------------------------------------------------------------ transposed convolution

@pytest.mark.parametrize("path", TCONV_PATHS)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_tconv_path_against_the_reference(path, seed):
    rng = np.random.default_rng(hash(("tconv", path, seed)) % 2**32)
    c = int(rng.choice([0, 1, 3]))
    x = _input(rng, int(rng.integers(3, 12)), int(rng.integers(3, 12)), c, uint8=False)
    kh, kw_ = (int(v) for v in rng.integers(1, 5, 2))
    dense = path == "planes" and seed % 2 == 0
    k = (rng.standard_normal((max(c, 1), int(rng.integers(1, 4)), kh, kw_)) if dense
         else rng.standard_normal((kh, kw_))).astype(np.float32)
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2))
    padding = tuple(int(v) for v in rng.integers(0, 2, 2))
    output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    c_out = k.shape[1] if dense else max(c, 1)
    bias = rng.uniform(-3, 3, c_out)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, bias=bias)
    try:
        plan = plan_tconv(x.shape, k, path=path, **kw)
    except ParameterError as e:                      # padding that crops everything away
        assert "empty" in str(e)
        return
    assert plan.path == path
    out = run_tconv(x, plan)
    want = ref.tconv2d_reference(x, k, **kw)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-3)
    _check_sinks(lambda a, s: run_tconv(a, plan, s), x, out)


def test_tconv_rows_cannot_take_a_channel_mixing_kernel():
    with pytest.raises(ParameterError, match="2-D kernel"):
        plan_tconv((5, 5, 2), np.ones((2, 3, 2, 2), np.float32), path="rows")
    assert plan_tconv((5, 5, 2), np.ones((2, 3, 2, 2), np.float32)).path == "planes"
    assert plan_tconv((5, 5, 2), "box").path == "rows"


# ---------------------------------------------------------------------------------- activations

@pytest.mark.parametrize("fn", FUNCTIONS)
def test_the_activation_path_against_the_reference(fn, rng):
    x = np.concatenate([rng.uniform(-30, 30, 300), [0.0, -0.0, 20.0, 20.5, -1e-8, 1e-8]]).astype(np.float32)
    x = x.reshape(6, 51)
    alpha = 0.2 if fn in ("leaky-relu", "elu") else None
    plan = plan_activation(fn, alpha, path="rows")
    out = run_activation(x, plan)
    want, _ = ref.activate_reference(x, fn, alpha)
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=1e-6)
    _check_sinks(lambda a, s: run_activation(a, plan, sink=s), x, out, strip_values=5)
