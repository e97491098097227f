"""``convcli activate`` end to end: values, images, the report, --json, --plot, --trace, errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from conftest import snapshot
from reference import activate_reference, activation_reference


def test_matrix_relu_table_and_report(cli):
    code, out, err = cli("activate", "--matrix", "-2,-0.5,0,0.5,2;-10,3,4,0,1", "--fn", "relu")
    assert code == 0, err
    rows = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert rows[1] == ["0", "0", "0", "0", "0.5", "2"] and rows[2] == ["1", "0", "3", "4", "0", "1"]
    assert "dead (g = 0 and g' = 0): 5 of 10 (50.0%)" in out
    assert "saturated (|g'| < 0.01): 0 of 10 (0.0%)" in out


def test_matrix_derivative_kinks(cli):
    code, out, _ = cli("activate", "--matrix", "-1,0,2", "--fn", "leaky-relu", "--alpha", "0.25", "-d")
    assert code == 0
    rows = [ln.split() for ln in out.splitlines() if ln.strip().startswith("0 ")]
    assert rows[-1] == ["0", "0.25", "0.25", "1"]


def test_json_report_matches_reference(cli, tmp_path, rng):
    x = (rng.standard_normal((7, 9)) * 5).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, err = cli("activate", tmp_path / "x.npy", "--fn", "sigmoid", "--json")
    assert code == 0, err
    doc = json.loads(out)["records"][0]["report"]
    ry, rd = activate_reference(x, "sigmoid")
    assert doc["fn"] == "sigmoid" and doc["count"] == 63 and doc["input"]["kind"] == "matrix"
    assert doc["output"]["min"] == pytest.approx(ry.min(), abs=1e-6)
    assert doc["output"]["max"] == pytest.approx(ry.max(), abs=1e-6)
    assert doc["output"]["mean"] == pytest.approx(ry.mean(), abs=1e-6)
    assert doc["gradient"]["mean"] == pytest.approx(rd.mean(), abs=1e-6)
    assert doc["saturated"] == int((np.abs(rd) < 0.01).sum()) and doc["dead"] == 0
    assert doc["saturated_fraction"] == pytest.approx(doc["saturated"] / 63)
    assert "activate sigmoid" in err          # the table goes to stderr


def test_npy_output_is_raw_float32(cli, tmp_path, rng):
    x = (rng.standard_normal((4, 5, 2)) * 3).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli("activate", tmp_path / "x.npy", "--fn", "elu", "--alpha", "0.7", "-d", "-o", tmp_path / "y.npy")
    assert code == 0, err
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, activate_reference(x, "elu", 0.7)[1], rtol=1e-6, atol=1e-7)


def test_image_sigmoid_maps_pixels_and_back(cli, samples, tmp_path):
    out = tmp_path / "s.png"
    code, _, err = cli("activate", samples / "gray.png", "--fn", "sigmoid", "--input-range", "-6,6", "-o", out)
    assert code == 0, err
    src = np.asarray(Image.open(samples / "gray.png"), dtype=np.float64)
    got = Image.open(out)
    assert got.mode == "L" and got.size == Image.open(samples / "gray.png").size
    got = np.asarray(got)
    rng = np.random.default_rng(0)
    for _ in range(200):
        r, c = int(rng.integers(0, src.shape[0])), int(rng.integers(0, src.shape[1]))
        x = -6 + 12 * src[r, c] / 255
        expected = min(255, max(0, round(255 * activation_reference(x, "sigmoid")[0])))
        assert abs(int(got[r, c]) - expected) <= 1


def test_image_derivative_and_tanh_ranges(cli, samples, tmp_path):
    # tanh's image maps −1..1 onto 0..255; the default input range −1..1: pixel 0 -> tanh(−1)
    code, _, _ = cli("activate", samples / "gray.png", "--fn", "tanh", "-o", tmp_path / "t.png")
    assert code == 0
    src = np.asarray(Image.open(samples / "gray.png"), dtype=np.float64)
    got = np.asarray(Image.open(tmp_path / "t.png"), dtype=np.float64)
    expected = np.clip(np.rint((np.tanh(-1 + 2 * src / 255) + 1) / 2 * 255), 0, 255)
    assert np.abs(got - expected).max() <= 1
    # relu' as an image: 0 (black) left of the middle gray, 255 right of it
    code, _, _ = cli("activate", samples / "gray.png", "--fn", "relu", "-d", "-o", tmp_path / "d.png")
    got = np.asarray(Image.open(tmp_path / "d.png"))
    np.testing.assert_array_equal(got, np.where(src > 127.5, 255, 0))


def test_sixteen_bit_and_alpha_kept(cli, samples, tmp_path):
    code, _, err = cli("activate", samples / "gray16.png", "--fn", "silu", "-o", tmp_path / "g16.png")
    assert code == 0, err
    assert Image.open(tmp_path / "g16.png").mode.startswith("I;16")
    code, _, err = cli("activate", samples / "alpha.png", "--fn", "relu", "-o", tmp_path / "a.png")
    assert code == 0, err
    got, src = Image.open(tmp_path / "a.png"), Image.open(samples / "alpha.png")
    assert got.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(got)[..., 3], np.asarray(src)[..., 3])


def test_image_npy_output_holds_function_values(cli, samples, tmp_path):
    code, _, _ = cli("activate", samples / "rgb.jpg", "--fn", "gelu", "--input-range", "-3,3", "-o", tmp_path / "g.npy")
    assert code == 0
    y = np.load(tmp_path / "g.npy")
    src = np.asarray(Image.open(samples / "rgb.jpg"), dtype=np.float64)
    assert y.shape == src.shape
    for (r, c, ch) in [(0, 0, 0), (10, 20, 1), (299, 450, 2)]:
        x = -3 + 6 * src[r, c, ch] / 255
        assert y[r, c, ch] == pytest.approx(activation_reference(x, "gelu")[0], abs=1e-5)


# ------------------------------------------------------------------------------------ plot, trace

def _plot_lines(out):
    return [ln for ln in out.splitlines() if "┤" in ln]


def test_plot_alone_draws_both_curves(cli):
    code, out, err = cli("activate", "--fn", "sigmoid", "--plot")
    assert code == 0, err
    lines = _plot_lines(out)
    assert len(lines) == 20 and all(any("\u2801" <= ch <= "\u28ff" for ch in ln) for ln in lines)
    g_top, g_bottom = lines[0].split("┤")[1], lines[9].split("┤")[1]
    # sigmoid rises: its top row has dots only on the right, its bottom row only on the left
    assert set(g_top[:20]) == {"\u2800"} and set(g_bottom[-20:]) == {"\u2800"}
    assert lines[0].split("┤")[0].strip() == "0.998" and lines[10].split("┤")[0].strip() == "0.25"
    zone = [ln for ln in out.splitlines() if set(ln.strip()) == {"~"} or ("~" in ln and " " in ln.strip()
                                                                         and "saturated" not in ln)][0]
    assert zone.strip().startswith("~") and zone.rstrip().endswith("~") and "x" not in zone
    assert zone.count("~") < 60


def test_plot_relu_marks_dead_zone(cli):
    code, out, _ = cli("activate", "--fn", "relu", "--plot", "--plot-range", "-4,4")
    assert code == 0
    zone = [ln for ln in out.splitlines() if ln.strip() and set(ln) <= {"x", " "}][0]
    body = zone.strip()
    assert set(body) == {"x"} and len(body) == 30      # the left half of the 60 columns
    assert zone.index("x") == out.splitlines()[-3].index("-4")


def test_trace_marks_dead_and_saturated(cli):
    code, out, _ = cli("activate", "--matrix", "-8,0,8;-1,1,20", "--fn", "sigmoid", "--trace")
    assert code == 0
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit() and "," in ln.split()[0]}
    assert rows["0,0"][-1] == "saturated" and rows["1,2"][-1] == "saturated"
    assert rows["0,1"][1:4] == ["0", "0.5", "0.25"]
    code, out, _ = cli("activate", "--matrix", "-1,0,2", "--fn", "relu", "--trace")
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()[:3] in ("0,0", "0,1", "0,2")}
    assert rows["0,0"][-1] == "dead" and rows["0,1"][-1] == "dead" and rows["0,2"][-1] == "1"
    assert "ReLU" not in out and "g'(x) = 1 if x > 0 else 0" in out


def test_trace_of_image_shows_pixels(cli, samples):
    code, out, _ = cli("activate", samples / "gray.png", "--fn", "tanh", "--trace", "--max-steps", "3")
    assert code == 0
    assert "pixel" in out and "showing 3 of" in out
    first = [ln.split() for ln in out.splitlines() if ln.strip().startswith("0,0 ")][0]
    p = float(np.asarray(Image.open(samples / "gray.png"))[0, 0])
    assert float(first[1]) == p and float(first[3]) == pytest.approx(math.tanh(-1 + 2 * p / 255), abs=1e-5)


# ----------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("args,code,match", [
    (["--matrix", "1,2", "--fn", "relu", "--alpha", "0.1"], 2, "--alpha applies to leaky-relu"),
    (["--matrix", "1,2", "--fn", "relu", "--input-range", "-1,1"], 2, "--input-range applies to images only"),
    (["--fn", "relu"], 2, "missing INPUT"),
    (["--fn", "relu", "--plot", "--plot-range", "3,1"], 2, "--plot-range needs LO < HI"),
    (["--matrix", "1,2", "--fn", "relu6"], 2, "relu6"),
    (["--matrix", "1,x", "--fn", "relu"], 3, ""),
])
def test_bad_arguments(cli, args, code, match):
    got, out, err = cli("activate", *args)
    assert got == code
    assert err.startswith("convcli: error:") and match in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_errors_write_nothing(cli, samples, tmp_path):
    before = snapshot(tmp_path)
    code, _, err = cli("activate", samples / "gray.png", "--fn", "relu", "--input-range", "1,1", "-o", tmp_path / "o.png")
    assert code == 2 and "LO < HI" in err
    code, _, err = cli("activate", tmp_path / "missing.png", "--fn", "relu", "-o", tmp_path / "o.png")
    assert code == 3 and "no such file" in err
    code, _, err = cli("activate", samples / "gray.png", "--fn", "relu", "-o", tmp_path / "o.xyz")
    assert code == 2
    assert snapshot(tmp_path) == before
