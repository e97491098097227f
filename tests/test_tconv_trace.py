"""Both trace views of tconv give the op's numbers: the scatter view's running sums end at the
result, and the zero-insertion view's convolution computes it again."""
from __future__ import annotations

import re

import numpy as np
import pytest

from convcli.errors import ParameterError
from convcli.ops.tconv import plan_tconv, run_tconv
from convcli.render import make_console, print_trace
from convcli.traces.tconv import scatter_trace, zeros_trace


def _case(seed):
    rng = np.random.default_rng(3000 + seed)
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    a = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
    h, w = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    shape = (h, w) if seed % 2 else (h, w, 2)
    x = rng.integers(-9, 10, shape).astype(np.float32)    # small integers: printed terms are exact
    k = rng.integers(-3, 4, (kh, kw)).astype(np.float32)
    return x, k, dict(stride=s, padding=p, output_padding=a, dilation=d, bias=float(rng.integers(-2, 3)))


def _terms_sum(terms):
    total = 0.0
    for t in terms:
        a, b = t.split("×")
        total += float(a.strip("()")) * float(b.strip("()"))
    return total


@pytest.mark.parametrize("seed", range(80))
def test_both_views_equal_the_op(seed):
    x, k, kw_ = _case(seed)
    try:
        plan = plan_tconv(x.shape, k, **kw_)
    except ParameterError:
        return
    result = run_tconv(x, plan)
    channel = 1 if x.ndim == 3 else 0
    res = result if result.ndim == 2 else result[:, :, channel]
    big = 10_000
    # scatter: the running sums after the last stamp are the result (cells nothing reaches hold the bias)
    sc = scatter_trace(x, plan, result, channel=channel, max_steps=big)
    assert len(sc.steps) == x.shape[0] * x.shape[1]
    final = sc.partial_outputs[-1]
    for (r, c), v in final.items():
        assert v == pytest.approx(float(res[r, c]), abs=1e-4)
    untouched = {(r, c) for r in range(plan.out_h) for c in range(plan.out_w)} - set(final)
    for r, c in untouched:
        assert res[r, c] == kw_["bias"]
    # every written cell appears in the steps' out_cells, and each step's products are its terms
    for step in sc.steps:
        assert len(step.terms) == k.size
        assert step.value == float(x[step.cells[0]] if x.ndim == 2 else x[step.cells[0] + (channel,)])
    # zeros view: its numbers come from an ordinary convolution, and equal the op's result
    zt = zeros_trace(x, plan, channel=channel, max_steps=big)
    np.testing.assert_allclose(zt.output_values, res, rtol=1e-5, atol=1e-4)
    assert len(zt.steps) == plan.out_h * plan.out_w
    for step in zt.steps:
        assert _terms_sum(step.terms) + kw_["bias"] == pytest.approx(float(res[step.out_pos]), abs=1e-3)


def test_zeros_view_marks_inserted_zeros_and_labels_inputs():
    x = np.array([[1, 2], [3, 4]], np.float32)
    plan = plan_tconv(x.shape, "1,2,3;4,5,6;7,8,9", stride=2)
    t = zeros_trace(x, plan)
    assert t.input.values.shape == (7, 7)             # 3×3 zero-inserted, padded 2 on each side
    assert t.input.row_labels == ["", "", "0", "", "1", "", ""]
    assert not t.input.pad_mask[2, 2] and not t.input.pad_mask[4, 4] and t.input.pad_mask[3, 3]
    np.testing.assert_array_equal(t.kernel.values, [[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    assert any("1 zero row between input rows" in n for n in t.notes)
    assert t.formulas[0].endswith("= 5")


def test_zeros_view_crops_when_padding_exceeds_kernel_span():
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    plan = plan_tconv(x.shape, np.ones((2, 2)), stride=2, padding=2)   # d·(k − 1) − p = −1: crop one
    t = zeros_trace(x, plan, max_steps=1000)
    np.testing.assert_allclose(t.output_values, run_tconv(x, plan))
    assert any("1 cells cropped" in n for n in t.notes)


def test_scatter_region_and_max_steps():
    x = np.arange(400, dtype=np.float32).reshape(20, 20)
    plan = plan_tconv(x.shape, "box", stride=2)
    t = scatter_trace(x, plan, run_tconv(x, plan), region="5,6,2,3")
    assert [s.cells[0] for s in t.steps] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert t.input.row_labels == ["5", "6"] and t.input.col_labels == ["6", "7", "8"]
    assert t.steps[0].out_cells[0] == (10, 12)
    t = scatter_trace(x, plan, run_tconv(x, plan), max_steps=3)
    assert len(t.steps) == 3 and t.total_steps == 64 and any("showing 3 of 64" in n for n in t.notes)


def test_render_shows_running_sums_and_dots():
    x = np.array([[1, 2]], np.float32)
    plan = plan_tconv(x.shape, "1,10,100", stride=2)
    console = make_console(width=200, color=False)
    with console.capture() as cap:
        print_trace(console, scatter_trace(x, plan, run_tconv(x, plan)))
    text = cap.get()
    step1, step2 = text.split("Step 2 of 2")
    assert re.search(r"<1>\s+<10>\s+<100>\s+·\s+·", step1)
    assert re.search(r"1\s+10\s+<102>\s+<20>\s+<200>", step2)
    assert "[0,2] += 2 → 102" in step2
