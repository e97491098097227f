"""Live parity with torch.nn.functional.conv_transpose2d on fresh random cases (skipped without torch),
through the Python API and the CLI."""
from __future__ import annotations

import numpy as np
import pytest

import convcli
from conftest import torch_or_skip


def _case(seed):
    rng = np.random.default_rng(7000 + seed)
    c = int(rng.integers(1, 4))
    h, w = int(rng.integers(2, 16)), int(rng.integers(2, 16))
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    a = tuple(int(rng.integers(0, max(s[i], d[i]))) for i in range(2))
    dense = seed % 3 == 0
    x = rng.uniform(0, 255, (h, w, c)).astype(np.float32)
    weight = rng.standard_normal((c, 2, kh, kw) if dense else (kh, kw)).astype(np.float32)
    bias = rng.standard_normal(2 if dense else c).astype(np.float32)
    return x, weight, dict(stride=s, padding=p, output_padding=a, dilation=d), bias, dense


def _torch(x, weight, kw, bias, dense):
    torch = torch_or_skip()
    c = x.shape[2]
    wt = torch.from_numpy(weight) if dense else torch.from_numpy(weight)[None, None].repeat(c, 1, 1, 1)
    xt = torch.from_numpy(x).permute(2, 0, 1)[None]
    y = torch.nn.functional.conv_transpose2d(xt, wt, torch.from_numpy(bias), groups=1 if dense else c, **kw)
    return y[0].permute(1, 2, 0).numpy()


def _fits(x, weight, kw):
    for n, k, s, p, a, d in zip(x.shape[:2], weight.shape[-2:], kw["stride"], kw["padding"],
                                kw["output_padding"], kw["dilation"]):
        if (n - 1) * s - 2 * p + d * (k - 1) + a + 1 < 1:
            return False
    return True


@pytest.mark.parametrize("seed", range(150))
def test_tconv_matches_torch(seed):
    x, weight, kw, bias, dense = _case(seed)
    if not _fits(x, weight, kw):
        pytest.skip("empty output (an error, tested elsewhere)")
    ref = _torch(x, weight, kw, bias, dense)
    out = convcli.tconv(x, weight, bias=bias, **kw)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max() + 1))


@pytest.mark.parametrize("seed", range(12))
def test_cli_matches_torch(seed, cli, tmp_path):
    x, weight, kw, bias, dense = _case(seed)
    if not _fits(x, weight, kw):
        pytest.skip("empty output (an error, tested elsewhere)")
    ref = _torch(x, weight, kw, bias, dense)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", weight)

    def pair(v):
        return f"{v[0]},{v[1]}"
    code, _, err = cli("tconv", tmp_path / "x.npy", "-k", tmp_path / "w.npy", "--stride", pair(kw["stride"]),
                       "--padding", pair(kw["padding"]), "--output-padding", pair(kw["output_padding"]),
                       "--dilation", pair(kw["dilation"]), "--bias", ",".join(repr(float(b)) for b in bias),
                       "-o", tmp_path / "y.npy")
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max() + 1))
