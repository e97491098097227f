"""`convcli upsample` end to end: the slides' example and its trace, real images, errors."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import convcli
from conftest import SAMPLES, snapshot, torch_or_skip
from test_pool_cli import _table

SLIDE = str(SAMPLES / "slide_upsample_2x2.csv")
SLIDE_OUT = [[20, 20, 45, 45], [20, 20, 45, 45], [10, 10, 43, 43], [10, 10, 43, 43]]


@pytest.mark.parametrize("args", [["--scale", "2"], ["--size", "4,4"], ["--size", "4"], ["--scale", "2,2"]])
def test_slide_nearest_prints_the_slides_4x4(cli, args):
    code, out, err = cli("upsample", SLIDE, *args)
    assert code == 0 and err == ""
    assert _table(out) == SLIDE_OUT


def test_nearest_trace_fills_blocks_like_the_slides(cli):
    code, out, _ = cli("upsample", SLIDE, "--scale", "2", "--trace")
    assert code == 0
    assert "Step 4 of 4" in out and out.count("Step ") == 4
    for text in ("rows 0–1 × columns 0–1 copy input[0, 0] = 20", "rows 0–1 × columns 2–3 copy input[0, 1] = 45",
                 "rows 2–3 × columns 0–1 copy input[1, 0] = 10", "rows 2–3 × columns 2–3 copy input[1, 1] = 43"):
        assert text in out
    assert "<20>  <20>" in out                           # the block being written
    assert "H_out = ⌊H_in × scale⌋ = ⌊2 × 2⌋ = 4" in out


def test_bilinear_trace_shows_source_and_weights(cli):
    code, out, _ = cli("upsample", SLIDE, "--scale", "2", "--mode", "bilinear", "--trace", "--max-steps", "16")
    assert code == 0
    assert "src (0, 0.25): 20×0.75 + 45×0.25 = 26.25" in out
    assert "src (0.25, 0.25): 20×0.5625 + 45×0.1875 + 10×0.1875 + 43×0.0625 = 24.25" in out
    assert "src = (dst + 0.5) × r − 0.5, r = 1/scale = 1/2 = 0.5" in out
    assert "src (0, 1.25): 45×1 = 45" in out                 # past the last column: clamped to it


def test_bicubic_trace_has_sixteen_weights_combined_at_borders(cli):
    code, out, _ = cli("upsample", "--matrix", "1,2,3,4;5,6,7,8;9,10,11,12;13,14,15,16", "--scale", "2",
                       "--mode", "bicubic", "--trace", "--region", "1,1,1,1", "--max-steps", "4")
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.startswith("src (")]
    # source (0.75, 0.75): taps −1..2 per axis, the −1 clamped onto 0, so 3×3 distinct cells
    assert lines[0].startswith("src (0.75, 0.75): 1×0.05133 + 2×0.1991") and lines[0].count("×") == 9
    flat = " ".join(out.split())            # a long sum wraps at the console width
    last = flat[flat.index("src (1.25, 1.25):"):]
    assert last[:last.index(" = ")].count("×") == 16
    assert "= 4.34" in lines[0]


def test_linear_alias_and_align_corners(cli):
    code, out, _ = cli("upsample", "--matrix", "0,10,20", "--mode", "linear", "--size", "1,5", "--align-corners")
    assert code == 0 and _table(out) == [[0, 5, 10, 15, 20]]


def test_npy_output_equals_api(cli, tmp_path, rng):
    x = rng.standard_normal((5, 6, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli("upsample", tmp_path / "x.npy", "--mode", "bicubic", "--scale", "1.7,2.3", "--align-corners",
                       "-o", tmp_path / "y.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  convcli.upsample(x, mode="bicubic", scale=(1.7, 2.3), align_corners=True))


@pytest.mark.parametrize("name, mode, size", [("gray.png", "L", (768, 768)), ("rgb.jpg", "RGB", (676, 450)),
                                              ("alpha.png", "RGBA", (384, 384)), ("gray16.png", "I;16", (384, 384))])
def test_images_keep_mode_and_depth(cli, tmp_path, name, mode, size):
    code, _, err = cli("upsample", SAMPLES / name, "--mode", "bilinear", "--scale", "1.5", "-o", tmp_path / "o.png")
    assert code == 0, err
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == mode and im.size == size


def test_bicubic_overshoot_is_clipped_and_alpha_resampled(cli, tmp_path):
    code, _, err = cli("upsample", SAMPLES / "alpha.png", "--mode", "bicubic", "--scale", "2", "-o", tmp_path / "o.png")
    assert code == 0, err
    with Image.open(SAMPLES / "alpha.png") as im:
        src = np.asarray(im, dtype=np.float32)
    with Image.open(tmp_path / "o.png") as im:
        got = np.asarray(im, dtype=np.float32)
    expected = convcli.upsample(src, mode="bicubic", scale=2)
    assert expected.min() < 0 or expected.max() > 255           # it does overshoot
    np.testing.assert_allclose(got, np.clip(np.rint(expected), 0, 255), atol=1)


def test_real_photo_matches_torch(cli, tmp_path):
    torch = torch_or_skip()
    code, _, _ = cli("upsample", SAMPLES / "rgb.jpg", "--mode", "bicubic", "--size", "377,512", "-o", tmp_path / "o.npy")
    assert code == 0
    with Image.open(SAMPLES / "rgb.jpg") as im:
        x = torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1).contiguous()[None]
    ref = torch.nn.functional.interpolate(x, size=(377, 512), mode="bicubic", align_corners=False)
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), ref[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("args, code, message", [
    (["--scale", "0"], 2, "scale must be a finite number > 0"),
    (["--scale", "-1"], 2, "scale must be a finite number > 0"),
    (["--scale", "x"], 2, "--scale must be a number"),
    (["--scale", "1,2,3"], 2, "--scale must be F or FY,FX"),
    (["--scale", "0.1"], 2, "to nothing"),
    (["--size", "0,3"], 2, "size must be at least 1×1"),
    ([], 2, "give exactly one of --scale"),
    (["--scale", "2", "--size", "4,4"], 2, "give exactly one of --scale"),
    (["--scale", "2", "--align-corners"], 2, "align_corners only applies to bilinear and bicubic"),
    (["--scale", "2", "--mode", "lanczos"], 2, "lanczos"),
    (["--scale", "100000"], 6, "200000×200000 = 40,000,000,000 pixels"),
    (["--scale", "4", "--max-pixels", "50"], 6, "8×8 = 64 pixels"),
])
def test_errors_one_line_no_output(cli, tmp_path, args, code, message):
    before = snapshot(SAMPLES)
    got, out, err = cli("upsample", SLIDE, *args, "-o", tmp_path / "out.npy")
    assert got == code
    assert err.startswith("convcli: error:") and message in err and err.count("\n") == 1
    assert "Traceback" not in err + out
    assert not (tmp_path / "out.npy").exists()
    assert snapshot(SAMPLES) == before


def test_help_documents_every_option(cli):
    code, out, _ = cli("upsample", "--help")
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    for opt in ("--mode", "--scale", "--size", "--align-corners", "--alpha", "--range", "--trace", "--region",
                "--max-steps", "--channel", "--output", "--matrix"):
        assert opt in flat
    assert "linear interpolation along x" in flat
