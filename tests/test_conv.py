"""convcli.convolve against the slow reference, PyTorch's golden numbers, and the slides."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.errors import ParameterError
from reference import conv2d_reference
from golden.make_golden import load

MODES = ["zeros", "reflect", "replicate", "circular"]
SLIDE = np.array([[50, 50, 0, 0, 0]] * 5, dtype=np.float32)


def _resolve_pad(padding, kh, kw, dilation):
    dy, dx = dilation
    if padding == "same":
        th, tw = dy * (kh - 1), dx * (kw - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    if padding == "full":
        return (dy * (kh - 1), dy * (kh - 1), dx * (kw - 1), dx * (kw - 1))
    if padding == "valid":
        return (0, 0, 0, 0)
    py, px = padding
    return (py, py, px, px)


# ------------------------------------------------------------------------------------- the slides

def test_slides_example_stride_1():
    out = convcli.convolve(SLIDE, "vertical-edge")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[150, 150, 0]] * 3)


def test_slides_example_stride_2():
    np.testing.assert_array_equal(convcli.convolve(SLIDE, "vertical-edge", stride=2), [[150, 0], [150, 0]])


def test_inline_kernel_equals_named():
    np.testing.assert_array_equal(convcli.convolve(SLIDE, "1,0,-1;1,0,-1;1,0,-1"),
                                  convcli.convolve(SLIDE, "vertical-edge"))


# ------------------------------------------------------------------------ property: vs reference

def _random_case(rng):
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    dil = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    mode = MODES[int(rng.integers(0, 4))]
    choice = int(rng.integers(0, 5))
    padding = ["valid", "same", "full", None, None][choice]
    if padding == "same" and stride != (1, 1):
        padding = None
    h = int(rng.integers(1, 14)); w = int(rng.integers(1, 14))
    if padding is None:
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
    layout = int(rng.integers(0, 3))
    shape = (h, w) if layout == 0 else (h, w, int(rng.integers(1, 5)))
    x = (rng.standard_normal(shape) * 50).astype(np.float32)
    c = 1 if len(shape) == 2 else shape[2]
    if layout == 2:
        k = rng.standard_normal((int(rng.integers(1, 4)), c, kh, kw)).astype(np.float32)
    else:
        k = rng.standard_normal((kh, kw)).astype(np.float32)
    return x, k, dict(stride=stride, padding=padding, padding_mode=mode, dilation=dil)


def _expected_error(x, k, kw_):
    kh, kwid = k.shape[-2:]
    pad = _resolve_pad(kw_["padding"], kh, kwid, kw_["dilation"])
    h, w = x.shape[:2]
    dy, dx = kw_["dilation"]
    if kw_["padding_mode"] == "reflect" and (max(pad[:2]) >= h or max(pad[2:]) >= w) and any(pad):
        return True
    if kw_["padding_mode"] == "circular" and (max(pad[:2]) > h or max(pad[2:]) > w):
        return True
    return dy * (kh - 1) + 1 > h + pad[0] + pad[1] or dx * (kwid - 1) + 1 > w + pad[2] + pad[3]


@pytest.mark.parametrize("seed", range(400))
def test_random_against_reference(seed):
    rng = np.random.default_rng(seed)
    x, k, kw_ = _random_case(rng)
    bias = float(rng.standard_normal())
    if _expected_error(x, k, kw_):
        with pytest.raises(ParameterError):
            convcli.convolve(x, k, bias=bias, **kw_)
        return
    out = convcli.convolve(x, k, bias=bias, **kw_)
    pad = _resolve_pad(kw_["padding"], k.shape[-2], k.shape[-1], kw_["dilation"])
    ref = conv2d_reference(x, k, stride=kw_["stride"], pad=pad, mode=kw_["padding_mode"],
                           dilation=kw_["dilation"], bias=bias)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_flip_is_true_convolution(rng):
    x = rng.standard_normal((9, 8)).astype(np.float32)
    k = rng.standard_normal((3, 2)).astype(np.float32)
    np.testing.assert_allclose(convcli.convolve(x, k, flip=True), convcli.convolve(x, k[::-1, ::-1].copy()),
                               rtol=1e-6)


def test_per_channel_bias_and_layouts(rng):
    x = rng.standard_normal((6, 7, 3)).astype(np.float32)
    out = convcli.convolve(x, "box", bias=[1, 2, 3])
    assert out.shape == (4, 5, 3)
    ref = conv2d_reference(x, np.full((3, 3), 1 / 9), bias=[1, 2, 3])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    single = rng.standard_normal((6, 7, 1)).astype(np.float32)
    assert convcli.convolve(single, "box").shape == (4, 5, 1)   # (H, W, C) stays 3-D


def test_dense_weight_from_2d_input(rng):
    x = rng.standard_normal((5, 5)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    out = convcli.convolve(x, w, padding=1)
    assert out.shape == (5, 5, 4)
    np.testing.assert_allclose(out, conv2d_reference(x, w, pad=(1, 1, 1, 1)), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------- golden (PyTorch)

GOLDEN = load("conv")


@pytest.mark.parametrize("i", range(len(GOLDEN)))
def test_golden_pytorch(i):
    case = GOLDEN[i]
    padding = case["padding"] if isinstance(case["padding"], str) else tuple(case["padding"])
    bias = case["bias"] if case["layout"] != "hw" else float(case["bias"][0])
    kwargs = dict(stride=tuple(case["stride"]), padding=padding, padding_mode=case["padding_mode"],
                  dilation=tuple(case["dilation"]), bias=bias)
    if _expected_error(case["x"], case["weight"], {**kwargs, "padding": padding}):
        # PyTorch's F.pad accepted it; we follow PyTorch's padding-layer limits and refuse
        with pytest.raises(ParameterError):
            convcli.convolve(case["x"], case["weight"], **kwargs)
        return
    out = convcli.convolve(case["x"], case["weight"], **kwargs)
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], rtol=1e-4, atol=1e-4)


def test_golden_covers_every_option():
    seen = {(c["layout"], c["padding_mode"], tuple(c["stride"]), tuple(c["dilation"]),
             c["padding"] if isinstance(c["padding"], str) else "n") for c in GOLDEN}
    assert {s[0] for s in seen} == {"hw", "hwc", "dense"}
    assert {s[1] for s in seen} == set(MODES)
    assert {s[4] for s in seen} == {"same", "full", "n"}
    assert len(GOLDEN) >= 400


# ------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=0), "stride must be at least 1"),
    (dict(stride=(1, -2)), "stride must be at least 1"),
    (dict(dilation=0), "dilation must be at least 1"),
    (dict(padding=-1), "padding must be >= 0"),
    (dict(padding="sideways"), "padding must be"),
    (dict(padding="same", stride=2), "needs stride 1"),
    (dict(padding_mode="mirror"), "padding mode must be one of"),
    (dict(padding=5, padding_mode="reflect"), "reflect padding must be smaller"),
    (dict(bias=[1, 2]), "bias has 2 values"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        convcli.convolve(SLIDE, "vertical-edge", **kwargs)


def test_kernel_larger_than_padded_input():
    with pytest.raises(ParameterError, match="larger than the padded input 5×5"):
        convcli.convolve(SLIDE, "gaussian:7")
    with pytest.raises(ParameterError, match="dilation"):
        convcli.convolve(SLIDE, "box", dilation=3)
    assert convcli.convolve(SLIDE, "gaussian:7", padding=1).shape == (1, 1)


def test_dense_channel_mismatch():
    with pytest.raises(ParameterError, match="expects 3 input channel"):
        convcli.convolve(SLIDE, np.ones((2, 3, 3, 3), np.float32))


def test_nan_in_input_propagates_like_pytorch():
    x = SLIDE.copy()
    x[0, 0] = np.nan
    out = convcli.convolve(x, "vertical-edge")
    assert np.isnan(out[0, 0]) and not np.isnan(out[0, 1])
