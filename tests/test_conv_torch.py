"""Live parity with torch.nn.functional.conv2d on fresh random cases (skipped without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from conftest import torch_or_skip

MODES = ["zeros", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("seed", range(150))
def test_conv2d_matches_torch(seed):
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(1000 + seed)
    c = int(rng.integers(1, 4))
    h, w = int(rng.integers(4, 24)), int(rng.integers(4, 24))
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    py, px = int(rng.integers(0, 3)), int(rng.integers(0, 3))
    mode = MODES[seed % 4]
    dense = seed % 3 == 0
    x = rng.uniform(0, 255, (h, w, c)).astype(np.float32)
    weight = rng.standard_normal((2, c, kh, kw) if dense else (kh, kw)).astype(np.float32)
    if dil[0] * (kh - 1) + 1 > h + 2 * py or dil[1] * (kw - 1) + 1 > w + 2 * px:
        pytest.skip("kernel larger than the padded input (an error, tested elsewhere)")
    out = convcli.convolve(x, weight, stride=stride, padding=(py, px), padding_mode=mode, dilation=dil)
    xt = torch.from_numpy(x).permute(2, 0, 1)[None]
    if py or px:
        xt = F.pad(xt, (px, px, py, py), mode="constant" if mode == "zeros" else mode)
    wt = torch.from_numpy(weight) if dense else torch.from_numpy(weight)[None, None].repeat(c, 1, 1, 1)
    ref = F.conv2d(xt, wt, stride=stride, dilation=dil, groups=1 if dense else c)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3 * float(np.abs(ref).max() + 1) * 1e-2)


@pytest.mark.parametrize("seed", range(4))
def test_large_kernel_fft_path_matches_torch(seed):
    """Kernels big enough (and images large enough) for the FFT path, at the real thresholds."""
    torch = torch_or_skip()
    from convcli.ops import conv
    F = torch.nn.functional
    rng = np.random.default_rng(2000 + seed)
    c, mode = (1, 3, 4, 3)[seed], MODES[seed]
    x = rng.uniform(0, 255, (310 + seed, 320, c)).astype(np.float32)
    k = rng.standard_normal((21 + 4 * seed, 23)).astype(np.float32)
    dil = (1 + seed % 2, 1)
    plan = conv.plan_convolution(x.shape, k, padding="same", padding_mode=mode, dilation=dil)
    assert plan.path == "fft"
    out = convcli.convolve(x, k, padding="same", padding_mode=mode, dilation=dil)
    pt, pb, pl, pr = plan.geometry.pad
    xt = F.pad(torch.from_numpy(x).permute(2, 0, 1)[None], (pl, pr, pt, pb),
               mode="constant" if mode == "zeros" else mode)
    wt = torch.from_numpy(k)[None, None].repeat(c, 1, 1, 1)
    ref = F.conv2d(xt.double(), wt.double(), dilation=dil, groups=c)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5 * float(np.abs(ref).max()))
