"""`convcli tconv` end to end: matrices, images, the checkerboard and its remedy, errors."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convcli
from conftest import snapshot

FLAT = "100,100,100,100;100,100,100,100;100,100,100,100;100,100,100,100"
ONES = "1,1,1;1,1,1;1,1,1"


def _rows(stdout: str) -> list[list[float]]:
    """The numeric rows of a printed grid (row label first, dropped)."""
    out = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) > 1 and all(p.lstrip("-").replace(".", "").isdigit() for p in parts):
            out.append([float(p) for p in parts[1:]])
    return out


def test_matrix_prints_the_checkerboard(cli):
    code, out, err = cli("tconv", "--matrix", FLAT, "-k", ONES, "-s", "2")
    assert code == 0, err
    rows = _rows(out)[1:]          # first numeric row is the column header
    assert len(rows) == 9
    assert rows[2][:5] == [200, 200, 400, 200, 400]
    assert rows[3][:5] == [100, 100, 200, 100, 200]


def test_remedy_prints_an_even_interior(cli):
    code, out, err = cli("tconv", "--matrix", FLAT, "-k", ONES, "-s", "2", "--remedy")
    assert code == 0, err
    assert "remedy" in out
    rows = _rows(out)[1:]
    assert len(rows) == 9 and all(len(r) == 9 for r in rows)
    assert {v for r in rows[2:8] for v in r[2:8]} == {900}


def test_npy_output_equals_api(cli, tmp_path, rng):
    x = rng.standard_normal((5, 4, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    code, _, err = cli("tconv", tmp_path / "x.npy", "-k", "1,2,3;4,5,6", "-s", "2,3", "-p", "1,0", "-a", "1,2",
                       "-d", "1", "--bias", "0.5,-1", "-o", out)
    assert code == 0, err
    expected = convcli.tconv(x, "1,2,3;4,5,6", stride=(2, 3), padding=(1, 0), output_padding=(1, 2), bias=[0.5, -1])
    np.testing.assert_array_equal(np.load(out), expected)


def test_4d_weight_file_mixes_channels(cli, tmp_path, rng):
    x = rng.standard_normal((4, 4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    code, _, err = cli("tconv", tmp_path / "x.npy", "-k", tmp_path / "w.npy", "-s", "2", "-o", tmp_path / "y.npy")
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (9, 9, 2)
    np.testing.assert_allclose(y, convcli.tconv(x, w, stride=2), rtol=1e-6)


@pytest.mark.parametrize("name, mode, size", [("gray.png", "L", (512, 512)), ("rgb.jpg", "RGB", (451, 300)),
                                              ("alpha.png", "RGBA", (256, 256)), ("gray16.png", "I;16", (256, 256))])
def test_images_keep_mode_and_double_in_size(cli, samples, tmp_path, name, mode, size):
    out = tmp_path / ("out.png")
    code, _, err = cli("tconv", samples / name, "-k", "box", "-s", "2", "-p", "1", "-a", "1", "-o", out)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.mode == mode
        assert im.size == (2 * size[0], 2 * size[1])


def test_image_checkerboard_and_remedy(cli, samples, tmp_path):
    """On a real image a box kernel at stride 2 leaves a 1-2-4 pattern; the remedy does not."""
    code, _, err = cli("tconv", samples / "gray.png", "-k", "box", "-s", "2", "-p", "1", "-a", "1",
                       "-o", tmp_path / "t.npy")
    assert code == 0, err
    code, _, err = cli("tconv", samples / "gray.png", "-k", "box", "-s", "2", "-p", "1", "-a", "1", "--remedy",
                       "-o", tmp_path / "r.npy")
    assert code == 0, err
    t, r = np.load(tmp_path / "t.npy"), np.load(tmp_path / "r.npy")
    assert t.shape == r.shape == (1024, 1024)
    # mean over the image of each phase (row parity, column parity): tconv's phases differ ~4:2:2:1
    phases_t = np.array([[t[i::2, j::2].mean() for j in range(2)] for i in range(2)])
    phases_r = np.array([[r[i::2, j::2].mean() for j in range(2)] for i in range(2)])
    assert phases_t.max() / phases_t.min() > 3
    assert phases_r.max() / phases_r.min() < 1.05


def test_overlap_prints_counts(cli):
    code, out, err = cli("tconv", "--matrix", FLAT, "-k", ONES, "-s", "2", "--overlap")
    assert code == 0, err
    assert "each output row:    1 1 2 1 2 1 2 1 1" in out
    assert "not a multiple of stride 2" in out
    rows = _rows(out)[1:]
    assert rows[2] == [2, 2, 4, 2, 4, 2, 4, 2, 2]
    code, out, _ = cli("tconv", "--matrix", FLAT, "-k", "1,1,1,1;1,1,1,1;1,1,1,1;1,1,1,1",
                       "-s", "2", "--overlap")
    assert code == 0 and "each output row:    1 1 2 2 2 2 2 2 1 1" in out and "is a multiple of stride 2" in out


def test_overlap_written_exactly_and_as_image(cli, samples, tmp_path):
    code, _, err = cli("tconv", "--matrix", FLAT, "-k", ONES, "-s", "2", "--overlap", "-o", tmp_path / "m.csv")
    assert code == 0, err
    m = np.loadtxt(tmp_path / "m.csv", delimiter=",")
    np.testing.assert_array_equal(m[:3, :3], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])
    code, _, err = cli("tconv", samples / "gray.png", "-k", "box", "-s", "2", "--overlap", "-o", tmp_path / "m.png")
    assert code == 0, err
    with Image.open(tmp_path / "m.png") as im:
        px = np.asarray(im)
    assert px.shape == (1025, 1025)
    assert px[2, 2] == 255 and px[3, 3] == 0 and 0 < px[2, 3] < 255


def test_trace_scatter_and_zeros_show_the_same_result(cli):
    args = ("tconv", "--matrix", "1,2;3,4", "-k", "1,2,3;4,5,6;7,8,9", "-s", "2", "-p", "1", "-a", "1")
    code, scatter, err = cli(*args, "--trace")
    assert code == 0, err
    assert "scatter" in scatter and "Step 4 of 4" in scatter
    assert "[1,1] += 4 → 36" in scatter          # 9 (from 1) + 14·… the overlaps adding up
    assert "= (2 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 4" in scatter
    code, zeros, err = cli(*args, "--trace-view", "zeros", "--max-steps", "16")
    assert code == 0, err
    assert "zeros view" in zeros and "Step 16 of 16" in zeros and "flipped" in zeros
    assert "0×9 + 0×8 + 0×7 + 0×6 + 1×5 + 0×4 + 0×3 + 0×2 + 0×1 = 5" in zeros
    final = [[5, 14, 10, 12], [14, 36, 24, 30], [15, 34, 20, 24], [24, 55, 32, 36]]
    for text in (scatter, zeros):
        assert _rows(text)[-4:] == final


def test_trace_refuses_4d_weight(cli, tmp_path):
    np.save(tmp_path / "w.npy", np.ones((1, 2, 2, 2), np.float32))
    code, _, err = cli("tconv", "--matrix", "1,2;3,4", "-k", tmp_path / "w.npy", "--trace")
    assert code == 2 and "4-D weight" in err


@pytest.mark.parametrize("args, code, message", [
    (("-s", "0"), 2, "stride must be at least 1"),
    (("-a", "1"), 2, "output_padding must be smaller than the stride or the dilation"),
    (("-p", "5"), 2, "the output would be empty: H_out = (H_in − 1)·stride"), (("-p", "5", "-s", "1"), 2, "= (4 − 1)·1 − 2·5 + 1·(3 − 1) + 0 + 1 = -4; use a smaller padding"),
    (("-p", "a"), 2, "--padding must be"),
    (("--remedy", "--overlap"), 2, "--remedy"),
    (("--overlap", "--trace"), 2, "either --overlap or --trace"),
    (("--bias", "x"), 2, "--bias must be a number"),
    (("--trace", "--channel", "3"), 2, "channel 3 does not exist"),
    (("-s", "4", "--max-pixels", "100"), 6, "over the limit"),
])
def test_errors_one_line_no_output(cli, tmp_path, args, code, message):
    before = snapshot(tmp_path)
    got, out, err = cli("tconv", "--matrix", FLAT, "-k", ONES, *args, "-o", tmp_path / "y.npy")
    assert got == code
    assert err.startswith("convcli: error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_missing_input_and_bad_extension(cli, tmp_path):
    code, _, err = cli("tconv", tmp_path / "nope.png", "-k", "box")
    assert code == 3 and err.startswith("convcli: error:")
    code, _, err = cli("tconv", "--matrix", FLAT, "-k", "box", "-o", tmp_path / "y.xyz")
    assert code == 2 and "unknown output extension" in err
