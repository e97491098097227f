"""Live parity with torch.nn.functional.interpolate on fresh random cases (skipped without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from conftest import torch_or_skip

MODES = ["nearest", "nearest-exact", "bilinear", "bicubic"]


@pytest.mark.parametrize("seed", range(200))
def test_interpolate_matches_torch(seed):
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(3000 + seed)
    mode = MODES[seed % 4]
    align = bool((seed // 4) % 2) and mode in ("bilinear", "bicubic")
    c = int(rng.integers(1, 4))
    h, w = int(rng.integers(1, 70)), int(rng.integers(1, 70))
    if seed % 3:
        scale = (float(np.round(rng.uniform(0.4, 5), int(rng.integers(0, 5)))),
                 float(np.round(rng.uniform(0.4, 5), int(rng.integers(0, 5)))))
        if int(h * scale[0]) < 1 or int(w * scale[1]) < 1:
            pytest.skip("output would be empty (an error, tested elsewhere)")
        ours, theirs = dict(scale=scale), dict(scale_factor=scale)
    else:
        size = (int(rng.integers(1, 150)), int(rng.integers(1, 150)))
        ours, theirs = dict(size=size), dict(size=size)
    x = rng.uniform(0, 255, (h, w, c)).astype(np.float32)
    out = convcli.upsample(x, mode=mode, align_corners=align, **ours)
    xt = torch.from_numpy(x).permute(2, 0, 1).contiguous()[None]
    ref = F.interpolate(xt, mode=mode, align_corners=None if mode.startswith("nearest") else align, **theirs)
    np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-3)
