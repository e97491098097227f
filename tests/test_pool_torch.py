"""Live parity with torch's max_pool2d / avg_pool2d on fresh random cases (skipped without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from conftest import torch_or_skip
from convcli.errors import ParameterError


@pytest.mark.parametrize("seed", range(150))
def test_pool_matches_torch(seed):
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(2000 + seed)
    c = int(rng.integers(1, 4))
    h, w = int(rng.integers(1, 20)), int(rng.integers(1, 20))
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    stride = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    pad = (int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)))
    ceil_mode, cip = bool(seed % 2), bool((seed // 2) % 2)
    mode = ["max", "min", "avg"][seed % 3]
    x = rng.uniform(0, 255, (h, w, c)).astype(np.float32)
    xt = torch.from_numpy(x).permute(2, 0, 1)[None]
    try:
        if mode == "avg":
            ref = F.avg_pool2d(xt, (kh, kw), stride, pad, ceil_mode=ceil_mode, count_include_pad=cip)
        else:
            sign = 1 if mode == "max" else -1
            ref = sign * F.max_pool2d(sign * xt, (kh, kw), stride, pad, ceil_mode=ceil_mode)
    except RuntimeError:
        with pytest.raises(ParameterError):
            convcli.pool(x, mode=mode, size=(kh, kw), stride=stride, padding=pad, ceil_mode=ceil_mode)
        return
    out = convcli.pool(x, mode=mode, size=(kh, kw), stride=stride, padding=pad, ceil_mode=ceil_mode,
                       count_include_pad=cip)
    np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-4)
