"""convcli.upsample against the slow reference, PyTorch's golden numbers, and the slides."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.errors import LimitError, ParameterError
from conftest import SAMPLES
from golden.make_golden import load
from reference import interpolate_reference

SLIDE = np.loadtxt(SAMPLES / "slide_upsample_2x2.csv", delimiter=",", dtype=np.float32)
SLIDE_OUT = [[20, 20, 45, 45], [20, 20, 45, 45], [10, 10, 43, 43], [10, 10, 43, 43]]
MODES = ["nearest", "nearest-exact", "bilinear", "bicubic"]


# ------------------------------------------------------------------------------------- the slides

def test_slide_matrix_is_the_one_documented():
    np.testing.assert_array_equal(SLIDE, [[20, 45], [10, 43]])


@pytest.mark.parametrize("kwargs", [dict(scale=2), dict(size=(4, 4)), dict(scale=(2, 2)), dict(size=4),
                                    dict(scale=2, mode="nearest-exact")])
def test_slides_nearest_2x2_to_4x4(kwargs):
    out = convcli.upsample(SLIDE, **kwargs)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, SLIDE_OUT)


def test_bilinear_by_hand():
    # half-pixel centres: output (0, 1) sits at source (−0.25 -> 0, 0.25): 20·0.75 + 45·0.25
    out = convcli.upsample(SLIDE, mode="bilinear", scale=2)
    assert out[0, 1] == pytest.approx(20 * 0.75 + 45 * 0.25)
    assert out[1, 1] == pytest.approx(0.5625 * 20 + 0.1875 * 45 + 0.1875 * 10 + 0.0625 * 43)
    corners = convcli.upsample(SLIDE, mode="bilinear", size=(3, 3), align_corners=True)
    np.testing.assert_allclose(corners, [[20, 32.5, 45], [15, 29.5, 44], [10, 26.5, 43]])


def test_linear_along_one_axis():
    row = np.array([[0, 10, 20]], np.float32)
    np.testing.assert_allclose(convcli.upsample(row, mode="linear", size=(1, 5), align_corners=True),
                               [[0, 5, 10, 15, 20]])


def test_bicubic_overshoots_and_keeps_constants():
    step = np.array([[0, 0, 100, 100]] * 4, np.float32)
    out = convcli.upsample(step, mode="bicubic", scale=4)
    assert out.min() < 0 and out.max() > 100           # Keys' kernel rings at an edge
    flat = np.full((3, 5), 7, np.float32)
    np.testing.assert_allclose(convcli.upsample(flat, mode="bicubic", scale=(2.5, 1.5)), 7, rtol=1e-6)


# ------------------------------------------------------------------------ property: vs reference

def _random_case(rng):
    mode = MODES[int(rng.integers(0, 4))]
    h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    kw = dict(mode=mode, align_corners=bool(rng.integers(0, 2)) and mode in ("bilinear", "bicubic"))
    if rng.random() < 0.5:
        kw["scale"] = (float(np.round(rng.uniform(0.6, 4), int(rng.integers(0, 4)))),
                       float(np.round(rng.uniform(0.6, 4), int(rng.integers(0, 4)))))
    else:
        kw["size"] = (int(rng.integers(1, 20)), int(rng.integers(1, 20)))
    shape = (h, w) if rng.random() < 0.5 else (h, w, int(rng.integers(1, 5)))
    return rng.uniform(-100, 100, shape).astype(np.float32), kw


@pytest.mark.parametrize("seed", range(400))
def test_random_against_reference(seed):
    rng = np.random.default_rng(seed)
    x, kw = _random_case(rng)
    if "scale" in kw and min(int(x.shape[0] * kw["scale"][0]), int(x.shape[1] * kw["scale"][1])) < 1:
        with pytest.raises(ParameterError, match="to nothing"):
            convcli.upsample(x, **kw)
        return
    out = convcli.upsample(x, **kw)
    ref = interpolate_reference(x, **kw)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_large_output_nearest_path_against_reference():
    # 42 rows × 2.017 = 84 rows: twice the size but not scale 2; with H_out + W_out > 128 PyTorch
    # floors dst / 2.017 (row 2 reads row 0), below that it halves (row 2 reads row 1)
    x = np.arange(42 * 40, dtype=np.float32).reshape(42, 40)
    big = convcli.upsample(x, scale=(2.017, 1.5))
    np.testing.assert_array_equal(big, interpolate_reference(x, scale=(2.017, 1.5)))
    assert big[2, 0] == x[0, 0]
    small = convcli.upsample(x[:, :4], scale=(2.017, 1.5))
    assert small[2, 0] == x[1, 0]


# ---------------------------------------------------------------------------- golden (PyTorch)

GOLDEN = load("upsample")


@pytest.mark.parametrize("i", range(len(GOLDEN)))
def test_golden_pytorch(i):
    case = GOLDEN[i]
    kw = {case["kind"]: tuple(case["value"]) if case["kind"] == "scale" else tuple(int(v) for v in case["value"])}
    out = convcli.upsample(case["x"], mode=case["mode"], align_corners=case["align_corners"], **kw)
    assert out.shape == case["expected"].shape
    np.testing.assert_allclose(out, case["expected"], rtol=1e-4, atol=1e-3)


def test_golden_covers_every_option():
    seen = {(c["mode"], c["kind"], c["align_corners"]) for c in GOLDEN}
    assert seen >= {(m, k, False) for m in MODES for k in ("scale", "size")}
    assert seen >= {(m, k, True) for m in ("bilinear", "bicubic") for k in ("scale", "size")}
    sums = [c["expected"].shape[0] + c["expected"].shape[1] for c in GOLDEN]
    assert min(sums) <= 128 < max(sums)
    assert any(c["value"][0] < 1 for c in GOLDEN)           # downscaling too


# ------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("kwargs, message", [
    (dict(scale=0), "scale must be a finite number > 0"),
    (dict(scale=-2), "scale must be a finite number > 0"),
    (dict(scale=float("nan")), "scale must be a finite number > 0"),
    (dict(scale=(1, 2, 3)), "scale must be one number or two"),
    (dict(scale=0.1), r"shrinks the 2×2 input to nothing"),
    (dict(size=(0, 4)), "size must be at least 1×1"),
    (dict(size=(2.5, 4)), "size must be two whole numbers"),
    (dict(), "give exactly one of scale"),
    (dict(scale=2, size=(4, 4)), "give exactly one of scale"),
    (dict(scale=2, align_corners=True), "align_corners only applies to bilinear and bicubic"),
    (dict(scale=2, mode="nearest-exact", align_corners=True), "align_corners only applies"),
    (dict(scale=2, mode="lanczos"), "interpolation mode must be one of"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        convcli.upsample(SLIDE, **kwargs)


def test_too_large_output_is_refused_before_allocating():
    with pytest.raises(LimitError, match="200000×200000 = 40,000,000,000 pixels"):
        convcli.upsample(SLIDE, scale=100000)


def test_trace_model_nearest_blocks_and_weights():
    from convcli.ops.upsample import plan_upsample, run_upsample
    from convcli.traces.upsample import upsample_trace

    plan = plan_upsample(SLIDE.shape, scale=2)
    trace = upsample_trace(SLIDE, plan, run_upsample(SLIDE, plan))
    assert [s.out_cells for s in trace.steps] == [
        [(0, 0), (0, 1), (1, 0), (1, 1)], [(0, 2), (0, 3), (1, 2), (1, 3)],
        [(2, 0), (2, 1), (3, 0), (3, 1)], [(2, 2), (2, 3), (3, 2), (3, 3)]]
    assert [s.value for s in trace.steps] == [20, 45, 10, 43]
    plan = plan_upsample(SLIDE.shape, mode="bicubic", size=(3, 5), align_corners=True)
    trace = upsample_trace(SLIDE, plan, run_upsample(SLIDE, plan))
    assert trace.total_steps == 15
    for step in trace.steps:        # the written-out weights reproduce the value
        total = sum(float(a) * float(b) for a, b in (t.replace("(", "").replace(")", "").split("×")
                                                     for t in step.terms))
        assert total == pytest.approx(step.value, rel=1e-3, abs=1e-2)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("shape,scale", [((300, 301), 2), ((37, 50, 3), (1.7, 0.6)), ((9, 8, 4), 3),
                                         ((600, 520), (0.5, 2.5)), ((40, 50, 3), 2), ((33, 40), (1, 1.5))])
def test_row_kernel_is_the_separable_sum_bit_for_bit(mode, shape, scale):
    # out = 0 + Σ_i wy·(0 + Σ_j wx·in) in float32, taps in order: NumPy does the same IEEE steps,
    # so the compiled kernel (ring of interpolated rows, several threads when big) must match exactly
    from convcli.ops.upsample import plan_upsample
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 100).astype(np.float32)
    x3 = x if x.ndim == 3 else x[:, :, None]
    plan = plan_upsample(x.shape, mode=mode, scale=scale)
    h = np.zeros((x3.shape[0], plan.out_w, x3.shape[2]), np.float32)
    for j in range(plan.x.index.shape[1]):
        h = h + plan.x.weight[:, j][None, :, None] * x3[:, plan.x.index[:, j], :]
    ref = np.zeros((plan.out_h, plan.out_w, x3.shape[2]), np.float32)
    for i in range(plan.y.index.shape[1]):
        ref = ref + plan.y.weight[:, i][:, None, None] * h[plan.y.index[:, i]]
    out = convcli.upsample(x, mode=mode, scale=scale)
    np.testing.assert_array_equal(out.view(np.uint32), ref.reshape(out.shape).view(np.uint32))
