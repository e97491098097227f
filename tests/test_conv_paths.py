"""The convolution's fast paths (parallel row blocks, rank-1 kernels, uint8 input, FFT) against plain ones.

Paths are forced with ``path=`` and the split into blocks with CONVCLI_BLOCKS: no threshold is patched."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.ops import conv
from convcli.ops._conv_fft import _fast_len, _tiling, run_fft
from convcli.ops._conv_rows import rank1_factors
from reference import conv2d_reference

MODES = ["zeros", "reflect", "replicate", "circular"]


def _shifted_sum(x, k, pad, mode, stride, dilation):
    """Correlation as a float64 sum of shifted slices of a numpy-padded copy (fast enough for big inputs)."""
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    x3 = x[:, :, None] if x.ndim == 2 else x
    xp = np.pad(x3.astype(np.float64), ((pad[0], pad[1]), (pad[2], pad[3]), (0, 0)), mode=np_mode)
    kh, kw = k.shape
    (sy, sx), (dy, dx) = stride, dilation
    oh = (xp.shape[0] - dy * (kh - 1) - 1) // sy + 1
    ow = (xp.shape[1] - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((oh, ow, x3.shape[2]))
    for i in range(kh):
        for j in range(kw):
            out += k[i, j] * xp[i * dy:i * dy + (oh - 1) * sy + 1:sy, j * dx:j * dx + (ow - 1) * sx + 1:sx]
    return out[:, :, 0] if x.ndim == 2 else out


@pytest.mark.parametrize("seed", range(24))
def test_parallel_blocks_against_shifted_sum(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    monkeypatch.setenv("CONVCLI_BLOCKS", "8")               # force the parallel driver
    shape = (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
    if seed % 2:
        shape += (int(rng.integers(1, 4)),)
    x = rng.uniform(-100, 100, shape).astype(np.float32)
    kh, kw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    k = rng.standard_normal((kh, kw)).astype(np.float32)
    if seed % 3 == 0:
        k = np.outer(rng.standard_normal(kh), rng.standard_normal(kw)).astype(np.float32)   # rank 1
    stride = (1, 1) if seed % 4 < 2 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    py, px = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    mode = MODES[seed % 4]
    out = convcli.convolve(x, k, stride=stride, padding=(py, px), padding_mode=mode, dilation=dilation)
    ref = _shifted_sum(x, k, (py, py, px, px), mode, stride, dilation)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_shifted_sum_oracle_agrees_with_reference(rng):
    x = rng.standard_normal((9, 8, 2)).astype(np.float32)
    k = rng.standard_normal((3, 2)).astype(np.float32)
    for mode in MODES:
        np.testing.assert_allclose(_shifted_sum(x, k, (1, 1, 1, 1), mode, (2, 1), (1, 2)),
                                   conv2d_reference(x, k, stride=(2, 1), pad=(1, 1, 1, 1), mode=mode,
                                                    dilation=(1, 2)), rtol=1e-12)


@pytest.mark.parametrize("serial", [True, False])
def test_serial_and_parallel_agree_bit_for_bit(serial, monkeypatch, rng):
    x = rng.uniform(0, 255, (120, 130, 3)).astype(np.float32)
    k = rng.standard_normal((5, 5)).astype(np.float32)
    monkeypatch.setenv("CONVCLI_BLOCKS", "serial")
    a = convcli.convolve(x, k, padding="same", padding_mode="reflect")
    b = convcli.convolve(x, "sobel-x", padding=2, padding_mode="replicate")
    monkeypatch.setenv("CONVCLI_BLOCKS", "serial" if serial else "8")
    np.testing.assert_array_equal(convcli.convolve(x, k, padding="same", padding_mode="reflect"), a)
    np.testing.assert_array_equal(convcli.convolve(x, "sobel-x", padding=2, padding_mode="replicate"), b)


@pytest.mark.parametrize("name, factors", [
    ("sobel-x", ([1, 2, 1], [-1, 0, 1])),
    ("vertical-edge", ([1, 1, 1], [1, 0, -1])),
    ("box:5", ([1 / 25] * 5, [1] * 5)),
])
def test_integer_kernels_factor_exactly(name, factors):
    k = convcli.parse_kernel(name)
    col, row = rank1_factors(k)
    np.testing.assert_array_equal(np.outer(col, row), k)
    expected_col, expected_row = (np.asarray(f, dtype=np.float32) for f in factors)
    assert np.allclose(np.abs(col), np.abs(expected_col)) and np.allclose(np.abs(row), np.abs(expected_row))


def test_gaussian_is_rank1_random_is_not(rng):
    assert rank1_factors(convcli.parse_kernel("gaussian:7,1.5")) is not None
    assert rank1_factors(rng.standard_normal((5, 5)).astype(np.float32)) is None
    assert rank1_factors(np.zeros((3, 3), np.float32)) is None
    almost = np.outer([1, 2, 3], [1, 1, 1]).astype(np.float32)
    almost[1, 1] += 1e-3
    assert rank1_factors(almost) is None


def test_separable_integer_results_are_exact(rng):
    x = rng.integers(0, 256, (200, 210)).astype(np.float32)
    out = convcli.convolve(x, "sobel-x", padding=1)
    assert np.array_equal(out, np.round(out))
    ref = _shifted_sum(x, convcli.parse_kernel("sobel-x"), (1, 1, 1, 1), "zeros", (1, 1), (1, 1))
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("kernel", ["box", "gaussian:5", "1,2;3,-4"])
def test_uint8_input_equals_float32_input(kernel, rng):
    x = rng.integers(0, 256, (70, 60, 3), dtype=np.uint8)
    a = convcli.convolve(x, kernel, padding="same", padding_mode="reflect")
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, convcli.convolve(x.astype(np.float32), kernel, padding="same",
                                                      padding_mode="reflect"))
    gray = x[:, :, 0]
    np.testing.assert_array_equal(convcli.convolve(gray, kernel), convcli.convolve(gray.astype(np.float32), kernel))


def test_non_contiguous_and_other_dtypes(rng):
    x = rng.uniform(0, 1, (30, 40, 3))
    view = x[:, ::-1, :]                       # negative strides
    np.testing.assert_allclose(convcli.convolve(view, "box"), convcli.convolve(np.ascontiguousarray(view), "box"))
    ints = rng.integers(-500, 500, (20, 20)).astype(np.int16)
    np.testing.assert_array_equal(convcli.convolve(ints, "sobel-y"), convcli.convolve(ints.astype(np.float32), "sobel-y"))


# ------------------------------------------------------------------------------------ the FFT path

def _rows(x):
    return np.ascontiguousarray(x if x.dtype == np.uint8 else x.astype(np.float32)).reshape(x.shape[0], -1)


def _run(x, k, path=None, **kw):
    """(result, plan) of the convolution on ``path`` (None: the one the chain chooses)."""
    plan = conv.plan_convolution(x.shape, k, path=path, **kw)
    assert path is None or plan.path == path
    return conv.run_plan(x, plan), plan


def _fft(x, k, **kw):
    """The FFT path's result, checked to come from the FFT itself (no tile gave way to direct)."""
    out, plan = _run(x, k, "fft", **kw)
    made = run_fft(_rows(x), plan.channels_in, plan)
    assert made is not None
    np.testing.assert_array_equal(out, made.reshape(out.shape))
    return out


def _direct(x, k, **kw):
    return _run(x, k, "direct", **kw)[0]


@pytest.mark.parametrize("seed", range(24))
def test_fft_path_against_shifted_sum_and_direct(seed):
    rng = np.random.default_rng(700 + seed)                # small cases, forced onto the FFT path
    shape = (int(rng.integers(20, 150)), int(rng.integers(20, 150)))
    shape += ((1, 3, 4)[seed % 3],) if seed % 4 else ()
    uint8 = seed % 2 == 1
    x = rng.integers(0, 256, shape).astype(np.uint8) if uint8 else rng.uniform(-100, 100, shape).astype(np.float32)
    kh, kw = int(rng.integers(2, 14)), int(rng.integers(2, 14))
    k = rng.standard_normal((kh, kw)).astype(np.float32)
    dilation = (1, 1) if seed % 3 == 0 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh >= shape[0] or ew >= shape[1]:
        dilation = (1, 1)
        eh, ew = kh, kw
    mode = MODES[seed % 4]
    py, px = int(rng.integers(0, eh)), int(rng.integers(0, ew))
    if mode == "reflect":
        py, px = min(py, shape[0] - 1), min(px, shape[1] - 1)
    bias = rng.uniform(-5, 5, shape[2] if len(shape) == 3 else 1)
    kw = dict(padding=(py, px), padding_mode=mode, dilation=dilation, bias=bias)
    out = _fft(x, k, **kw)
    ref = _shifted_sum(x, k, (py, py, px, px), mode, (1, 1), dilation) + bias
    assert out.shape == ref.shape and out.dtype == np.float32
    scale = float(np.abs(ref).max()) + 1.0
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6 * scale)
    direct = _direct(x, k, **kw)
    np.testing.assert_allclose(out, direct, rtol=1e-5, atol=1e-6 * scale)
    # the FFT result, rounded to float32 once, is at least as close to the exact sums as the direct one
    assert np.abs(out - ref).max() <= np.abs(direct - ref).max() * 1.5 + 1e-7 * scale


@pytest.mark.parametrize("seed", range(6))
def test_fft_path_against_reference_oracle(seed):
    rng = np.random.default_rng(800 + seed)
    c = (1, 3, 4)[seed % 3]
    x = rng.uniform(0, 255, (int(rng.integers(12, 30)), int(rng.integers(12, 30)), c)).astype(np.float32)
    k = rng.standard_normal((int(rng.integers(3, 8)), int(rng.integers(3, 8)))).astype(np.float32)
    dilation = (1 + seed % 2, 1 + (seed // 2) % 2)
    mode = MODES[seed % 4]
    out = _fft(x, k, padding=(3, 2), padding_mode=mode, dilation=dilation, bias=1.5)
    ref = conv2d_reference(x, k, pad=(3, 3, 2, 2), mode=mode, dilation=dilation, bias=1.5)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


def _plan(shape, k, **kw):
    return conv.plan_convolution(shape, np.asarray(k, np.float32), **kw)


def test_fft_dispatch_predicate(rng):
    side = int(np.ceil(np.sqrt(conv.FFT_MIN_OUT)))
    big = (side, side)
    k20, k19 = rng.standard_normal((20, 20)), rng.standard_normal((19, 19))
    assert 19 * 19 < conv.FFT_MIN_AREA <= 20 * 20
    assert _plan(big, k20, padding="same").path == "fft"
    assert _plan(big + (3,), k20, padding="same").path == "fft"
    assert _plan(big, k19, padding="same").path == "direct"
    assert _plan(big, rng.standard_normal((10, 10)), padding="same", dilation=3).path == "fft"   # spans 28×28
    assert _plan(big, k20, stride=2).path == "direct"
    assert _plan((side - 1, side - 1), k20, padding="same").path == "direct"                    # small output
    assert _plan(big, np.outer(rng.standard_normal(25), rng.standard_normal(25))).path == "separable"  # rank 1
    assert _plan(big + (2,), rng.standard_normal((2, 2, 21, 21))).path == "dense"               # channel-mixing


@pytest.mark.parametrize("kside, fft", [(20, True), (19, False)])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_kernels_either_side_of_the_threshold(kside, fft, dtype, rng):
    side = int(np.ceil(np.sqrt(conv.FFT_MIN_OUT)))
    x = rng.uniform(0, 255, (side, side + 7, 3))
    x = x.astype(np.uint8) if dtype == "uint8" else x.astype(np.float32)
    k = rng.standard_normal((kside, kside)).astype(np.float32)
    out = convcli.convolve(x, k, padding="same", padding_mode="reflect")
    assert _plan(x.shape, k, padding="same", padding_mode="reflect").path == ("fft" if fft else "direct")
    if fft:
        np.testing.assert_array_equal(out, _fft(x, k, padding="same", padding_mode="reflect"))
    pad = ((kside - 1) // 2, kside // 2) * 2
    ref = _shifted_sum(x, k, (pad[0], pad[1], pad[0], pad[1]), "reflect", (1, 1), (1, 1))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6 * float(np.abs(ref).max()))


def test_fft_huge_dynamic_range():
    rng = np.random.default_rng(5)
    x = rng.uniform(1e-3, 2e-3, (330, 340)).astype(np.float32)
    x[:, :150] = rng.uniform(-1e6, 1e6, (330, 150))                 # 1e6 next to 1e-3
    x[250:258, 250:258] = 1e6                                         # and a block inside the small part
    k = rng.standard_normal((25, 25)).astype(np.float32)
    out = convcli.convolve(x, k, padding="same", padding_mode="reflect")
    np.testing.assert_array_equal(out, _fft(x, k, padding="same", padding_mode="reflect"))   # the chain's choice
    direct = _direct(x, k, padding="same", padding_mode="reflect")
    pad = (12, 12, 12, 12)
    ref = _shifted_sum(x, k, pad, "reflect", (1, 1), (1, 1))
    scale = _shifted_sum(np.abs(x), np.abs(k), pad, "reflect", (1, 1), (1, 1))   # Σ |k|·|x| per output
    small = scale < 1.0                                                # windows of 1e-3 values only
    assert small.sum() > 10000 and (scale > 1e6).sum() > 10000
    err, err_direct = np.abs(out - ref), np.abs(direct - ref)
    # per output value, within a few float32 roundings of its own window's scale, as the direct sum
    assert (err <= 3e-7 * scale).all()
    assert (err_direct <= 3e-7 * scale).all()
    # where only 1e-3 values meet, the 1e6 values elsewhere in the tile cost no digits
    assert err[small].max() <= 1.5 * err_direct[small].max()


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_fft_integer_kernel_on_integer_image_is_exact(dtype, rng):
    x = rng.integers(0, 256, (310, 305, 3)).astype(dtype)
    k = rng.integers(-4, 5, (21, 21)).astype(np.float32)
    kw = dict(padding="same", padding_mode="replicate", bias=0.5)
    out = convcli.convolve(x, k, **kw)
    np.testing.assert_array_equal(out, _fft(x, k, **kw))
    ref = _shifted_sum(x, k, (10, 10, 10, 10), "replicate", (1, 1), (1, 1))
    assert np.array_equal(ref, np.round(ref))
    np.testing.assert_array_equal(out, (ref + 0.5).astype(np.float32))
    np.testing.assert_array_equal(out, _direct(x, k, **kw))                              # bit for bit
    # a constant image: a zero-sum kernel gives exact zeros, not FFT noise
    flat = np.full((310, 305), 200, dtype=dtype)
    k0 = k.copy()
    k0[10, 10] -= k0.sum()
    assert k0.sum() == 0
    zeros = _fft(flat, k0, padding="same", padding_mode="reflect")
    np.testing.assert_array_equal(zeros, np.zeros((310, 305), np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fft_non_finite_input_falls_back_to_direct(bad, rng):
    x = rng.uniform(0, 255, (320, 330, 3)).astype(np.float32)
    x[200, 40, 1] = bad
    x[5, 300, 0] = bad
    k = rng.standard_normal((21, 21)).astype(np.float32)
    out, plan = _run(x, k, padding="same", padding_mode="zeros")
    assert plan.path == "fft"
    assert run_fft(_rows(x), 3, plan) is None                        # tried, met the value, gave way
    direct = _direct(x, k, padding="same", padding_mode="zeros")
    np.testing.assert_array_equal(out, direct)                      # NaN/inf where the direct sum has them
    spoilt = ~np.isfinite(out)
    assert 0 < spoilt.sum() <= 2 * 21 * 21                          # the two windows' worth, not whole tiles
    assert spoilt[200, 40, 1] and not spoilt[200, 40, 0] and not spoilt[100, 100, 1]
    assert np.isnan(out).any() == np.isnan(bad)


def test_fft_tiling_covers_the_output():
    assert [_fast_len(n) for n in (1, 7, 11, 121, 246, 257, 4097)] == [1, 8, 12, 125, 250, 270, 4320]
    for out_n in (1, 5, 100, 299, 300, 512, 1000, 4096):
        for span in (1, 9, 20, 31, 64):
            n, valid, count = _tiling(out_n, span, 256)
            assert valid == n - span + 1 or (count == 1 and valid == out_n <= n - span + 1)
            assert count * valid >= out_n > (count - 1) * valid
            assert _fast_len(n) == n


# ------------------------------------------------------------------ straight to pixels, in strips

def _random_plan(rng, *, separable: bool):
    h, w = (int(v) for v in rng.integers(3, 90, 2))
    c = int(rng.choice([1, 3, 4]))
    kh, kw = (int(v) for v in rng.integers(1, 7, 2))
    k = (np.outer(rng.standard_normal(kh), rng.standard_normal(kw)) if separable
         else rng.standard_normal((kh, kw))).astype(np.float32)
    pad = int(rng.integers(0, 4))
    mode = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
    shape = (h, w) if c == 1 else (h, w, c)
    try:
        plan = conv.plan_convolution(shape, k, padding=pad, padding_mode=mode, stride=int(rng.integers(1, 3)),
                                     dilation=int(rng.integers(1, 3)), bias=float(rng.normal() * 20))
    except convcli.ParameterError:
        return None
    return shape, plan


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("strips", ["one strip", "many strips, threads"])
def test_pixel_path_equals_the_rule_applied_to_the_float_result(seed, strips, monkeypatch):
    from convcli.ops import display
    from convcli.ops.sinks import Pixels, RangeRule

    rng = np.random.default_rng(seed)
    strip_values = 1 << 18
    if strips != "one strip":
        strip_values = 7                                    # a few rows per strip
        monkeypatch.setenv("CONVCLI_BLOCKS", "3")           # and the thread pool
    done = 0
    while done < 6:
        made = _random_plan(rng, separable=bool(done % 2))
        if made is None:
            continue
        shape, plan = made
        x = (rng.integers(0, 256, shape).astype(np.uint8) if done % 3 else
             rng.uniform(-50, 300, shape).astype(np.float32))
        for rule in ("clip", "abs", "offset"):
            for maxval in (255.0, 65535.0):
                got = conv.run_plan(x, plan, Pixels(RangeRule(rule, maxval), strip_values=strip_values))
                want = display.to_pixels(conv.run_plan(x, plan), maxval, rule)
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got, want, err_msg=f"{rule} {maxval} {shape} {plan}")
        done += 1


def test_pixels_on_paths_that_are_not_row_local_map_the_whole_result(rng):
    from convcli.ops import display
    from convcli.ops.sinks import Pixels, RangeRule

    x = rng.integers(0, 256, (400, 400)).astype(np.uint8)
    big = conv.plan_convolution(x.shape, rng.standard_normal((25, 25)).astype(np.float32), padding="same")
    rgb = rng.integers(0, 256, (20, 20, 3)).astype(np.uint8)
    dense = conv.plan_convolution(rgb.shape, rng.standard_normal((2, 3, 3, 3)).astype(np.float32))
    assert big.path == "fft" and dense.path == "dense"
    for arr, plan in ((x, big), (rgb, dense)):
        for rule in ("clip", "abs", "offset", "rescale"):
            np.testing.assert_array_equal(conv.run_plan(arr, plan, Pixels(RangeRule(rule))),
                                          display.to_pixels(conv.run_plan(arr, plan), 255.0, rule))
    assert RangeRule("rescale", 255.0).pointwise() is None
    assert RangeRule("offset", 255.0).pointwise() == (False, 1.0, 128.0)
    assert RangeRule("abs", 65535.0).pointwise() == (True, 1.0, 0.0)


def test_a_tiny_weight_keeps_a_kernel_off_the_separable_path():
    # 3e-45 beside 1 is below float32 precision of the largest entry, but it multiplies 1e15 (or inf)
    # where every other term is 0: dropping it (as a rank-1 split would) changes the result
    k = np.array([[0, 3e-45], [1, 0]], dtype=np.float32)
    assert rank1_factors(k) is None
    x = np.zeros((8, 3), np.float32)
    x[6, 2] = 1e15
    out = convcli.convolve(x, k)
    assert out[6, 1] == np.float32(np.float32(3e-45) * np.float32(1e15)) and out[6, 1] > 0
    x[6, 2] = np.inf
    with np.errstate(invalid="ignore"):
        out = convcli.convolve(x, k)
    assert out[6, 1] == np.inf and np.isnan(out[5, 1])          # 3e-45·inf = inf; 0·inf = NaN


@pytest.mark.parametrize("spec", ["gaussian:5", "gaussian:15,2.5", "gaussian:31", "box:7", "sobel-y", "vertical-edge"])
def test_usual_separable_kernels_still_split(spec):
    assert rank1_factors(convcli.parse_kernel(spec)) is not None
