"""`convcli shape`: every layer's size checked against running the real op on an array that size."""
from __future__ import annotations

import json

import numpy as np
import pytest

import convcli
from convcli.errors import ParameterError
from convcli.layers import parse_size, walk


def _run(kind: str, x: np.ndarray, p: dict) -> np.ndarray:
    if kind == "conv":
        return convcli.convolve(x, np.ones((p["k"], p["k"]), np.float32), stride=p["s"], padding=p["p"],
                                dilation=p["d"])
    if kind == "pool":
        return convcli.pool(x, size=p["k"], stride=p["s"], padding=p["p"], ceil_mode=p["ceil"])
    if kind == "tconv":
        return convcli.tconv(x, np.ones((p["k"], p["k"]), np.float32), stride=p["s"], padding=p["p"],
                             output_padding=p["op"], dilation=p["d"])
    return convcli.upsample(x, scale=p["scale"])


def _text(kind: str, p: dict) -> str:
    if kind == "conv":
        return f"conv:k={p['k']},s={p['s']},p={p['p']},d={p['d']}"
    if kind == "pool":
        return f"pool:k={p['k']},s={p['s']},p={p['p']}" + (",ceil" if p["ceil"] else "")
    if kind == "tconv":
        return f"tconv:k={p['k']},s={p['s']},p={p['p']},op={p['op']},d={p['d']}"
    return f"up:scale={p['scale']}"


def test_every_layer_size_matches_the_op(rng):
    checked = 0
    for _ in range(120):
        h, w = (int(v) for v in rng.integers(3, 20, size=2))
        kind = ["conv", "pool", "tconv", "up"][int(rng.integers(4))]
        k = int(rng.integers(1, 5))
        s = int(rng.integers(1, 4))
        d = int(rng.integers(1, 3))
        p = {"k": k, "s": s, "d": d, "p": int(rng.integers(0, k // 2 + 1)), "ceil": bool(rng.integers(2)),
             "op": int(rng.integers(0, max(s, d))), "scale": [0.5, 1.5, 2, 3][int(rng.integers(4))]}
        x = np.zeros((h, w), np.float32)
        try:
            want = _run(kind, x, p).shape
        except ParameterError:
            with pytest.raises(ParameterError):
                walk((1, h, w), [_text(kind, p)])
            continue
        rows = walk((1, h, w), [_text(kind, p)])
        assert rows[-1].shape == (1, *want), (kind, p, h, w)
        assert rows[-1].formulas[0].endswith(f"= {want[0]}") or "size" in rows[-1].formulas[0]
        checked += 1
    assert checked > 60


def test_a_small_network(cli):
    code, out, err = cli("shape", "3x224x224", "conv:k=7,s=2,p=3,out=64", "pool:k=3,s=2,p=1",
                         "tconv:k=3,s=2,p=1,op=1", "up:scale=2", "--json")
    assert code == 0, err
    shapes = [r["shape"] for r in json.loads(out)["layers"]]
    assert shapes == [[3, 224, 224], [64, 112, 112], [64, 56, 56], [64, 112, 112], [64, 224, 224]]


def test_table_shows_formulas_with_numbers(cli):
    code, out, _ = cli("shape", "5x5", "pool:k=2,ceil", "conv:k=3,p=same", "avgpool:k=3,s=1")
    assert code == 0
    assert "⌈(5 + 2·0 − (2 − 1) − 1) / 2⌉ + 1 = 3" in out
    assert "⌊(3 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 3" in out
    assert "1×1×1" in out


def test_slide_numbers():
    # the slides: 5×5 input, 3×3 kernel, stride 2 -> 2×2; pooling 4×4 by 2 -> 2×2
    assert walk((1, 5, 5), ["conv:k=3,s=2"])[-1].shape == (1, 2, 2)
    assert walk((1, 4, 4), ["pool:k=2"])[-1].shape == (1, 2, 2)
    assert walk((1, 2, 2), ["tconv:k=3,s=2"])[-1].shape == (1, 5, 5)
    assert walk((1, 4, 6), ["conv:k=3x5,p=1x2"])[-1].shape == (1, 4, 6)


def test_parse_size():
    assert parse_size("28x28") == (1, 28, 28) == parse_size("28,28")
    assert parse_size("3x32x16") == (3, 32, 16)
    for bad in ("28", "0x5", "a,b", "1,2,3,4"):
        with pytest.raises(ParameterError):
            parse_size(bad)


@pytest.mark.parametrize("args,needle", [
    (("4x4", "conv:k=5"), "layer 'conv:k=5' on a 1×4×4 input: kernel 5×5 is larger"),
    (("4x4", "conv:k=3,s=2,p=same"), "same' needs stride 1"),
    (("4x4", "foo:k=1"), "must start with conv, pool, tconv or up"),
    (("4x4", "conv:k=3,z=1"), "unknown key 'z'"),
    (("4x4", "conv:s=2"), "k=... is required"),
    (("4x4", "up:scale=2,size=3x3"), "exactly one of scale"),
    (("4x4", "tconv:k=3,s=2,op=2"), "output_padding must be smaller"),
    (("4x4", "pool:k=2,p=2"), "layer 'pool:k=2,p=2'"),
    (("4x4",), "at least one LAYER"),
    (("4", "conv:k=1"), "SIZE must be"),
    (("4x4", "conv:k=3,out=0"), "out must be a channel count"),
])
def test_errors_are_one_line(cli, args, needle):
    code, out, err = cli("shape", *args)
    assert code == 2 and needle in err and err.count("\n") == 1 and out == ""
