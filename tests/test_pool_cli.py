"""`convcli pool` end to end: the slides' example and its trace, real images, errors."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import convcli
from conftest import SAMPLES, snapshot, torch_or_skip

SLIDE = str(SAMPLES / "slide_pool_4x4.csv")


def _table(text: str) -> list[list[float]]:
    """The numbers of a printed result table (rows under the header rule, first column = row label)."""
    rows, body = [], False
    for line in text.splitlines():
        parts = line.split()
        if "─" in line:
            body = True
        elif body and parts and re.fullmatch(r"\d+", parts[0]):
            rows.append([float(p) for p in parts[1:]])
    return rows


@pytest.mark.parametrize("mode, expected", [("max", [[4, 2], [6, 8]]), ("min", [[1, 0], [0, 2]]),
                                            ("avg", [[2.5, 1], [3, 5]])])
def test_slide_pooling_prints_the_hand_result(cli, mode, expected):
    code, out, err = cli("pool", SLIDE, "--mode", mode)
    assert code == 0 and err == ""
    assert _table(out) == expected


def test_max_trace_shows_windows_values_and_winner(cli):
    code, out, _ = cli("pool", SLIDE, "--mode", "max", "--trace")
    assert code == 0
    assert "max(1, 3, 4, 2) = 4" in out
    assert "max(2, 1, 0, 1) = 2" in out
    assert "max(5, 6, 0, 1) = 6" in out
    assert "max(7, 8, 3, 2) = 8" in out
    assert "[4*]" in out and "[8*]" in out              # the winners, marked on the input grid
    assert out.count("Step ") == 4 and "Step 4 of 4" in out
    assert "→ 2 pixels to the right" in out
    assert "⌊(4 + 2·0 − (2 − 1) − 1) / 2⌋ + 1 = 2" in out


def test_min_trace_marks_the_smallest(cli):
    code, out, _ = cli("pool", SLIDE, "--mode", "min", "--trace")
    assert code == 0
    assert "min(1, 3, 4, 2) = 1" in out and "min(7, 8, 3, 2) = 2" in out
    assert "[1*]" in out and "[0*]" in out and "[2*]" in out


def test_avg_trace_explains_divisors(cli):
    m = "1,2,3,4;5,6,7,8"
    code, out, _ = cli("pool", "--matrix", m, "--mode", "avg", "--size", "3", "--stride", "2", "--padding", "1",
                       "--ceil-mode", "--trace")
    assert code == 0
    assert "(0 + 0 + 0 + 0 + 1 + 2 + 0 + 5 + 6) / 9 = 1.556" in out
    assert "(8 + 0 + 0 + 0) / 4 = 2" in out and "runs past the padded input (ceil_mode)" in out
    assert "(0)" in out                                   # padding drawn in parentheses
    code, out, _ = cli("pool", "--matrix", m, "--mode", "avg", "--size", "3", "--stride", "2", "--padding", "1",
                       "--no-count-include-pad", "--trace")
    assert "(1 + 2 + 5 + 6) / 4 = 3.5" in out and "5 padded cells not counted" in out


def test_max_trace_padding_never_wins(cli):
    code, out, _ = cli("pool", "--matrix", "-1,-2;-3,-4", "--size", "2", "--stride", "1", "--padding", "1",
                       "--trace")
    assert code == 0
    assert "max(-1) = -1" in out and "(-inf)" in out and "never win" in out


def test_npy_output_equals_api(cli, tmp_path, rng):
    x = rng.standard_normal((9, 7, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli("pool", tmp_path / "x.npy", "--mode", "avg", "--size", "3,2", "--stride", "2",
                       "--padding", "1", "--ceil-mode", "-o", tmp_path / "y.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"),
                                  convcli.pool(x, mode="avg", size=(3, 2), stride=2, padding=1, ceil_mode=True))


@pytest.mark.parametrize("name, mode, size", [("gray.png", "L", (170, 170)), ("rgb.jpg", "RGB", (150, 100)),
                                              ("alpha.png", "RGBA", (85, 85)), ("gray16.png", "I;16", (85, 85))])
def test_images_keep_mode_and_depth(cli, tmp_path, name, mode, size):
    code, _, err = cli("pool", SAMPLES / name, "--mode", "max", "--size", "3", "-o", tmp_path / "out.png")
    assert code == 0, err
    with Image.open(tmp_path / "out.png") as im:
        assert im.mode == mode and im.size == size


def test_alpha_is_pooled_like_a_channel(cli, tmp_path):
    code, _, err = cli("pool", SAMPLES / "alpha.png", "--mode", "avg", "--size", "4", "-o", tmp_path / "out.png")
    assert code == 0, err
    with Image.open(SAMPLES / "alpha.png") as im:
        src = np.asarray(im, dtype=np.float32)
    with Image.open(tmp_path / "out.png") as im:
        got = np.asarray(im, dtype=np.float32)
    np.testing.assert_allclose(got, np.clip(np.rint(convcli.pool(src, mode="avg", size=4)), 0, 255), atol=1)
    assert got[..., 3].min() == 0 and got[..., 3].max() == 255


def test_gray16_values_pooled_on_16_bit_scale(cli, tmp_path):
    code, _, _ = cli("pool", SAMPLES / "gray16.png", "--mode", "min", "-o", tmp_path / "out.png")
    assert code == 0
    with Image.open(SAMPLES / "gray16.png") as im:
        src = np.asarray(im, dtype=np.float32)
    with Image.open(tmp_path / "out.png") as im:
        got = np.asarray(im, dtype=np.float32)
    np.testing.assert_array_equal(got, convcli.pool(src, mode="min"))
    assert got.max() > 255


def test_real_photo_matches_torch(cli, tmp_path):
    torch = torch_or_skip()
    code, _, _ = cli("pool", SAMPLES / "rgb.jpg", "--mode", "avg", "--size", "5", "--stride", "3", "--padding", "2",
                     "--ceil-mode", "--no-count-include-pad", "-o", tmp_path / "out.npy")
    assert code == 0
    with Image.open(SAMPLES / "rgb.jpg") as im:
        x = torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1).contiguous()[None]
    ref = torch.nn.functional.avg_pool2d(x, 5, 3, 2, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), ref[0].permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("args, code, message", [
    (["--size", "0"], 2, "size must be at least 1"),
    (["--size", "5"], 2, "does not fit in the input 4×4"),
    (["--stride", "0"], 2, "stride must be at least 1"),
    (["--padding", "2"], 2, "more than half the window size 2"),
    (["--size", "a,b"], 2, "--size must be"),
    (["--mode", "median"], 2, "median"),
    (["--size", "1", "--max-pixels", "10"], 6, "4×4 = 16 pixels"),
])
def test_errors_one_line_no_output(cli, tmp_path, args, code, message):
    before = snapshot(SAMPLES)
    got, out, err = cli("pool", SLIDE, *args, "-o", tmp_path / "out.png")
    assert got == code
    assert err.startswith("convcli: error:") and message in err and err.count("\n") == 1
    assert "Traceback" not in err + out
    assert not (tmp_path / "out.png").exists()
    assert snapshot(SAMPLES) == before


def test_missing_input_file(cli, tmp_path):
    code, _, err = cli("pool", tmp_path / "nope.png")
    assert code == 3 and "no such file" in err


def test_help_documents_every_option(cli):
    code, out, _ = cli("pool", "--help")
    assert code == 0
    for opt in ("--mode", "--size", "--stride", "--padding", "--ceil-mode", "--count-include-pad", "--alpha",
                "--range", "--trace", "--region", "--max-steps", "--channel", "--output", "--matrix"):
        assert opt in out
    assert "pooled / interpolated like any channel" in " ".join(out.replace("│", " ").split())
