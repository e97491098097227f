"""The convolution's fast paths (parallel row blocks, rank-1 kernels, uint8 input) against plain ones."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from convcli.ops import conv
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
    monkeypatch.setattr(conv, "_SERIAL_WORK", 0)            # force the parallel driver
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
    monkeypatch.setattr(conv, "_SERIAL_WORK", 1 << 62)
    a = convcli.convolve(x, k, padding="same", padding_mode="reflect")
    b = convcli.convolve(x, "sobel-x", padding=2, padding_mode="replicate")
    monkeypatch.setattr(conv, "_SERIAL_WORK", 0 if not serial else 1 << 62)
    np.testing.assert_array_equal(convcli.convolve(x, k, padding="same", padding_mode="reflect"), a)
    np.testing.assert_array_equal(convcli.convolve(x, "sobel-x", padding=2, padding_mode="replicate"), b)


@pytest.mark.parametrize("name, factors", [
    ("sobel-x", ([1, 2, 1], [-1, 0, 1])),
    ("vertical-edge", ([1, 1, 1], [1, 0, -1])),
    ("box:5", ([1 / 25] * 5, [1] * 5)),
])
def test_integer_kernels_factor_exactly(name, factors):
    k = convcli.parse_kernel(name)
    col, row = conv._rank1_factors(k)
    np.testing.assert_array_equal(np.outer(col, row), k)
    expected_col, expected_row = (np.asarray(f, dtype=np.float32) for f in factors)
    assert np.allclose(np.abs(col), np.abs(expected_col)) and np.allclose(np.abs(row), np.abs(expected_row))


def test_gaussian_is_rank1_random_is_not(rng):
    assert conv._rank1_factors(convcli.parse_kernel("gaussian:7,1.5")) is not None
    assert conv._rank1_factors(rng.standard_normal((5, 5)).astype(np.float32)) is None
    assert conv._rank1_factors(np.zeros((3, 3), np.float32)) is None
    almost = np.outer([1, 2, 3], [1, 1, 1]).astype(np.float32)
    almost[1, 1] += 1e-3
    assert conv._rank1_factors(almost) is None


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
