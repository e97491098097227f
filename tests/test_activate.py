"""convcli.activate against the plain-Python reference, PyTorch's golden numbers, and the slides."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import convcli
from convcli.errors import InputError, ParameterError
from convcli.ops.activations import (FUNCTIONS, activation_stats, classify, display_range, evaluate,
                                     pixels_to_inputs, to_pixels)
from golden.make_golden import load
from reference import activate_reference, activation_reference

ALPHAS = {"leaky-relu": [None, 0.01, 0.2, 0.5, -0.3, 1.5], "elu": [None, 1.0, 0.3, 2.0]}


def _settings():
    for fn in FUNCTIONS:
        for alpha in ALPHAS.get(fn, [None]):
            yield fn, alpha


# ---------------------------------------------------------------------------- PyTorch (golden)

@pytest.mark.parametrize("case", load("activations"), ids=lambda c: f"{c['fn']}-{c['alpha']}")
def test_matches_pytorch_golden(case):
    y = convcli.activate(case["x"], case["fn"], alpha=case["alpha"])
    d = convcli.activate(case["x"], case["fn"], alpha=case["alpha"], derivative=True)
    assert y.dtype == np.float32 and d.dtype == np.float32
    np.testing.assert_allclose(y, case["y"], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(d, case["grad"], rtol=1e-6, atol=1e-5)


def test_golden_covers_every_function():
    assert {c["fn"] for c in load("activations")} == set(FUNCTIONS)


# ------------------------------------------------------------------------- property: vs reference

@pytest.mark.parametrize("fn,alpha", list(_settings()))
@pytest.mark.parametrize("seed", range(4))
def test_matches_reference_on_random_arrays(fn, alpha, seed):
    rng = np.random.default_rng(seed * 97 + FUNCTIONS.index(fn))
    ndim = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 7, ndim))
    scale = [1.0, 5.0, 40.0][seed % 3]
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    x.flat[0] = 0.0
    y, d = evaluate(x, fn, alpha=alpha)
    ry, rd = activate_reference(x, fn, alpha)
    assert y.shape == x.shape and d.shape == x.shape
    np.testing.assert_allclose(y, ry, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d, rd, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(convcli.activate(x, fn, alpha=alpha), y)
    np.testing.assert_array_equal(convcli.activate(x, fn, alpha=alpha, derivative=True), d)


# --------------------------------------------------------------------------- kinks and stability

@pytest.mark.parametrize("fn,alpha,expected", [
    ("relu", None, 0.0), ("leaky-relu", None, 0.01), ("leaky-relu", 0.3, 0.3), ("elu", None, 1.0),
    ("elu", 0.5, 0.5), ("sigmoid", None, 0.25), ("tanh", None, 1.0), ("gelu", None, 0.5), ("silu", None, 0.5),
    ("softplus", None, 0.5)])
def test_derivative_at_zero_follows_pytorch(fn, alpha, expected):
    d = convcli.activate(np.array([0.0, -0.0], np.float32), fn, alpha=alpha, derivative=True)
    np.testing.assert_allclose(d, [expected, expected], rtol=1e-7)


def test_slides_relu_and_leaky_relu():
    x = np.array([-3, -1, 0, 2, 5], np.float32)
    np.testing.assert_array_equal(convcli.activate(x, "relu"), [0, 0, 0, 2, 5])
    np.testing.assert_allclose(convcli.activate(x, "leaky-relu"), [-0.03, -0.01, 0, 2, 5], rtol=1e-6)
    np.testing.assert_array_equal(convcli.activate(x, "relu", derivative=True), [0, 0, 0, 1, 1])


def test_sigmoid_between_0_and_1_and_symmetric():
    x = np.linspace(-12, 12, 241).astype(np.float32)
    s = convcli.activate(x, "sigmoid")
    assert s.min() > 0 and s.max() < 1
    np.testing.assert_allclose(s + s[::-1], 1.0, atol=1e-6)
    np.testing.assert_allclose(convcli.activate(0.0, "sigmoid"), 0.5)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_large_inputs_are_stable(fn):
    x = np.array([-1e30, -1e4, -200, -89, 89, 200, 1e4, 1e30], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, d = evaluate(x, fn)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))


def test_softplus_threshold_and_tails():
    x = np.array([20.0, 20.5, -100.0, 30.0], np.float32)
    y, d = evaluate(x, "softplus")
    assert y[1] == np.float32(20.5) and d[1] == 1.0   # above the threshold: the identity
    assert y[3] == 30.0
    assert y[2] == 0.0 or y[2] < 1e-40
    np.testing.assert_allclose(y[0], 20.0 + np.log1p(np.exp(-20.0)), rtol=1e-7)


def test_nan_propagates():
    y, d = evaluate(np.array([np.nan, 1.0], np.float32), "sigmoid")
    assert np.isnan(y[0]) and np.isnan(d[0]) and y[1] == np.float32(1 / (1 + np.exp(-1.0)))


def test_scalars_lists_and_ints():
    assert convcli.activate(3, "relu").shape == ()
    assert convcli.activate([[-1, 2]], "relu").tolist() == [[0.0, 2.0]]
    assert convcli.activate(np.arange(-2, 3, dtype=np.int64), "relu").dtype == np.float32


def test_aliases():
    x = np.array([-2.0, 1.0], np.float32)
    np.testing.assert_array_equal(convcli.activate(x, "leaky_relu"), convcli.activate(x, "leaky-relu"))
    np.testing.assert_array_equal(convcli.activate(x, "SWISH"), convcli.activate(x, "silu"))


@pytest.mark.parametrize("kwargs,match", [
    (dict(fn="relu6"), "unknown activation"),
    (dict(fn="sigmoid", alpha=0.1), "alpha applies to leaky-relu"),
    (dict(fn="elu", alpha=float("nan")), "alpha must be finite"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        convcli.activate(np.zeros(3), **kwargs)


def test_bad_input():
    with pytest.raises(InputError, match="real numbers"):
        convcli.activate(np.array(["a"]), "relu")


# ------------------------------------------------------------------------------ dead / saturated

def test_classify_relu_dead_and_sigmoid_saturated():
    x = np.array([-2.0, 0.0, 3.0], np.float32)
    dead, sat = classify(*evaluate(x, "relu"))
    assert dead.tolist() == [True, True, False] and not sat.any()
    x = np.array([-10.0, -4.0, 0.0, 4.0, 10.0], np.float32)
    dead, sat = classify(*evaluate(x, "sigmoid"))
    # σ'(±4) = 0.0177 > 0.01, σ'(±10) = 4.5e-5
    assert sat.tolist() == [True, False, False, False, True] and not dead.any()


def test_stats_against_reference():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((9, 11)) * 4).astype(np.float32)
    for fn in FUNCTIONS:
        y, d = evaluate(x, fn)
        stats = activation_stats(y, d, fn, None, False)
        ry, rd = activate_reference(x, fn)
        ref_dead = sum(1 for a, b in zip(ry.ravel(), rd.ravel()) if a == 0 and b == 0)
        ref_sat = sum(1 for a, b in zip(ry.ravel(), rd.ravel()) if abs(b) < 0.01 and not (a == 0 and b == 0))
        assert stats.count == 99
        assert (stats.dead, stats.saturated) == (ref_dead, ref_sat), fn
        assert stats.min == pytest.approx(ry.min(), abs=1e-6) and stats.max == pytest.approx(ry.max(), abs=1e-6)
        assert stats.mean == pytest.approx(ry.mean(), abs=1e-5)
        assert stats.dead_fraction == pytest.approx(ref_dead / 99)


# ------------------------------------------------------------------------------------ image ranges

def test_pixel_mapping_round_trip():
    p = np.array([0, 127.5, 255], np.float32)
    np.testing.assert_allclose(pixels_to_inputs(p, 255, (-1, 1)), [-1, 0, 1])
    np.testing.assert_allclose(pixels_to_inputs(np.array([65535.0]), 65535, (-6, 6)), [6])
    np.testing.assert_allclose(to_pixels(np.array([0.0, 0.5, 1.0]), (0, 1), 255), [0, 127.5, 255])


@pytest.mark.parametrize("fn,deriv,expected", [
    ("sigmoid", False, (0, 1)), ("tanh", False, (-1, 1)), ("relu", False, (0, 1)),
    ("leaky-relu", False, (-0.01, 1)), ("sigmoid", True, (0, 0.25)), ("relu", True, (0, 1)),
    ("tanh", True, (0, 1))])
def test_display_ranges(fn, deriv, expected):
    lo, hi = display_range(fn, None, (-1.0, 1.0), deriv)
    assert lo == pytest.approx(expected[0], abs=1e-6) and hi == pytest.approx(expected[1], abs=1e-6)


def test_display_range_of_gelu_includes_its_dip():
    lo, hi = display_range("gelu", None, (-3.0, 3.0), False)
    values = [activation_reference(x, "gelu")[0] for x in np.linspace(-3, 3, 60001)]
    assert lo == pytest.approx(min(values), abs=1e-5) and hi == pytest.approx(max(values), abs=1e-5)
    assert -0.18 < lo < -0.16


def test_nan_derivatives_follow_pytorch_autograd():
    """relu'(NaN) = 1, leaky'(NaN) = α, elu'(NaN) = 1 (the backward kernels' x > 0 test fails for NaN);
    the smooth functions give NaN. Values read off torch 2.13's autograd."""
    x = np.array([np.nan], np.float32)
    expected = {"relu": 1.0, "leaky-relu": np.float32(0.01), "elu": 1.0}
    for fn in ("relu", "leaky-relu", "sigmoid", "tanh", "elu", "gelu", "silu", "softplus"):
        d = convcli.activate(x, fn, derivative=True)[0]
        assert np.isnan(convcli.activate(x, fn)[0])
        if fn in expected:
            assert d == expected[fn], fn
        else:
            assert np.isnan(d), fn
    assert convcli.activate(x, "leaky-relu", alpha=0.2, derivative=True)[0] == np.float32(0.2)


def test_nan_derivatives_against_live_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fns = {"relu": F.relu, "leaky-relu": lambda t: F.leaky_relu(t, 0.01), "sigmoid": torch.sigmoid,
           "tanh": torch.tanh, "elu": F.elu, "gelu": F.gelu, "silu": F.silu, "softplus": F.softplus}
    for name, f in fns.items():
        t = torch.tensor([float("nan"), -1.0, 0.0, 2.0], requires_grad=True)
        f(t).backward(torch.ones(4))
        got = convcli.activate(t.detach().numpy(), name, derivative=True)
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-6, equal_nan=True, err_msg=name)
