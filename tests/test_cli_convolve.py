"""`convcli convolve` and `convcli kernels` end to end, through the real entry point."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import convcli

from conftest import ROOT, os_is_root, snapshot

SLIDE = "50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0;50,50,0,0,0"


def test_slides_table(cli, samples):
    code, out, err = cli("convolve", samples / "slide_5x5.csv", "-k", "vertical-edge")
    assert code == 0 and err == ""
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert rows[1:] == [["0", "150", "150", "0"], ["1", "150", "150", "0"], ["2", "150", "150", "0"]]


def test_slides_npy_exact(cli, tmp_path):
    code, _, _ = cli("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--stride", "2", "-o", tmp_path / "r.npy")
    assert code == 0
    out = np.load(tmp_path / "r.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[150, 0], [150, 0]])


def test_slides_trace_stride_2(cli):
    code, out, _ = cli("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--stride", "2", "--trace")
    assert code == 0
    assert "\x1b[" not in out                                   # plain text when not a terminal
    assert "Step 1 of 4 · output[0, 0] · start" in out
    assert "Step 2 of 4 · output[0, 1] · → 2 pixels to the right" in out
    assert "Step 3 of 4 · output[1, 0] · ↓ 2 pixels down" in out
    assert "50×1 + 50×0 + 0×(-1) + 50×1 + 50×0 + 0×(-1) + 50×1 + 50×0 + 0×(-1) = 150" in out
    assert "⌊(5 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = 2" in out
    assert "[50]" in out and "<150>" in out


def test_trace_stride_1_has_nine_steps_and_moves_one_pixel(cli):
    code, out, _ = cli("convolve", "--matrix", SLIDE, "-k", "vertical-edge", "--trace")
    assert code == 0
    assert out.count("Step ") == 9 and "→ 1 pixel to the right" in out and "↓ 1 pixel down" in out
    assert "= 150" in out and "0×1 + 0×0 + 0×(-1)" in out


def test_trace_draws_padding_distinctly(cli):
    code, out, _ = cli("convolve", "--matrix", "1,2;3,4", "-k", "1,1;1,1", "--padding", "1", "--trace")
    assert code == 0
    assert "(0)" in out and "[(0)]" in out and "with padding" in out
    assert "(0)×1 + (0)×1" not in out      # products show values, not the padding marks
    assert "0×1 + 0×1 + 0×1 + 1×1 = 1" in out


def test_trace_caps_steps_and_region(cli, samples):
    code, out, _ = cli("convolve", samples / "gray.png", "-k", "box", "--trace", "--max-steps", "3")
    assert code == 0 and out.count("Step ") == 3 and "--max-steps N shows more" in out
    code, out, _ = cli("convolve", samples / "gray.png", "-k", "box", "--trace", "--region", "100,200,2,2")
    assert code == 0 and out.count("Step ") == 4
    assert "output[99, 199]" in out     # valid 3×3: the window centred at input (100, 200)


def test_trace_values_match_result(cli, samples, tmp_path):
    img = np.asarray(Image.open(samples / "gray.png"), dtype=np.float64)
    code, out, _ = cli("convolve", samples / "gray.png", "-k", "sobel-x", "--trace", "--region", "10,20,1,1")
    assert code == 0
    expected = (img[9:12, 19:22] * np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])).sum()
    assert f"= {int(expected)}" in out


def test_photo_sobel_is_visible(cli, samples, tmp_path):
    out_path = tmp_path / "edges.png"
    code, out, err = cli("convolve", samples / "rgb.jpg", "-k", "sobel-x", "--padding", "same", "-o", out_path)
    assert code == 0 and out == "" and err == ""
    src, edges = Image.open(samples / "rgb.jpg"), Image.open(out_path)
    assert edges.mode == "RGB" and edges.size == src.size
    arr = np.asarray(edges, dtype=np.float64)
    assert arr.mean() > 8 and arr.max() == 255 and (arr > 64).mean() > 0.02


def test_range_options_differ(cli, samples, tmp_path):
    means = {}
    for rule in ("clip", "abs", "rescale", "offset"):
        path = tmp_path / f"{rule}.png"
        assert cli("convolve", samples / "gray.png", "-k", "sobel-x", "--range", rule, "-o", path)[0] == 0
        means[rule] = np.asarray(Image.open(path), dtype=np.float64).mean()
    assert means["clip"] < means["abs"]
    assert 100 < means["offset"] < 160 and 60 < means["rescale"] < 200


def test_sixteen_bit_in_sixteen_bit_out(cli, samples, tmp_path):
    path = tmp_path / "b.png"
    assert cli("convolve", samples / "gray16.png", "-k", "box", "--padding", "same", "-o", path)[0] == 0
    im = Image.open(path)
    assert im.mode.startswith("I") and np.asarray(im).max() > 255
    src = np.asarray(Image.open(samples / "gray16.png"), dtype=np.float64)
    assert abs(np.asarray(im, dtype=np.float64)[100, 100] - src[99:102, 99:102].mean()) <= 1


def test_alpha_carried_and_filtered(cli, samples, tmp_path):
    src = np.asarray(Image.open(samples / "alpha.png"))
    assert cli("convolve", samples / "alpha.png", "-k", "gaussian", "--padding", "same", "-o", tmp_path / "k.png")[0] == 0
    kept = np.asarray(Image.open(tmp_path / "k.png"))
    assert kept.shape == src.shape
    np.testing.assert_array_equal(kept[..., 3], src[..., 3])
    assert cli("convolve", samples / "alpha.png", "-k", "box", "--stride", "2", "-o", tmp_path / "s.png")[0] == 0
    strided = np.asarray(Image.open(tmp_path / "s.png"))
    np.testing.assert_array_equal(strided[..., 3], src[1:-1:2, 1:-1:2, 3][:strided.shape[0], :strided.shape[1]])
    assert cli("convolve", samples / "alpha.png", "-k", "box", "--alpha", "drop", "-o", tmp_path / "d.png")[0] == 0
    assert Image.open(tmp_path / "d.png").mode == "RGB"


def test_gray_option_and_npy_layout(cli, samples, tmp_path):
    assert cli("convolve", samples / "rgb.jpg", "-k", "box", "-o", tmp_path / "c.npy")[0] == 0
    assert np.load(tmp_path / "c.npy").shape == (298, 449, 3)
    assert cli("convolve", samples / "rgb.jpg", "-k", "box", "--gray", "-o", tmp_path / "g.npy")[0] == 0
    assert np.load(tmp_path / "g.npy").shape == (298, 449)


def test_dense_weight_file(cli, tmp_path, samples):
    w = np.zeros((2, 3, 1, 1), np.float32)
    w[0, 0, 0, 0] = 1.0          # output 0 = red
    w[1, :, 0, 0] = 1 / 3        # output 1 = mean of RGB
    np.save(tmp_path / "w.npy", w)
    assert cli("convolve", samples / "rgb.jpg", "-k", tmp_path / "w.npy", "-o", tmp_path / "o.npy")[0] == 0
    out = np.load(tmp_path / "o.npy")
    src = np.asarray(Image.open(samples / "rgb.jpg"), dtype=np.float32)
    np.testing.assert_allclose(out[..., 0], src[..., 0])
    np.testing.assert_allclose(out[..., 1], src.mean(axis=2), rtol=1e-5)


def test_csv_output_and_bias_and_flip(cli, tmp_path):
    assert cli("convolve", "--matrix", "1,2,3;4,5,6", "-k", "1,2", "--flip", "--bias", "0.5", "-o", tmp_path / "r.csv")[0] == 0
    assert (tmp_path / "r.csv").read_text() == "4.5,7.5\n13.5,16.5\n"


def test_padding_words_and_modes(cli, tmp_path):
    for padding, shape in (("valid", (3, 3)), ("same", (5, 5)), ("full", (7, 7)), ("1,0", (5, 3))):
        assert cli("convolve", "--matrix", SLIDE, "-k", "box", "--padding", padding, "-o", tmp_path / "p.npy")[0] == 0
        assert np.load(tmp_path / "p.npy").shape == shape
    assert cli("convolve", "--matrix", "1,2,3", "-k", "1,0,0", "--padding", "0,1", "--padding-mode", "circular",
               "-o", tmp_path / "c.npy")[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), [[3, 1, 2]])


def test_kernels_list_and_show(cli):
    code, out, _ = cli("kernels")
    assert code == 0
    for name in ("identity", "box", "gaussian", "sharpen", "laplacian", "sobel-x", "sobel-y", "scharr-x",
                 "scharr-y", "prewitt-x", "prewitt-y", "emboss", "vertical-edge", "horizontal-edge"):
        assert name in out
    code, out, _ = cli("kernels", "sobel-x")
    assert code == 0 and "-2" in out and "sum of weights: 0" in out


def test_version_and_help(cli):
    from convcli import __version__
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"convcli {__version__}"
    code, out, _ = cli("convolve", "--help")
    assert code == 0
    for word in ("--kernel", "--stride", "--padding-mode", "BORDER_REFLECT_101", "--dilation", "--flip",
                 "--range", "--trace", "--region", "--gray", "--alpha"):
        assert word in out


# ------------------------------------------------------------------------------------ errors

BAD = [
    (["--matrix", SLIDE, "-k", "vertical-edge", "--stride", "0"], 2, "stride must be at least 1"),
    (["--matrix", SLIDE, "-k", "vertical-edge", "--dilation", "0,1"], 2, "dilation must be at least 1"),
    (["--matrix", SLIDE, "-k", "vertical-edge", "--padding", "-1"], 2, "padding must be >= 0"),
    (["--matrix", SLIDE, "-k", "vertical-edge", "--stride", "x"], 2, "--stride must be"),
    (["--matrix", SLIDE, "-k", "1,0;1"], 2, "kernel is ragged"),
    (["--matrix", SLIDE, "-k", "1,a;1,2"], 2, "not a number"),
    (["--matrix", SLIDE, "-k", "sobel-z"], 2, "unknown kernel 'sobel-z'"),
    (["--matrix", SLIDE, "-k", "gaussian:0"], 2, "gaussian size must be a positive"),
    (["--matrix", SLIDE, "-k", "sobel-x:3"], 2, "takes no parameters"),
    (["--matrix", SLIDE, "-k", "gaussian:9"], 2, "larger than the padded input"),
    (["--matrix", SLIDE, "-k", "box", "--padding-mode", "mirror"], 2, "mirror"),
    (["--matrix", "1,2;3", "-k", "box"], 3, "ragged"),
    (["--matrix", SLIDE, "-k", "box", "--bias", "nan"], 2, "--bias must be a number"),
    (["--matrix", SLIDE, "-k", "box", "--trace", "--region", "1,2"], 2, "region must be Y,X,H,W"),
    (["--matrix", SLIDE, "-k", "box", "--trace", "--channel", "3"], 2, "channel 3 does not exist"),
    (["--matrix", SLIDE, "-k", "box", "--max-pixels", "4"], 6, "over the limit of 4 pixels"),
    (["-k", "box"], 2, "missing INPUT"),
    (["--matrix", SLIDE], 2, "Missing option"),
]


@pytest.mark.parametrize("args, code, message", BAD, ids=[b[2][:30] for b in BAD])
def test_errors_are_one_line(cli, tmp_path, args, code, message):
    out_path = tmp_path / "out.png"
    got, out, err = cli("convolve", *args, "-o", out_path)
    assert got == code, err
    assert err.startswith("convcli: error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err
    assert not out_path.exists() and list(tmp_path.iterdir()) == []


def _make_bad_files(tmp_path, samples):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello, not a png")
    data = (samples / "rgb.jpg").read_bytes()
    (tmp_path / "trunc.jpg").write_bytes(data[:300])
    (tmp_path / "ragged.csv").write_text("1,2\n3\n")
    (tmp_path / "good.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    (tmp_path / "dir.png").mkdir()


@pytest.mark.parametrize("name, code, message", [
    ("empty.png", 3, "file is empty"),
    ("text.png", 3, "not an image format"),
    ("trunc.jpg", 3, "corrupt or truncated"),
    ("ragged.csv", 3, "ragged"),
    ("missing.png", 3, "no such file"),
    ("dir.png", 3, "directory has no image or matrix files"),
])
def test_bad_input_files(cli, tmp_path, samples, name, code, message):
    _make_bad_files(tmp_path, samples)
    before = snapshot(tmp_path)
    got, _, err = cli("convolve", tmp_path / name, "-k", "box", "-o", tmp_path / "out.png")
    assert got == code and message in err and err.count("\n") == 1
    assert snapshot(tmp_path) == before


def test_output_errors(cli, tmp_path, samples):
    _make_bad_files(tmp_path, samples)
    before = snapshot(tmp_path)
    good = tmp_path / "good.csv"
    cases = [
        (tmp_path / "nodir" / "o.png", 5, "does not exist"),
        (tmp_path / "o.xyz", 2, "unknown output extension"),
        (good, 5, "would overwrite the input"),
        (tmp_path / "dir.png", 5, "is a directory"),
    ]
    link = tmp_path / "link.csv"
    os.symlink(good, link)
    before = snapshot(tmp_path)
    cases.append((link, 5, "would overwrite the input"))
    for out, code, message in cases:
        got, _, err = cli("convolve", good, "-k", "1", "-o", out)
        assert got == code and message in err, (out, err)
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os_is_root(), reason="root can write into read-only directories")
def test_unwritable_directory(cli, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        got, _, err = cli("convolve", "--matrix", SLIDE, "-k", "box", "-o", ro / "o.npy")
        assert got == 5 and "not writable" in err
    finally:
        ro.chmod(0o700)


def test_real_entry_point_subprocess(tmp_path, samples):
    """`python -m convcli` as a user runs it: exit codes and stderr through the real process."""
    env = dict(os.environ, NO_COLOR="1")
    ok = subprocess.run([sys.executable, "-m", "convcli", "convolve", str(samples / "slide_5x5.csv"), "-k",
                         "vertical-edge", "--stride", "2", "-o", str(tmp_path / "r.npy")],
                        capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), [[150, 0], [150, 0]])
    bad = subprocess.run([sys.executable, "-m", "convcli", "convolve", str(samples / "slide_5x5.csv"), "-k",
                          "box", "--stride", "0"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr == "convcli: error: stride must be at least 1, got 0\n"


@pytest.mark.parametrize("kernel", ["sobel-x", "0.5,-1,2;3,0.25,-2;1,1,-0.125", "gaussian:5,1.1"])
def test_eight_bit_input_read_as_is_gives_the_float_results(cli, tmp_path, rng, kernel):
    pixels = rng.integers(0, 256, (40, 53, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    code, _, err = cli("convolve", tmp_path / "in.png", "-k", kernel, "--padding", "same",
                       "--padding-mode", "reflect", "-o", tmp_path / "out.npy")
    assert code == 0, err
    expected = convcli.convolve(pixels.astype(np.float32), kernel, padding="same", padding_mode="reflect")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif"])
@pytest.mark.parametrize("range_mode", ["clip", "abs", "offset", "rescale", "auto"])
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_image_outputs_straight_from_pixels_equal_the_float_route(cli, tmp_path, rng, monkeypatch, ext,
                                                                   range_mode, mode):
    from convcli.cli import convolve as convolve_cmd
    from convcli.ops import conv

    bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (31, 45, bands), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode).save(tmp_path / "in.png")
    args = ("convolve", tmp_path / "in.png", "-k", "sobel-x" if range_mode != "offset" else "1,-2;0.5,0.25",
            "--padding", "1", "--stride", "1,2", "--range", range_mode)
    from convcli.ops.sinks import Pixels

    pixel_calls = []
    real = conv.run_plan

    def counted(*a, sink=None):
        if isinstance(sink, Pixels):
            pixel_calls.append(1)
        return real(*a, sink=sink)

    monkeypatch.setattr(convolve_cmd, "run_plan", counted)
    assert cli(*args, "-o", tmp_path / f"straight{ext}")[0] == 0
    assert bool(pixel_calls) == (range_mode != "rescale")      # rescale needs the whole result first
    # the same command with --json: every float result is kept for the statistics
    code, out, err = cli(*args, "-o", tmp_path / f"float{ext}", "--json")
    assert code == 0, err
    a = np.asarray(Image.open(tmp_path / f"straight{ext}"))
    b = np.asarray(Image.open(tmp_path / f"float{ext}"))
    np.testing.assert_array_equal(a, b)
    kernel = "sobel-x" if range_mode != "offset" else "1,-2;0.5,0.25"
    expected = convcli.convolve(pixels[..., :3].astype(np.float32), kernel, padding=1, stride=(1, 2))
    assert a.shape[:2] == expected.shape[:2] and (a.ndim == 2) == (bands == 1)
    if ext == ".png":      # lossless: the pixels are the rule applied to the float result, alpha kept
        from convcli.ops.display import to_pixels
        rule = {"auto": "abs"}.get(range_mode, range_mode)
        want = to_pixels(expected, 255.0, rule)
        np.testing.assert_array_equal(a[..., :3] if bands == 4 else a, want[..., 0] if bands == 1 else want)
        if bands == 4:
            assert a.shape[2] == 4
    assert (tmp_path / f"straight{ext}").read_bytes() == (tmp_path / f"float{ext}").read_bytes()


def test_chain_starting_with_convolve_still_sees_floats(cli, tmp_path, rng):
    pixels = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    stages = ("convolve -k sobel-x --padding same", "activate --fn relu")
    for out in ("out.png", "out.npy"):
        code, _, err = cli("chain", *stages, tmp_path / "in.png", "-o", tmp_path / out)
        assert code == 0, err
    code, _, err = cli("chain", *stages, tmp_path / "in.png", "-o", tmp_path / "json.png", "--json")
    assert code == 0, err
    expected = np.maximum(convcli.convolve(pixels.astype(np.float32), "sobel-x", padding="same"), 0)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    assert (tmp_path / "out.png").read_bytes() == (tmp_path / "json.png").read_bytes()
