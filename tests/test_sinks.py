"""The sinks: Pixels(rule) equals rule.apply(the Values result) for every op and rule, and the rules
equal the mappings convcli made before sinks existed (display.to_pixels, activate's display range)."""
from __future__ import annotations

import numpy as np
import pytest

from convcli.errors import ParameterError
from convcli.ops import activations, display
from convcli.ops.activations import run_activation
from convcli.ops.conv import plan_convolution, run_plan
from convcli.ops.pool import plan_pool, run_pool
from convcli.ops.sinks import Pixels, RangeRule, Values
from convcli.ops.tconv import plan_tconv, run_tconv
from convcli.ops.upsample import plan_upsample, run_upsample

RULES = [RangeRule("clip"), RangeRule("abs"), RangeRule("rescale"), RangeRule("offset"),
         RangeRule("window", lo=-40.0, hi=90.0), RangeRule("clip", 65535.0), RangeRule("abs", 1023.0),
         RangeRule("offset", 65535.0), RangeRule("rescale", 65535.0), RangeRule("window", 65535.0, -1.0, 1.0),
         RangeRule("window", lo=3.0, hi=3.0)]


def _image(rng, shape):
    x = (rng.standard_normal(shape) * 120).astype(np.float32)
    x.reshape(-1)[:: max(1, x.size // 5)] = [np.nan, np.inf, -np.inf, 0.5, 2.5, 1e30][: len(x.reshape(-1)[:: max(1, x.size // 5)])]
    return x


def _runs(rng):
    """(name, input, run(arr, sink)) for a case of every op and of each path it has."""
    gray, rgb = _image(rng, (157, 203)), _image(rng, (83, 97, 3))
    k = rng.standard_normal((3, 4)).astype(np.float32)
    big = rng.standard_normal((21, 21)).astype(np.float32)
    dense = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    yield "conv direct", rgb, lambda a, s: run_plan(a, plan_convolution(a.shape, k, padding=1, stride=(1, 2)), s)
    yield "conv separable", gray, lambda a, s: run_plan(a, plan_convolution(a.shape, "sobel-x", padding=1), s)
    yield "conv dense", rgb, lambda a, s: run_plan(a, plan_convolution(a.shape, dense, padding=1), s)
    x_fft = np.abs(_image(rng, (330, 310)))
    x_fft[~np.isfinite(x_fft)] = 1.0
    yield "conv fft", x_fft, lambda a, s: run_plan(a, plan_convolution(a.shape, big, padding="same"), s)
    yield "pool rows", rgb, lambda a, s: run_pool(a, plan_pool(a.shape, mode="max", size=2), s)
    yield "pool planes", gray, lambda a, s: run_pool(a, plan_pool(a.shape, mode="avg", size=3, stride=2,
                                                                  padding=1), s)
    for mode in ("nearest", "bilinear", "bicubic"):
        yield f"upsample {mode}", rgb, lambda a, s, m=mode: run_upsample(a, plan_upsample(a.shape, mode=m, scale=2.5), s)
    yield "tconv rows", rgb, lambda a, s: run_tconv(a, plan_tconv(a.shape, k, stride=2, padding=1), s)
    yield "tconv dense", rgb, lambda a, s: run_tconv(a, plan_tconv(a.shape, dense.transpose(1, 0, 2, 3).copy(),
                                                                    stride=2), s)
    for fn in ("relu", "tanh", "gelu"):
        yield f"activate {fn}", rgb, lambda a, s, f=fn: run_activation(a, f, sink=s)


@pytest.mark.parametrize("blocks", ["serial", "3"])
def test_pixels_equal_the_rule_applied_to_the_values(rng, monkeypatch, blocks):
    monkeypatch.setenv("CONVCLI_BLOCKS", blocks)
    for name, x, run in _runs(rng):
        values = run(x, None)
        assert values.dtype == np.float32, name
        np.testing.assert_array_equal(run(x, Values()), values)
        for rule in RULES:
            got = run(x, Pixels(rule, strip_values=997))                 # many strips, even on small outputs
            want = rule.apply(values)
            assert got.dtype == want.dtype == (np.uint8 if rule.maxval <= 255 else np.uint16), (name, rule)
            assert got.shape == values.shape, (name, rule)
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {rule}")


def _expected(x, maxval, rule):
    v = np.where(np.isfinite(x), x.astype(np.float64), 0.0)
    shift, scale = 0.0, 1.0
    if rule == "rescale":
        lo, hi = v.min(), v.max()
        k = maxval / (hi - lo) if hi > lo else 0.0
        scale, shift = k, (-lo * k if hi > lo else 0.0)
    elif rule == "offset":
        shift = (maxval + 1) / 2 if maxval >= 255 else maxval / 2
    y = v * scale
    if rule == "abs":
        y = np.abs(y)
    return np.clip(np.rint(y + shift), 0, maxval)


@pytest.mark.parametrize("mode", display.RANGE_RULES)
@pytest.mark.parametrize("maxval", [255.0, 4095.0, 65535.0])
def test_range_rules_map_as_written(rng, mode, maxval):
    x = _image(rng, (40, 33, 3)) * 10
    got = RangeRule(mode, maxval).apply(x)
    np.testing.assert_array_equal(got, _expected(x, maxval, mode))
    np.testing.assert_array_equal(got, display.to_pixels(x, maxval, mode))


@pytest.mark.parametrize("window", [(-1.0, 1.0), (0.0, 1.0), (-3.5, 12.25), (5.0, 5.0), (1e20, 1e20)])
@pytest.mark.parametrize("maxval", [255.0, 65535.0])
def test_window_is_what_the_writer_made_of_activates_display_values(rng, window, maxval):
    x = np.concatenate([rng.uniform(window[0] - 2, window[1] + 2, 500), [np.nan, np.inf, -np.inf, 3e38, -3e38]])
    x = x.astype(np.float32).reshape(5, 101)
    with np.errstate(over="ignore"):                            # ±3e38 overflow float32 on purpose
        floats = activations.to_pixels(x, window, maxval)       # float32, as activate hands them over
    assert floats.dtype == np.float32
    want = display.to_pixels(floats, maxval, "clip")            # what the image writer does with them
    np.testing.assert_array_equal(RangeRule("window", maxval, *window).apply(x), want)


def test_pointwise_and_bad_rules():
    assert RangeRule("rescale").pointwise() is None
    assert RangeRule("abs", 65535.0).pointwise() == (True, 1.0, 0.0)
    assert RangeRule("offset").pointwise() == (False, 1.0, 128.0)
    assert RangeRule("window", 255.0, -1.0, 1.0).pointwise() == (False, 127.5, 127.5)
    with pytest.raises(ParameterError, match="range must be one of"):
        RangeRule("stretch")
    with pytest.raises(ParameterError, match="maxval"):
        RangeRule("clip", 0.0)
    with pytest.raises(TypeError):
        Pixels("clip")
    with pytest.raises(TypeError):
        run_activation(np.zeros(3), "relu", sink="pixels")


def test_activation_runner_keeps_any_shape(rng):
    for shape in [(), (7,), (4, 5), (2, 3, 4, 5), (0, 3)]:
        x = rng.standard_normal(shape).astype(np.float32)
        y = run_activation(x, "elu", alpha=0.5)
        assert y.shape == x.shape
        np.testing.assert_array_equal(y, activations.activate(x, "elu", alpha=0.5))
        np.testing.assert_array_equal(run_activation(x, "elu", alpha=0.5, sink=Pixels(RangeRule("abs"))),
                                      RangeRule("abs").apply(y))
