"""Property tests: every op against the slow reference implementations (tests/reference.py).

Hypothesis draws shapes from 1×1 and very thin images (1×N, N×1) up to 8×8 with 0, 1 or 3
channels, parameters on both sides of the edge of validity (a case just past it must raise
ParameterError or InputError — never crash, never return garbage) and values from ordinary
numbers to float extremes: large magnitudes, subnormals, NaN and ±inf (which propagate as in
PyTorch). Examples per op: CONVCLI_HYPOTHESIS_EXAMPLES (default 200); derandomized, so CI is
reproducible.
"""
from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import convcli
import reference
from convcli.errors import InputError, ParameterError

EXAMPLES = int(os.environ.get("CONVCLI_HYPOTHESIS_EXAMPLES", "200"))
settings.register_profile(
    "convcli", max_examples=EXAMPLES, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
PROFILE = settings.get_profile("convcli")

TINY = float(np.finfo(np.float32).smallest_subnormal)

# ------------------------------------------------------------------------------- strategies

ORDINARY = st.floats(-100, 100, width=32)
EXTREME = st.sampled_from([1e15, -1e15, 3e18, TINY, -TINY, 5 * TINY, 1e-38, float("nan"), float("inf"),
                           float("-inf"), 0.0, -0.0])


FINITE_EXTREME = st.sampled_from([1e15, -1e15, TINY, -TINY, 5 * TINY, 1e-38, 0.0, -0.0])


def values(extremes: bool | str = True):
    """Mostly ordinary numbers, sometimes an extreme one (``"finite"``: no NaN/inf)."""
    if not extremes:
        return ORDINARY
    return st.one_of(ORDINARY, ORDINARY, ORDINARY, FINITE_EXTREME if extremes == "finite" else EXTREME)


@st.composite
def images(draw, max_side: int = 8, channels=(0, 1, 3), extremes: bool | str = True):
    """(H, W) or (H, W, C) float32 with thin shapes favoured."""
    h = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    w = draw(st.one_of(st.just(1), st.integers(1, max_side)))
    c = draw(st.sampled_from(channels))
    shape = (h, w) if c == 0 else (h, w, c)
    flat = draw(st.lists(values(extremes), min_size=h * w * max(c, 1), max_size=h * w * max(c, 1)))
    return np.array(flat, dtype=np.float32).reshape(shape)


EDGE_RATE = 0.06   # how often one parameter is drawn just past its edge of validity


@st.composite
def edgy(draw, valid, *invalid):
    """Mostly ``valid`` draws; now and then (EDGE_RATE) a value just past the edge of validity.

    The choice comes from an RNG seeded by a drawn integer: Hypothesis favours boundary choices
    in its own strategies, which would make nearly every example invalid."""
    if invalid and random.Random(draw(st.integers(0, 2**32 - 1))).random() < EDGE_RATE:
        return draw(st.sampled_from(invalid))
    return draw(valid)


def kernel_values(n: int):
    return st.lists(st.floats(-4, 4, width=32), min_size=n, max_size=n)


def compare(got: np.ndarray, want: np.ndarray, scale: np.ndarray) -> None:
    """Equal within float32 rounding of the sum of |terms| (``scale``); NaN where NaN, same infinities."""
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == np.float32
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf])
    ok = ~nan & ~inf
    # float32 overflow of a finite float64 sum is allowed only where the magnitudes are huge
    err = np.abs(got[ok].astype(np.float64) - want[ok])
    tol = 2e-6 * 16 * np.abs(scale[ok]) + 1e-30
    overflowed = ~np.isfinite(got[ok]) & (np.abs(scale[ok]) > 1e37)
    assert np.all((err <= tol) | overflowed), (got[ok][err > tol], want[ok][err > tol])


def _abs_ok(a: np.ndarray) -> np.ndarray:
    """|a| with NaN/inf replaced by 0, for the error scale (the NaN/inf cells are compared exactly)."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return np.where(np.isfinite(a), a, 0.0)


# ---------------------------------------------------------------------------------- convolve

@st.composite
def conv_cases(draw):
    x = draw(images())
    h, w = x.shape[:2]
    c = 1 if x.ndim == 2 else x.shape[2]
    # kernels mostly fit (the input may be 1 wide); sometimes one cell more than fits
    kh = draw(edgy(st.integers(1, min(4, h + 2)), h + 3))
    kw = draw(edgy(st.integers(1, min(4, w + 2)), w + 3))
    if draw(st.booleans()) and c <= 3:
        c_out = draw(st.integers(1, 3))
        k = np.array(draw(kernel_values(c_out * c * kh * kw)), dtype=np.float32).reshape(c_out, c, kh, kw)
    else:
        k = np.array(draw(kernel_values(kh * kw)), dtype=np.float32).reshape(kh, kw)
    stride = (draw(edgy(st.integers(1, 3), 0, -1)), draw(edgy(st.integers(1, 3), 0)))
    dilation = (draw(edgy(st.integers(1, 2), 0)), draw(edgy(st.integers(1, 2), 0, -2)))
    padding = draw(st.one_of(st.tuples(edgy(st.integers(0, 3), -1), edgy(st.integers(0, 3), -2)),
                             st.sampled_from(["valid", "same", "full"])))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    bias = draw(st.floats(-10, 10, width=32))
    return x, k, stride, dilation, padding, mode, bias


def _conv_valid(x, k, stride, dilation, padding, mode):
    """Validity by PyTorch's rules, written independently of convcli; returns pad or None."""
    if min(stride) < 1 or min(dilation) < 1:
        return None
    kh, kw = k.shape[-2:]
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0, 0, 0)
        elif padding == "full":
            pad = (dilation[0] * (kh - 1),) * 2 + (dilation[1] * (kw - 1),) * 2
        else:
            if stride != (1, 1):
                return None
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pad = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    else:
        if min(padding) < 0:
            return None
        pad = (padding[0], padding[0], padding[1], padding[1])
    h, w = x.shape[:2]
    if dilation[0] * (kh - 1) + 1 > h + pad[0] + pad[1] or dilation[1] * (kw - 1) + 1 > w + pad[2] + pad[3]:
        return None
    if mode == "reflect" and any(pad) and (max(pad[:2]) >= h or max(pad[2:]) >= w):
        return None
    if mode == "circular" and (max(pad[:2]) > h or max(pad[2:]) > w):
        return None
    return pad


@PROFILE
@given(conv_cases())
def test_convolve_matches_reference(case):
    x, k, stride, dilation, padding, mode, bias = case
    pad = _conv_valid(x, k, stride, dilation, padding, mode)
    kwargs = dict(stride=stride, padding=padding, padding_mode=mode, dilation=dilation, bias=bias)
    event("invalid" if pad is None else "valid")
    if pad is None:
        with pytest.raises(ParameterError):
            convcli.convolve(x, k, **kwargs)
        return
    got = convcli.convolve(x, k, **kwargs)
    with np.errstate(invalid="ignore", over="ignore"):
        want = reference.conv2d_reference(x, k, stride=stride, pad=pad, mode=mode, dilation=dilation, bias=bias)
    scale = reference.conv2d_reference(_abs_ok(x), np.abs(k), stride=stride, pad=pad, mode=mode,
                                       dilation=dilation, bias=abs(bias))
    compare(got, want, scale)


# ------------------------------------------------------------------------------------- tconv

@st.composite
def tconv_cases(draw):
    x = draw(images(max_side=6))
    c = 1 if x.ndim == 2 else x.shape[2]
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    if draw(st.booleans()):
        c_out = draw(st.integers(1, 3))
        k = np.array(draw(kernel_values(c * c_out * kh * kw)), dtype=np.float32).reshape(c, c_out, kh, kw)
    else:
        k = np.array(draw(kernel_values(kh * kw)), dtype=np.float32).reshape(kh, kw)
    stride = (draw(edgy(st.integers(1, 3), 0, -1)), draw(edgy(st.integers(1, 3), 0)))
    dilation = (draw(edgy(st.integers(1, 3), 0)), draw(st.integers(1, 3)))
    padding = (draw(edgy(st.integers(0, 2), -1, 5)), draw(edgy(st.integers(0, 2), 6)))
    # output_padding must stay below the stride or the dilation: sometimes exactly that big
    output_padding = tuple(draw(edgy(st.integers(0, max(s, d) - 1) if max(s, d) >= 1 else st.just(0), max(s, d)))
                           for s, d in zip(stride, dilation))
    bias = draw(st.floats(-10, 10, width=32))
    return x, k, stride, dilation, padding, output_padding, bias


@PROFILE
@given(tconv_cases())
def test_tconv_matches_reference(case):
    x, k, stride, dilation, padding, output_padding, bias = case
    kh, kw = k.shape[-2:]
    h, w = x.shape[:2]
    valid = (min(stride) >= 1 and min(dilation) >= 1 and min(padding) >= 0 and min(output_padding) >= 0
             and all(a < s or a < d for a, s, d in zip(output_padding, stride, dilation))
             and (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1 >= 1
             and (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1 >= 1)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, bias=bias)
    event("valid" if valid else "invalid")
    if not valid:
        with pytest.raises(ParameterError):
            convcli.tconv(x, k, **kwargs)
        return
    got = convcli.tconv(x, k, **kwargs)
    with np.errstate(invalid="ignore", over="ignore"):
        want = reference.tconv2d_reference(x, k, **kwargs)
    scale = reference.tconv2d_reference(_abs_ok(x), np.abs(k), **{**kwargs, "bias": abs(bias)})
    compare(got, want, scale)


# ---------------------------------------------------------------------------------- activate

FUNCTIONS = ["relu", "leaky-relu", "sigmoid", "tanh", "elu", "gelu", "silu", "softplus"]


@PROFILE
@given(edgy(st.sampled_from(FUNCTIONS), "nosuch", "ReLU", "Leaky-ReLU"),
       edgy(st.none(), 0.2, float("nan"), float("inf")) | st.floats(-3, 3, width=32),
       st.lists(st.one_of(st.floats(-60, 60, width=32), EXTREME, st.floats(width=32)), min_size=1, max_size=40),
       st.booleans())
def test_activate_matches_reference(fn, alpha, xs, derivative):
    x = np.array(xs, dtype=np.float32)
    name = fn.lower()
    bad = name not in FUNCTIONS or (alpha is not None and (name not in ("leaky-relu", "elu") or not math.isfinite(alpha)))
    event("invalid" if bad else "valid")
    if bad:
        with pytest.raises(ParameterError):
            convcli.activate(x, fn, alpha=alpha, derivative=derivative)
        return
    got = convcli.activate(x, fn, alpha=alpha, derivative=derivative)
    y, d = reference.activate_reference(x, name, None if alpha is None else float(np.float32(alpha)))
    want = d if derivative else y
    assert got.shape == x.shape and got.dtype == np.float32
    nan_in = np.isnan(x)
    if derivative and name in ("relu", "leaky-relu", "elu"):
        # PyTorch's backward compares x > 0 (NaN fails): relu and elu pass the gradient, leaky scales it
        slope = (0.01 if alpha is None else alpha) if name == "leaky-relu" else 1.0
        assert np.all(got[nan_in] == np.float32(slope)), "g'(NaN) as PyTorch's autograd gives it"
    else:
        assert np.all(np.isnan(got[nan_in])), "NaN in, NaN out (as in PyTorch)"
    ok = ~nan_in
    w32 = want[ok].astype(np.float32)
    np.testing.assert_array_equal(np.isnan(got[ok]), np.isnan(w32))
    fin = np.isfinite(w32)
    np.testing.assert_array_equal(got[ok][~fin & ~np.isnan(w32)], w32[~fin & ~np.isnan(w32)])
    np.testing.assert_allclose(got[ok][fin], w32[fin], rtol=3e-7, atol=TINY * 2)


# -------------------------------------------------------------------------------- batch norm

@st.composite
def bn_cases(draw):
    n = draw(st.integers(1, 4))
    c = draw(st.sampled_from([1, 2, 3]))
    items = []
    for _ in range(n):
        h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        flat = draw(st.lists(st.one_of(st.floats(-1e3, 1e3, width=32), st.sampled_from([1e6, -1e6, TINY, 0.0])),
                             min_size=h * w * c, max_size=h * w * c))
        items.append(np.array(flat, dtype=np.float32).reshape(h, w, c))
    batch_size = draw(edgy(st.one_of(st.none(), st.integers(1, 4)), 0))
    momentum = draw(edgy(st.one_of(st.none(), st.floats(0, 1)), -0.1, 1.5, float("nan")))
    eps = draw(edgy(st.sampled_from([1e-5, 1e-3, 1.0]), 0.0, -1e-5))
    gamma = draw(st.one_of(st.none(), st.lists(st.floats(-3, 3), min_size=c, max_size=c)))
    beta = draw(st.one_of(st.none(), st.lists(st.floats(-3, 3), min_size=c, max_size=c)))
    return items, batch_size, momentum, eps, gamma, beta


@PROFILE
@given(bn_cases())
def test_batch_norm_matches_reference(case):
    items, batch_size, momentum, eps, gamma, beta = case
    kwargs = dict(eps=eps, momentum=momentum, gamma=gamma, beta=beta, batch_size=batch_size)
    bad_param = eps <= 0 or (momentum is not None and not 0 <= momentum <= 1) or batch_size == 0
    size = len(items) if batch_size is None else batch_size
    event("invalid parameter" if bad_param else "parameters valid")
    if bad_param:
        with pytest.raises(ParameterError):
            convcli.batch_norm(items, **kwargs)
        return
    counts = [sum(a.shape[0] * a.shape[1] for a in items[s:s + size]) for s in range(0, len(items), size)]
    event("one value per channel" if min(counts) < 2 else "valid")
    if min(counts) < 2:
        with pytest.raises(InputError, match="one value"):
            convcli.batch_norm(items, **kwargs)
        return
    outs, stats = convcli.batch_norm(items, **kwargs)
    want, ref = reference.batch_norm_reference([a.astype(np.float64) for a in items], **kwargs)
    for got, exp in zip(outs, want):
        assert got.shape == exp.shape and got.dtype == np.float32
        # ẑ is (z − μ)/σ: its float32 error grows with |z − μ|/σ and with how many values were summed
        np.testing.assert_allclose(got, exp, rtol=1e-4, atol=1e-4 * (1 + np.abs(exp).max()))
    np.testing.assert_allclose(stats.mean, ref["mean"], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(stats.var, ref["var"], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(stats.running_mean, ref["running_mean"], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(stats.running_var, ref["running_var"], rtol=1e-4, atol=1e-3)


def test_batch_norm_nan_propagates_to_its_channel_only():
    """A NaN poisons its channel's statistics (as in PyTorch) and nothing else."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    a[0, 0, 0, 1] = np.nan
    out, stats = convcli.batch_norm(a)
    assert np.isnan(stats.mean[1]) and np.isfinite(stats.mean[0])
    assert np.all(np.isnan(out[..., 1])) and np.all(np.isfinite(out[..., 0]))


# ------------------------------------------------------------------------- pool and upsample

@st.composite
def pool_params(draw):
    size = (draw(edgy(st.integers(1, 3), 0)), draw(st.integers(1, 3)))
    stride = draw(edgy(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))), (0, 1)))
    padding = tuple(draw(edgy(st.integers(0, max(k, 0) // 2), -1, max(k, 0) // 2 + 1)) for k in size)
    return size, stride, padding


@PROFILE
@given(images(channels=(0, 1, 3)), edgy(st.sampled_from(["max", "min", "avg"]), "median"), pool_params(),
       st.booleans(), st.booleans())
def test_pool_matches_reference(x, mode, params, ceil_mode, include_pad):
    size, stride, padding = params
    if not hasattr(convcli, "pool") or not hasattr(reference, "pool2d_reference"):
        pytest.skip("pool not merged yet")
    h, w = x.shape[:2]
    kwargs = dict(mode=mode, size=size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                  count_include_pad=include_pad)
    s = size if stride is None else stride
    valid = mode != "median" and min(size) >= 1 and min(s) >= 1 and min(padding) >= 0 and \
        all(p <= k // 2 for p, k in zip(padding, size))
    if valid:
        sizes = []
        for n, k, st_, p in ((h, size[0], s[0], padding[0]), (w, size[1], s[1], padding[1])):
            if ceil_mode:
                o = -(-(n + 2 * p - k) // st_) + 1
                if (o - 1) * st_ >= n + p:
                    o -= 1
            else:
                o = (n + 2 * p - k) // st_ + 1
            sizes.append(o)
        valid = min(sizes) >= 1
    event("valid" if valid else "invalid")
    if not valid:
        with pytest.raises(ParameterError):
            convcli.pool(x, **kwargs)
        return
    got = convcli.pool(x, **kwargs)
    want = reference.pool2d_reference(x, **{**kwargs, "stride": s})
    compare(got, want, _abs_ok(want) + (np.nanmax(_abs_ok(x)) if mode == "avg" else 0.0))


@PROFILE
# finite values only: the reference skips zero-weight taps, so an inf next to a pixel gives inf
# where PyTorch (and convcli) give 0·inf = NaN; NaN/inf through upsample are tested in test_upsample
@given(images(channels=(0, 1, 3), extremes="finite"),
       edgy(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]), "area?"),
       st.one_of(st.tuples(edgy(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), 0.0, -1.0), st.sampled_from([1.0, 2.0, 2.5])),
                 st.none()),
       st.tuples(edgy(st.integers(1, 9), 0), st.integers(1, 9)), edgy(st.just(False), True))
def test_upsample_matches_reference(x, mode, scale, size, align_corners):
    if not hasattr(convcli, "upsample") or not hasattr(reference, "interpolate_reference"):
        pytest.skip("upsample not merged yet")
    h, w = x.shape[:2]
    kwargs = dict(mode=mode, align_corners=align_corners)
    kwargs.update(scale=scale) if scale is not None else kwargs.update(size=size)
    valid = mode != "area?" and not (align_corners and mode not in ("bilinear", "bicubic"))
    if scale is not None:
        valid = valid and min(scale) > 0 and math.floor(h * scale[0]) >= 1 and math.floor(w * scale[1]) >= 1
    else:
        valid = valid and min(size) >= 1
    event("valid" if valid else "invalid")
    if not valid:
        with pytest.raises(ParameterError):
            convcli.upsample(x, **kwargs)
        return
    got = convcli.upsample(x, **kwargs)
    want = reference.interpolate_reference(x, **kwargs)
    compare(got, want, np.full(want.shape, np.nanmax(_abs_ok(x)) * 4 + 1e-30))
