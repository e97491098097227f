"""`convcli chain --trace`: the traced receptive field against a brute force.

The brute force knows nothing of windows or strides: it adds 1 to one input cell at a time, runs the
same chain through the Python API, and records which input cells change the chosen output cell.
Kernels are random (no weight is 0, no two paths cancel), so for every stage except a max pool or a
ReLU the two sets must be equal; where a max or a ReLU hides a dependency the trace must contain
every cell the brute force finds.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import convcli

H, W = 9, 11


def _trace(cli, tmp_path, stages, x, cell=None):
    """Run the chain through the CLI on ``x``: (the result, the traced input cells as a set, the JSON)."""
    src = tmp_path / "x.npy"
    np.save(src, x)
    out, doc = tmp_path / "out.npy", tmp_path / "trace.json"
    args = ["chain", *stages, src, "-o", out, "--trace-out", doc]
    if cell is not None:
        args += ["--cell", f"{cell[0]},{cell[1]}"]
    code, _, err = cli(*args)
    assert code == 0, err
    trace = json.loads(doc.read_text())
    inp = trace["levels"][-1]
    assert inp["where"] == "input" and inp["shape"] == list(x.shape[:2])
    cells = {(r, c) for r in inp["row_cells"] for c in inp["column_cells"]}
    return np.load(out), cells, trace


def _brute(run, x, cell, delta=1.0):
    """The input cells whose change changes ``run(x)[cell]``."""
    base = run(x)[cell]
    found = set()
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            for d in (delta, -delta):
                y = x.copy()
                y[r, c] += d
                if run(y)[cell] != base:
                    found.add((r, c))
                    break
    return found


def _kernel(tmp_path, rng, name, shape):
    k = rng.uniform(0.5, 1.5, size=shape).astype(np.float32) * rng.choice([-1.0, 1.0], size=shape)
    np.save(tmp_path / name, k)
    return k, str(tmp_path / name)


def _chains(tmp_path, rng):
    """(id, CLI stages, the same chain through the Python API, exact?)"""
    k3, f3 = _kernel(tmp_path, rng, "k3.npy", (3, 3))
    k2, f2 = _kernel(tmp_path, rng, "k2.npy", (2, 3))
    k4, f4 = _kernel(tmp_path, rng, "k4.npy", (4, 4))
    c, p, u, t, a = convcli.convolve, convcli.pool, convcli.upsample, convcli.tconv, convcli.activate
    return [
        ("conv-avgpool-dilated", [f"convolve -k {f3} --padding 1", "pool --mode avg --size 2",
                                  f"convolve -k {f2} --dilation 2 --padding 1"],
         lambda x: c(p(c(x, k3, padding=1), mode="avg", size=2), k2, dilation=2, padding=1), True),
        ("strided-reflect-bilinear-tanh", [f"convolve -k {f3} --stride 2 --padding 2 --padding-mode reflect",
                                           "upsample --scale 2 --mode bilinear", "activate --fn tanh"],
         lambda x: a(u(c(x, k3, stride=2, padding=2, padding_mode="reflect"), scale=2, mode="bilinear"), "tanh"),
         True),
        ("tconv-then-strided-conv", [f"tconv -k {f3} -s 2 -p 1 -a 1", f"convolve -k {f2} --stride 2,1"],
         lambda x: c(t(x, k3, stride=2, padding=1, output_padding=1), k2, stride=(2, 1)), True),
        ("tconv-dilated", [f"tconv -k {f3} -s 2 -d 2"],
         lambda x: t(x, k3, stride=2, dilation=2), True),
        ("bicubic-avgpool-padded", ["upsample --scale 1.5 --mode bicubic",
                                    "pool --mode avg --size 3 --stride 2 --padding 1 --ceil-mode"],
         lambda x: p(u(x, scale=1.5, mode="bicubic"), mode="avg", size=3, stride=2, padding=1, ceil_mode=True),
         True),
        ("nearest-circular", ["upsample --scale 3,2", f"convolve -k {f4} --padding 2 --padding-mode circular"],
         lambda x: c(u(x, scale=(3, 2)), k4, padding=2, padding_mode="circular"), True),
        ("replicate-same-even", [f"convolve -k {f4} --padding same --padding-mode replicate",
                                 "upsample --size 5,7 --mode bilinear --align-corners"],
         lambda x: u(c(x, k4, padding="same", padding_mode="replicate"), size=(5, 7), mode="bilinear",
                     align_corners=True), True),
        ("remedy", [f"tconv -k {f3} -s 2 -p 1 --remedy"],
         lambda x: convcli.resize_convolve(x, k3, stride=2, padding=1), True),
        ("maxpool", [f"convolve -k {f3} --padding 1", "pool --size 2", f"convolve -k {f2}", "pool --size 2 --stride 1"],
         lambda x: p(c(p(c(x, k3, padding=1), size=2), k2), size=2, stride=1), False),
        ("relu", [f"convolve -k {f3}", "activate --fn relu", f"convolve -k {f3} --stride 2"],
         lambda x: c(a(c(x, k3), "relu"), k3, stride=2), False),
    ]


CHAIN_IDS = ["conv-avgpool-dilated", "strided-reflect-bilinear-tanh", "tconv-then-strided-conv", "tconv-dilated",
             "bicubic-avgpool-padded", "nearest-circular", "replicate-same-even", "remedy", "maxpool", "relu"]


@pytest.mark.parametrize("which", CHAIN_IDS)
def test_trace_matches_brute_force(cli, tmp_path, which):
    rng = np.random.default_rng(100 + CHAIN_IDS.index(which))
    chains = {cid: (stages, run, exact) for cid, stages, run, exact in _chains(tmp_path, rng)}
    stages, run, exact = chains[which]
    x = rng.uniform(-1, 1, size=(H, W)).astype(np.float32)
    result, _, _ = _trace(cli, tmp_path, stages, x)
    np.testing.assert_allclose(result, run(x), rtol=1e-5, atol=1e-5)   # the API runs the same chain
    h, w = result.shape
    cells = [(h // 2, w // 2), (0, 0), (h - 1, w - 1), (1, w - 2)]
    seen = 0
    for cell in cells:
        _, traced, doc = _trace(cli, tmp_path, stages, x, cell)
        assert doc["cell"] == list(cell)
        brute = _brute(run, x, cell)
        seen += len(brute)     # may be empty: with stride 2 and dilation 2, odd tconv outputs get no stamp
        if exact:
            assert traced == brute, f"{which} {cell}: traced {sorted(traced ^ brute)} differ"
        else:
            assert brute <= traced, f"{which} {cell}: missed {sorted(brute - traced)}"
    assert seen, f"{which}: the brute force found no dependency at all"


def test_max_pool_hides_what_avg_pool_shows(cli, tmp_path):
    """The same geometry: the avg pool's region is exact, the max pool's brute force finds fewer cells
    (only each window's winner moves the output), all inside the same traced region."""
    rng = np.random.default_rng(7)
    k, f = _kernel(tmp_path, rng, "k.npy", (3, 3))
    x = rng.uniform(-1, 1, size=(H, W)).astype(np.float32)
    cell = (1, 2)
    regions = {}
    for mode in ("avg", "max"):
        stages = [f"convolve -k {f} --padding 1", f"pool --mode {mode} --size 3 --stride 2"]
        _, traced, _ = _trace(cli, tmp_path, stages, x, cell)
        brute = _brute(lambda v: convcli.pool(convcli.convolve(v, k, padding=1), mode=mode, size=3, stride=2), x,
                       cell, delta=1e-3)
        regions[mode] = traced, brute
    assert regions["avg"][0] == regions["max"][0]
    assert regions["avg"][1] == regions["avg"][0]
    assert regions["max"][1] < regions["max"][0]


def test_every_output_cell_of_a_small_chain(cli, tmp_path):
    """Not only a few cells: every output cell of a strided, padded, dilated chain on a 6×7 input."""
    rng = np.random.default_rng(3)
    k, f = _kernel(tmp_path, rng, "k.npy", (3, 2))
    x = rng.uniform(-1, 1, size=(6, 7)).astype(np.float32)

    def run(v):
        return convcli.pool(convcli.convolve(v, k, stride=(1, 2), padding=(2, 1), dilation=(2, 1)), mode="avg",
                            size=2, stride=1)

    stages = [f"convolve -k {f} --stride 1,2 --padding 2,1 --dilation 2,1", "pool --mode avg --size 2 --stride 1"]
    out = run(x)
    for cy in range(out.shape[0]):
        for cx in range(out.shape[1]):
            _, traced, _ = _trace(cli, tmp_path, stages, x, (cy, cx))
            assert traced == _brute(run, x, (cy, cx)), (cy, cx)


def test_dense_kernel_mixes_channels(cli, tmp_path):
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 1.5, size=(2, 3, 3, 3)).astype(np.float32)
    np.save(tmp_path / "w.npy", w)
    x = rng.uniform(-1, 1, size=(6, 6, 3)).astype(np.float32)
    _, traced, doc = _trace(cli, tmp_path, [f"convolve -k {tmp_path / 'w.npy'}"], x)
    assert doc["channels"] == "every input channel"
    assert traced == {(r, c) for r in range(2, 5) for c in range(2, 5)}      # output (2, 2) of 4×4
    base = convcli.convolve(x, w)[2, 2]
    for ch in range(3):              # every input channel moves both output channels, in the same cells
        found = set()
        for r in range(6):
            for c in range(6):
                y = x.copy()
                y[r, c, ch] += 1.0
                if np.all(convcli.convolve(y, w)[2, 2] != base):
                    found.add((r, c))
        assert found == traced
