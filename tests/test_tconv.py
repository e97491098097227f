"""convcli.tconv against the literal scatter-loop reference, PyTorch's golden numbers, hand-computed
overlap maps, and the resize-then-convolve remedy."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.errors import LimitError, ParameterError
from convcli.ops.tconv import overlap_counts, overlap_map, plan_tconv, remedy_padding
from reference import conv2d_reference, tconv2d_reference
from golden.make_golden import load


def _size(n, k, s, p, a, d):
    return (n - 1) * s - 2 * p + d * (k - 1) + a + 1


# ------------------------------------------------------------------------------------ by hand

def test_stride_2_kernel_2_tiles_the_input():
    x = np.array([[1, 2], [3, 4]], np.float32)
    out = convcli.tconv(x, np.ones((2, 2)), stride=2)
    np.testing.assert_array_equal(out, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_overlapping_stamps_add_up():
    # 1-D by hand: [1, 2] with kernel [1, 10, 100], stride 2 -> 1, 10, 100+2, 20, 200
    out = convcli.tconv(np.array([[1, 2]], np.float32), "1,10,100", stride=2)
    np.testing.assert_array_equal(out, [[1, 10, 102, 20, 200]])
    # padding crops one cell each side, output_padding adds one at the right (a zero: nothing reaches it)
    out = convcli.tconv(np.array([[1, 2]], np.float32), "1,10,100", stride=(1, 2), padding=(0, 1),
                        output_padding=(0, 1))
    np.testing.assert_array_equal(out, [[10, 102, 20, 200]])


def test_flat_image_checkerboard():
    flat = np.full((4, 4), 100, np.float32)
    out = convcli.tconv(flat, "1,1,1;1,1,1;1,1,1", stride=2)
    assert out.shape == (9, 9)
    assert set(np.unique(out[1:-1, 1:-1]).tolist()) == {100.0, 200.0, 400.0}
    np.testing.assert_array_equal(out[2, :5], [200, 200, 400, 200, 400])
    np.testing.assert_array_equal(out[3, :5], [100, 100, 200, 100, 200])


def test_named_and_inline_kernels(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(convcli.tconv(x, "sobel-x", stride=2),
                                  convcli.tconv(x, "-1,0,1;-2,0,2;-1,0,1", stride=2))


# ------------------------------------------------------------------------ property: vs reference

def _random_case(rng):
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    p = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
    a = tuple(int(rng.integers(0, max(s[i], d[i]) + 1)) for i in range(2))   # sometimes too large
    h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    layout = int(rng.integers(0, 3))
    shape = (h, w) if layout == 0 else (h, w, int(rng.integers(1, 4)))
    x = (rng.standard_normal(shape) * 50).astype(np.float32)
    c = 1 if len(shape) == 2 else shape[2]
    if layout == 2:
        k = rng.standard_normal((c, int(rng.integers(1, 4)), kh, kw)).astype(np.float32)
    else:
        k = rng.standard_normal((kh, kw)).astype(np.float32)
    return x, k, dict(stride=s, padding=p, output_padding=a, dilation=d)


def _error_expected(x, k, kw_):
    kh, kwid = k.shape[-2:]
    s, p, a, d = kw_["stride"], kw_["padding"], kw_["output_padding"], kw_["dilation"]
    if any(not (a[i] < s[i] or a[i] < d[i]) for i in range(2)):
        return "output_padding must be smaller"
    if _size(x.shape[0], kh, s[0], p[0], a[0], d[0]) < 1 or _size(x.shape[1], kwid, s[1], p[1], a[1], d[1]) < 1:
        return "output would be empty"
    return None


@pytest.mark.parametrize("seed", range(400))
def test_random_against_reference(seed):
    rng = np.random.default_rng(seed)
    x, k, kw_ = _random_case(rng)
    c_out = k.shape[1] if k.ndim == 4 else (1 if x.ndim == 2 else x.shape[2])
    bias = rng.standard_normal(c_out).astype(np.float32) if seed % 2 else float(rng.standard_normal())
    message = _error_expected(x, k, kw_)
    if message:
        with pytest.raises(ParameterError, match=message):
            convcli.tconv(x, k, bias=bias, **kw_)
        return
    out = convcli.tconv(x, k, bias=bias, **kw_)
    ref = tconv2d_reference(x, k, bias=bias, **kw_)
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_layouts(rng):
    assert convcli.tconv(rng.standard_normal((3, 4)), "box", stride=2).shape == (7, 9)
    assert convcli.tconv(rng.standard_normal((3, 4, 1)), "box", stride=2).shape == (7, 9, 1)
    assert convcli.tconv(rng.standard_normal((3, 4, 3)), "box", stride=2).shape == (7, 9, 3)
    # a (C_in, C_out, kh, kw) weight: 1 channel in, 4 out
    assert convcli.tconv(rng.standard_normal((3, 4)), np.ones((1, 4, 2, 2)), stride=2).shape == (6, 8, 4)
    assert convcli.tconv(rng.standard_normal((3, 4, 2)), np.ones((2, 1, 2, 2)), stride=2).shape == (6, 8, 1)


def test_dense_weight_is_c_in_first(rng):
    """(C_in, C_out, kh, kw): output channel co sums input channels ci with w[ci, co]."""
    x = rng.standard_normal((3, 3, 2)).astype(np.float32)
    w = np.zeros((2, 3, 1, 1), np.float32)
    w[0, 2, 0, 0] = 1.0     # input channel 0 -> output channel 2
    w[1, 0, 0, 0] = 2.0     # input channel 1 -> output channel 0, doubled
    out = convcli.tconv(x, w)
    np.testing.assert_allclose(out[:, :, 2], x[:, :, 0])
    np.testing.assert_allclose(out[:, :, 0], 2 * x[:, :, 1])
    np.testing.assert_array_equal(out[:, :, 1], 0)


def test_nan_propagates_only_where_its_stamp_lands():
    x = np.zeros((3, 3), np.float32)
    x[0, 0] = np.nan
    out = convcli.tconv(x, np.ones((2, 2)), stride=2)
    assert np.isnan(out[:2, :2]).all()
    assert not np.isnan(out[2:, :]).any() and not np.isnan(out[:, 2:]).any()


# ---------------------------------------------------------------------------- golden (PyTorch)

GOLDEN = load("tconv")


@pytest.mark.parametrize("i", range(len(GOLDEN)))
def test_golden_pytorch(i):
    case = GOLDEN[i]
    bias = case["bias"] if case["layout"] != "hw" else float(case["bias"][0])
    out = convcli.tconv(case["x"], case["weight"], stride=tuple(case["stride"]), padding=tuple(case["padding"]),
                        output_padding=tuple(case["output_padding"]), dilation=tuple(case["dilation"]), bias=bias)
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], rtol=1e-4, atol=1e-4)


def test_golden_covers_every_option():
    def values(key):
        return {tuple(c[key]) for c in GOLDEN}
    assert {c["layout"] for c in GOLDEN} == {"hw", "hwc", "dense"}
    assert {(1, 1), (2, 2), (3, 2)} <= values("stride")
    assert {(0, 0), (1, 1), (2, 1)} <= values("padding")
    assert {(0, 0), (1, 1), (1, 0), (2, 1)} <= values("output_padding")
    assert {(1, 1), (2, 2), (1, 3)} <= values("dilation")
    # output_padding ≥ stride but < dilation: allowed by PyTorch and present
    assert any(c["output_padding"][1] >= c["stride"][1] for c in GOLDEN)
    assert len(GOLDEN) >= 200


# ------------------------------------------------------------------------------------ overlap

@pytest.mark.parametrize("n, k, s, p, a, d, expected", [
    (4, 3, 2, 0, 0, 1, [1, 1, 2, 1, 2, 1, 2, 1, 1]),     # k=3, s=2: uneven, 1 2 1 2 …
    (4, 4, 2, 0, 0, 1, [1, 1, 2, 2, 2, 2, 2, 2, 1, 1]),  # k=4, s=2: even inside
    (4, 3, 2, 1, 1, 1, [1, 2, 1, 2, 1, 2, 1, 1]),         # the usual "×2 upsampling" layer
    (3, 3, 3, 0, 0, 1, [1] * 9),                          # k = s: every pixel exactly once
    (3, 2, 3, 0, 0, 1, [1, 1, 0, 1, 1, 0, 1, 1]),         # k < s: holes
    (3, 2, 1, 0, 0, 2, [1, 1, 2, 1, 1]),                  # dilation spreads the taps
    (2, 1, 2, 0, 1, 1, [1, 0, 1, 0]),                     # output_padding adds an untouched cell
])
def test_overlap_counts_by_hand(n, k, s, p, a, d, expected):
    assert overlap_counts(n, k, s, p, a, d).tolist() == expected


def test_overlap_map_2d_is_1_2_4_and_equals_tconv_of_ones():
    plan = plan_tconv((4, 4), "1,1,1;1,1,1;1,1,1", stride=2)
    m = overlap_map(plan)
    assert m.shape == (9, 9)
    assert m[1:-1, 1:-1].min() == 1 and m[2, 2] == 4 and m[2, 3] == 2 and m[3, 3] == 1
    np.testing.assert_array_equal(m, convcli.tconv(np.ones((4, 4)), np.ones((3, 3)), stride=2))
    even = overlap_map(plan_tconv((4, 4), np.ones((4, 4)), stride=2))
    assert set(np.unique(even[2:-2, 2:-2]).tolist()) == {4}


@pytest.mark.parametrize("seed", range(40))
def test_overlap_map_equals_tconv_of_ones_random(seed):
    rng = np.random.default_rng(500 + seed)
    x, k, kw_ = _random_case(rng)
    if _error_expected(x, k, kw_):
        return
    plan = plan_tconv(x.shape[:2], k.shape[-2:] and np.ones(k.shape[-2:]), **kw_)
    np.testing.assert_array_equal(overlap_map(plan), convcli.tconv(np.ones(x.shape[:2]), np.ones(k.shape[-2:]), **kw_))


# ------------------------------------------------------------------------------------ remedy

def test_remedy_flat_image_is_even_inside():
    flat = np.full((4, 4), 100, np.float32)
    out = convcli.resize_convolve(flat, np.ones((3, 3)), stride=2)
    assert out.shape == convcli.tconv(flat, np.ones((3, 3)), stride=2).shape == (9, 9)
    np.testing.assert_array_equal(out[2:-1, 2:-1], 900)


def test_remedy_is_upsample_then_convolve(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)
    up = np.kron(x, np.ones((2, 2)))                       # nearest ×2, by another route
    top, bottom, left, right = remedy_padding(plan_tconv(x.shape, k, stride=2, padding=1, output_padding=1))
    assert (top, bottom, left, right) == (1, 1, 1, 1)
    ref = conv2d_reference(up, k[::-1, ::-1], pad=(1, 1, 1, 1))
    out = convcli.resize_convolve(x, k, stride=2, padding=1, output_padding=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", range(60))
def test_remedy_size_matches_and_stride_1_equals_tconv(seed):
    rng = np.random.default_rng(900 + seed)
    x, k, kw_ = _random_case(rng)
    if _error_expected(x, k, kw_):
        return
    t = convcli.tconv(x, k, **kw_)
    r = convcli.resize_convolve(x, k, **kw_)
    assert r.shape == t.shape
    kw1 = dict(kw_, stride=(1, 1), output_padding=tuple(a if a < d else 0 for a, d in
                                                         zip(kw_["output_padding"], kw_["dilation"])))
    if _error_expected(x, k, kw1):
        return
    np.testing.assert_allclose(convcli.resize_convolve(x, k, **kw1), convcli.tconv(x, k, **kw1),
                               rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------------------------------ errors

X = np.ones((3, 3), np.float32)


@pytest.mark.parametrize("kwargs, message", [
    (dict(stride=0), "stride must be at least 1"),
    (dict(dilation=(1, 0)), "dilation must be at least 1"),
    (dict(padding=-1), "padding must be >= 0"),
    (dict(output_padding=-1), "output_padding must be >= 0"),
    (dict(output_padding=1), "output_padding must be smaller than the stride or the dilation"),
    (dict(output_padding=2, stride=2), "along the height output_padding is 2, stride 2, dilation 1"),
    (dict(padding=3), r"output would be empty: H_out = .* = -1"),
    (dict(padding=(0, 4), stride=2), r"empty: W_out = .* = \(3 − 1\)·2 − 2·4 \+ 1·\(3 − 1\) \+ 0 \+ 1 = -1; use a smaller"),
    (dict(bias=[1, 2]), "bias has 2 values"),
    (dict(bias=float("nan")), "bias must be finite"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        convcli.tconv(X, "box", **kwargs)


def test_output_padding_allowed_below_dilation():
    assert convcli.tconv(X, "box", output_padding=1, dilation=2).shape == (8, 8)


def test_dense_channel_mismatch():
    with pytest.raises(ParameterError, match=r"\(C_in, C_out, kh, kw\).*expects 2 input channel"):
        convcli.tconv(X, np.ones((2, 3, 3, 3), np.float32))


def test_pixel_limit_checked_before_allocating():
    import convcli.limits as limits
    limits.set_max_pixels(100)
    with pytest.raises(LimitError, match="11×11"):
        convcli.tconv(np.ones((5, 5)), "box", stride=2)


@pytest.mark.parametrize("shape", [(31, 40), (700, 650), (13, 9, 3), (6, 5, 4)])
@pytest.mark.parametrize("params", [dict(stride=2), dict(stride=(3, 2), padding=(1, 2)),
                                    dict(stride=2, padding=1, output_padding=1, dilation=(2, 1)),
                                    dict(stride=(1, 4), padding=(0, 3), dilation=(1, 3), output_padding=(0, 2)),
                                    dict(stride=1, padding=2, bias=1.5)])
def test_phase_kernel_matches_the_planar_gather_bit_for_bit(shape, params):
    # a 2-D kernel runs the stride-phase kernel on interleaved rows (several threads when big);
    # the general planar gather kernel, used for 4-D kernels, must give the same bits
    from convcli.ops.tconv import plan_tconv, run_tconv
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 10).astype(np.float32)
    k = rng.standard_normal((3, 4)).astype(np.float32)
    assert plan_tconv(x.shape, k, **params).path == "rows"
    ref = run_tconv(x, plan_tconv(x.shape, k, path="planes", **params))
    out = convcli.tconv(x, k, **params)
    np.testing.assert_array_equal(out.view(np.uint32), ref.view(np.uint32))
