"""`convcli shape`: every layer's size checked against running the real op on an array that size."""
from __future__ import annotations

import json
from fractions import Fraction

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


# ------------------------------------------------------------------ receptive fields

def test_receptive_field_numbers_by_hand():
    rows = walk((1, 28, 28), ["conv:k=5", "pool:k=2", "conv:k=5", "pool:k=2"])
    got = [(float(r.field_y.r), float(r.field_y.j), float(r.field_y.start)) for r in rows]
    # LeNet-style: 5, then 6 (jump 2), 6 + 4·2 = 14, 14 + 1·2 = 16 (jump 4); starts 2, 2.5, 6.5, 7.5
    assert got == [(1, 1, 0), (5, 1, 2), (6, 2, 2.5), (14, 2, 6.5), (16, 4, 7.5)]
    assert rows[3].field_formulas == ["r = r_in + (k − 1)·d·j_in = 6 + (5 − 1)·1·2 = 14", "j = j_in·s = 2·1 = 2",
                                      "start = start_in + ((k − 1)·d/2 − p)·j_in = 2.5 + ((5 − 1)·1/2 − 0)·2 = 6.5"]


def test_receptive_fields_per_axis_and_padding():
    row = walk((1, 12, 12), ["conv:k=3,p=1x0,s=2"])[-1]
    assert (row.field_y.start, row.field_x.start) == (0, 1)
    assert "Y: start = start_in + ((k − 1)·d/2 − p)·j_in = 0 + ((3 − 1)·1/2 − 1)·1 = 0" in row.field_formulas
    assert "X: start = start_in + ((k − 1)·d/2 − p)·j_in = 0 + ((3 − 1)·1/2 − 0)·1 = 1" in row.field_formulas
    assert "r = r_in + (k − 1)·d·j_in = 1 + (3 − 1)·1·1 = 3" in row.field_formulas      # same on both axes: once
    same = walk((1, 9, 9), ["conv:k=4,p=same"])[-1]          # PyTorch: 1 before, 2 after
    assert same.field_y.start == Fraction(1, 2)
    up = walk((1, 4, 4), ["up:scale=2,mode=bilinear"])[-1]
    assert (up.field_y.r, up.field_y.j, up.field_y.start) == (2, Fraction(1, 2), Fraction(-1, 4))


def test_shape_table_and_json_show_the_fields(cli):
    code, out, err = cli("shape", "28x28", "conv:k=5", "pool:k=2")
    assert code == 0, err
    assert "receptive fields (in input cells)" in out
    assert "r = r_in + (k − 1)·d·j_in = 5 + (2 − 1)·1·1 = 6" in out and "start: the centre of output cell 0" in out
    code, out, _ = cli("shape", "28x28", "conv:k=5", "pool:k=2", "--json")
    layer = json.loads(out)["layers"][2]["receptive"]
    assert layer["y"] == layer["x"] == {"r": 6, "j": 2, "start": 2.5}


def _ones(kh: int, kw: int) -> str:
    return ";".join([",".join(["1"] * kw)] * kh)


# (SIZE, shape layers, the same layers as chain stages)
STACKS = [
    ("30x34", ["conv:k=3,p=1", "avgpool:k=2", "conv:k=3,d=2,s=2,p=2", "avgpool:k=3,s=1,p=1"],
     [f"convolve -k {_ones(3, 3)} --padding 1", "pool --mode avg --size 2",
      f"convolve -k {_ones(3, 3)} --dilation 2 --stride 2 --padding 2", "pool --mode avg --size 3 --stride 1 --padding 1"]),
    ("21x20", ["conv:k=5,s=2", "conv:k=3x5,p=1x2", "pool:k=3,s=2,p=1"],
     [f"convolve -k {_ones(5, 5)} --stride 2", f"convolve -k {_ones(3, 5)} --padding 1,2",
      "pool --size 3 --stride 2 --padding 1"]),
    ("16x12", ["conv:k=4,p=same", "pool:k=2", "conv:k=2x3,s=2x1,d=1x2,p=1"],
     [f"convolve -k {_ones(4, 4)} --padding same", "pool --size 2",
      f"convolve -k {_ones(2, 3)} --stride 2,1 --dilation 1,2 --padding 1"]),
]


@pytest.mark.parametrize("size, layers, stages", STACKS)
def test_shape_numbers_agree_with_the_traced_region(cli, tmp_path, size, layers, stages):
    """Every output cell whose field lies inside the input: the traced rows a..b and columns c..d span
    exactly r cells and are centred at start + i·j; a field that reaches into the padding is cut."""
    from convcli.cli.chain import parse_stage
    from convcli.traces.receptive import trace_back

    rows = walk(parse_size(size), layers)
    _, h, w = rows[0].shape
    parsed = [parse_stage(s) for s in stages]
    shapes, geometries = (h, w), []
    for stage in parsed:
        g = stage.geometry(shapes)
        geometries.append(g)
        shapes = g.out_shape
    assert shapes == rows[-1].shape[1:]
    fy, fx = rows[-1].field_y, rows[-1].field_x
    inside = 0
    for i in range(shapes[0]):
        for j in range(shapes[1]):
            b = trace_back(geometries, (i, j)).input_region.bounds
            for lo, hi, f, k, n in ((b[0], b[1], fy, i, h), (b[2], b[3], fx, j, w)):
                centre = f.start + k * f.j
                first, last = centre - (f.r - 1) / 2, centre + (f.r - 1) / 2
                assert first <= lo and hi <= last                       # never outside the field
                if first >= 0 and last <= n - 1:
                    assert (hi - lo + 1, Fraction(lo + hi, 2)) == (f.r, centre), (i, j)
                    inside += 1
    assert inside > 4
    # the CLI agrees with itself: chain --trace on a matrix of SIZE, and shape --json
    m = tmp_path / "m.npy"
    np.save(m, np.ones((h, w), np.float32))
    cell = (shapes[0] // 2, shapes[1] // 2)
    code, _, err = cli("chain", *stages, m, "-o", tmp_path / "o.npy", "--trace-out", tmp_path / "t.json")
    assert code == 0, err
    level = json.loads((tmp_path / "t.json").read_text())["levels"][-1]
    want = trace_back(geometries, cell).input_region
    assert (level["row_cells"], level["column_cells"]) == (list(want.rows), list(want.cols))
    code, out, _ = cli("shape", size, *layers, "--json")
    assert json.loads(out)["layers"][-1]["receptive"]["y"]["r"] == int(fy.r)


def test_tconv_and_upsample_fields_are_spans(tmp_path):
    """For tconv and up the numbers are spans between cell centres: the exact cells of each output lie
    within r/2 of its centre start + o·j (fewer where an interpolation weight is 0)."""
    from convcli.cli.chain import parse_stage
    from convcli.traces.receptive import trace_back

    for layer, stage, n in (("tconv:k=4,s=2,p=1", "tconv -k box:4 -s 2 -p 1", 9),
                            ("tconv:k=3,s=3", "tconv -k box -s 3", 7),
                            ("up:scale=2,mode=bilinear", "upsample --scale 2 --mode bilinear", 8),
                            ("up:scale=3,mode=bicubic", "upsample --scale 3 --mode bicubic", 8),
                            ("up:scale=2", "upsample --scale 2", 8)):
        f = walk((1, n, n), [layer])[-1].field_y
        g = parse_stage(stage).geometry((n, n))
        for o in range(6, g.out_shape[0] - 7):
            b = trace_back([g], (o, o)).input_region.bounds
            centre = f.start + o * f.j
            assert centre - f.r / 2 <= b[0] <= b[1] <= centre + f.r / 2, (layer, o)
