"""Trace exports hold what the shown steps touch, not the whole result (issue #14 item 6).

The same traced corner inside a 512² and a 2048² image must export to (nearly) the same bytes, and
the numbers in the export must still be the op's own numbers at those cells.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import convcli

BOUND = 400_000       # bytes; the unbounded exports were 4.8 MB (JSON) on the 512² sample alone

OPS = [
    ("convolve", ("-k", "sobel-x", "--padding", "1")),
    ("convolve", ("-k", "gaussian:5", "--stride", "2", "--padding", "2")),
    ("pool", ("--size", "3", "--stride", "2", "--padding", "1")),
    ("upsample", ("--scale", "2", "--mode", "bilinear")),
    ("tconv", ("-k", "1,2,1;0,1,0;1,0,1", "--stride", "2")),
    ("tconv", ("-k", "1,2,1;0,1,0;1,0,1", "--stride", "2", "--trace-view", "zeros")),
]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from conftest import SAMPLES
    base = np.asarray(Image.open(SAMPLES / "gray.png").convert("L"))
    assert base.shape == (512, 512)
    d = tmp_path_factory.mktemp("size")
    small, large = d / "small.png", d / "large.png"
    Image.fromarray(base).save(small)
    Image.fromarray(np.tile(base, (4, 4))).save(large)      # 2048², the same top-left corner
    return small, large, base.astype(np.float32)


def _export(cli, path, op, args, fmt, *more):
    code, out, err = cli(op, path, *args, "--trace-format", fmt, *more)
    assert code == 0, err
    return out


CASES = [(op, args, "json") for op, args in OPS] + [
    (OPS[0][0], OPS[0][1], "markdown"), (OPS[0][0], OPS[0][1], "html"), (OPS[0][0], OPS[0][1], "html-static"),
    (OPS[4][0], OPS[4][1], "markdown"), (OPS[4][0], OPS[4][1], "html"), (OPS[3][0], OPS[3][1], "html")]


@pytest.mark.parametrize("op,args,fmt", CASES)
def test_export_size_does_not_follow_the_image_size(cli, images, op, args, fmt):
    small, large, _ = images
    a = len(_export(cli, small, op, args, fmt).encode())
    b = len(_export(cli, large, op, args, fmt).encode())
    assert a < BOUND and b < BOUND, (a, b)
    assert abs(a - b) <= 0.03 * a, (a, b)        # only the shapes and formulas differ


def test_export_size_follows_max_steps_and_region(cli, images):
    _, large, _ = images
    few = len(_export(cli, large, "convolve", ("-k", "box"), "json", "--max-steps", "4"))
    many = len(_export(cli, large, "convolve", ("-k", "box"), "json", "--max-steps", "100",
                       "--region", "0,0,12,12"))
    assert few < many < BOUND


def test_json_window_holds_the_ops_numbers(cli, images):
    _, large, base = images
    x = np.tile(base, (4, 4))
    want = convcli.convolve(x, "sobel-x", padding=1)
    doc = json.loads(_export(cli, large, "convolve", ("-k", "sobel-x", "--padding", "1"), "json",
                             "--region", "1000,1500,6,9"))
    assert doc["output_shape"] == [2048, 2048]
    assert doc["output"] is None                         # the whole result is not in the export
    win = doc["output_window"]
    r0, c0 = win["origin"]
    h, w = win["shape"]
    got = np.array(win["values"], dtype=np.float64)
    assert got.shape == (h, w) and h * w <= 6 * 9 + 2 * 9
    np.testing.assert_allclose(got, want[r0:r0 + h, c0:c0 + w], rtol=1e-5, atol=1e-3)
    assert len(doc["steps"]) == 25 == min(25, doc["total_steps"])
    padded = np.pad(x, 1)
    for s in doc["steps"]:
        oy, ox = s["output_cell"]
        assert 1000 <= oy < 1006 and 1500 <= ox < 1509       # padding 1, 3×3: the centre is the cell
        assert s["sum"] == pytest.approx(float(want[oy, ox]), abs=1e-3)
        for cell in s["window"]:
            iy, ix = cell["input"]
            assert cell["value"] == padded[iy + 1, ix + 1]
    # the input part is the traced windows' cover, not the image
    assert len(doc["input"]["values"]) <= 8 and len(doc["input"]["values"][0]) <= 11
    assert doc["input"]["rows"][0] == min(s["output_cell"][0] for s in doc["steps"]) - 1


def test_tconv_json_window_and_added_products(cli, images):
    _, large, base = images
    x = np.tile(base, (4, 4))
    k = np.array([[1, 2, 1], [0, 1, 0], [1, 0, 1]], np.float32)
    want = convcli.tconv(x, k, stride=2)
    doc = json.loads(_export(cli, large, "tconv", ("-k", "1,2,1;0,1,0;1,0,1", "--stride", "2"), "json"))
    assert doc["output"] is None and doc["output_shape"] == list(want.shape)
    win = doc["output_window"]
    r0, c0 = win["origin"]
    h, w = win["shape"]
    assert h * w < 1000
    np.testing.assert_allclose(np.array(win["values"]), want[r0:r0 + h, c0:c0 + w], rtol=1e-5)
    for s in doc["steps"]:
        (cell,) = s["window"]
        iy, ix = cell["input"]
        assert cell["value"] == x[iy, ix]
        for (oy, ox), added in zip(s["output_cells"], s["added"]):
            assert added == pytest.approx(x[iy, ix] * k[oy - 2 * iy, ox - 2 * ix])
