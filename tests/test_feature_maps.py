"""A 4-D weight's output channels are feature maps: never written as an image's alpha, even when
the input was RGBA (or LA) read with --alpha filter and the weight keeps the channel count."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "convcli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def rgba(tmp_path):
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 256, (12, 14, 4)).astype(np.uint8), "RGBA").save(tmp_path / "in.png")
    Image.fromarray(rng.integers(0, 256, (12, 14, 2)).astype(np.uint8), "LA").save(tmp_path / "la.png")
    np.save(tmp_path / "mix44.npy", rng.standard_normal((4, 4, 3, 3)).astype(np.float32))
    np.save(tmp_path / "mix43.npy", rng.standard_normal((3, 4, 3, 3)).astype(np.float32))
    np.save(tmp_path / "tmix22.npy", rng.standard_normal((2, 2, 2, 2)).astype(np.float32))
    return tmp_path


@pytest.mark.parametrize("args", [
    ["convolve", "in.png", "-k", "mix44.npy", "--alpha", "filter"],
    ["tconv", "la.png", "-k", "tmix22.npy", "--alpha", "filter", "--stride", "2"],
])
@pytest.mark.parametrize("ext", [".png", ".webp", ".tif"])
def test_mixed_maps_are_never_alpha(rgba, args, ext):
    done = _run(*args, "-o", "out" + ext, cwd=rgba)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "feature maps" in done.stderr and ".npy" in done.stderr
    assert not (rgba / ("out" + ext)).exists()


def test_mixed_maps_go_to_npy_and_depthwise_keeps_rgba(rgba):
    assert _run("convolve", "in.png", "-k", "mix44.npy", "--alpha", "filter", "-o", "maps.npy", cwd=rgba).returncode == 0
    maps = np.load(rgba / "maps.npy")
    assert maps.shape == (10, 12, 4)
    x = np.asarray(Image.open(rgba / "in.png"), dtype=np.float32)
    w = np.load(rgba / "mix44.npy")
    want = np.einsum("oiyx,hwyxi->hwo", w, np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(0, 1))
                     .transpose(0, 1, 3, 4, 2))
    np.testing.assert_allclose(maps, want, rtol=1e-4, atol=1e-2)
    # a 2-D kernel filters each channel, alpha included: still RGBA
    assert _run("convolve", "in.png", "-k", "box", "--alpha", "filter", "-o", "box.png", cwd=rgba).returncode == 0
    assert Image.open(rgba / "box.png").mode == "RGBA"
    # 4 channels mixed into 3: an RGB image
    assert _run("convolve", "in.png", "-k", "mix43.npy", "--alpha", "filter", "-o", "rgb.png", cwd=rgba).returncode == 0
    assert Image.open(rgba / "rgb.png").mode == "RGB"
