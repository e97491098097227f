"""Loading every Pillow mode and format, writing every output kind, and the range rules."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from convcli import imageio
from convcli.errors import InputError, LimitError, OutputError, ParameterError


def _save(tmp_path, name, im, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return str(path)


GRAD = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5


@pytest.mark.parametrize("ext", ["png", "bmp", "tif", "webp", "gif"])
def test_lossless_gray_formats_keep_values(tmp_path, ext):
    kw = {"lossless": True} if ext == "webp" else {}
    path = _save(tmp_path, f"g.{ext}", Image.fromarray(GRAD, "L"), **kw)
    loaded = imageio.load_input(path)
    assert loaded.kind == "image" and loaded.maxval == 255
    if ext == "webp":   # WebP stores colour: the gray comes back as RGB with equal channels
        data = loaded.data if loaded.data.ndim == 2 else loaded.data[..., 0]
    else:
        data = loaded.data
    np.testing.assert_array_equal(data, GRAD.astype(np.float32))


def test_jpeg_gray_is_close(tmp_path):
    path = _save(tmp_path, "g.jpg", Image.fromarray(GRAD, "L"), quality=100)
    assert np.abs(imageio.load_input(path).data - GRAD).max() <= 3


def test_mode_1_becomes_0_255(tmp_path):
    bits = (GRAD > 100)
    path = _save(tmp_path, "b.png", Image.fromarray(bits).convert("1"))
    loaded = imageio.load_input(path)
    np.testing.assert_array_equal(loaded.data, bits * 255.0)
    assert loaded.original_mode == "1"


def test_palette_with_and_without_transparency(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8); rgb[:2] = (255, 0, 0); rgb[2:] = (0, 0, 255)
    p = Image.fromarray(rgb, "RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    loaded = imageio.load_input(_save(tmp_path, "p.png", p))
    assert loaded.data.shape == (4, 4, 3) and loaded.alpha is None
    np.testing.assert_array_equal(loaded.data[0, 0], [255, 0, 0])
    p.info["transparency"] = p.getpixel((0, 0))
    loaded = imageio.load_input(_save(tmp_path, "pt.png", p, transparency=p.getpixel((0, 0))))
    assert loaded.alpha is not None and loaded.alpha[0, 0] == 0 and loaded.alpha[3, 3] == 255


def test_rgba_alpha_modes(tmp_path):
    rgba = np.zeros((3, 5, 4), np.uint8); rgba[..., 0] = 200; rgba[..., 3] = 128
    path = _save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA"))
    keep = imageio.load_input(path)
    assert keep.data.shape == (3, 5, 3) and keep.alpha is not None and keep.alpha.max() == 128
    assert imageio.load_input(path, alpha="drop").alpha is None
    filt = imageio.load_input(path, alpha="filter")
    assert filt.data.shape == (3, 5, 4) and filt.alpha is None and filt.data[..., 3].max() == 128


def test_la_mode(tmp_path):
    la = np.zeros((3, 3, 2), np.uint8); la[..., 0] = 77; la[..., 1] = 9
    loaded = imageio.load_input(_save(tmp_path, "la.png", Image.fromarray(la, "LA")))
    assert loaded.data.shape == (3, 3) and loaded.data[0, 0] == 77 and loaded.alpha[0, 0] == 9


def test_cmyk_becomes_rgb(tmp_path):
    im = Image.new("CMYK", (4, 3), (0, 255, 255, 0))   # pure red in CMYK
    loaded = imageio.load_input(_save(tmp_path, "c.jpg", im, quality=100))
    assert loaded.data.shape == (3, 4, 3)
    assert loaded.data[..., 0].mean() > 200 and loaded.data[..., 1].mean() < 60


def test_sixteen_bit_png_keeps_scale(tmp_path):
    arr = (np.arange(20, dtype=np.uint16) * 3000).reshape(4, 5)
    loaded = imageio.load_input(_save(tmp_path, "s.png", Image.fromarray(arr)))
    assert loaded.maxval == 65535 and loaded.sixteen_bit
    np.testing.assert_array_equal(loaded.data, arr.astype(np.float32))


def test_mode_i_and_f_tiff(tmp_path):
    ints = (np.arange(12, dtype=np.int32) * 1000).reshape(3, 4)
    loaded = imageio.load_input(_save(tmp_path, "i.tif", Image.fromarray(ints, "I")))
    np.testing.assert_array_equal(loaded.data, ints)
    floats = np.linspace(-1.5, 2.5, 12, dtype=np.float32).reshape(3, 4)
    loaded = imageio.load_input(_save(tmp_path, "f.tif", Image.fromarray(floats, "F")))
    np.testing.assert_array_equal(loaded.data, floats)


def test_gray_conversion_uses_luma(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8); rgb[..., 0] = 100; rgb[..., 1] = 200; rgb[..., 2] = 50
    loaded = imageio.load_input(_save(tmp_path, "c.png", Image.fromarray(rgb)), gray=True)
    assert loaded.data.shape == (2, 2)
    np.testing.assert_allclose(loaded.data, 0.299 * 100 + 0.587 * 200 + 0.114 * 50, rtol=1e-6)


def test_exif_orientation_applied(tmp_path):
    arr = np.zeros((2, 4), np.uint8); arr[0, 0] = 255          # 2 rows × 4 columns, bright top-left
    im = Image.fromarray(arr, "L")
    exif = Image.Exif(); exif[0x0112] = 6                        # "rotate 90° clockwise to display"
    path = _save(tmp_path, "o.jpg", im, exif=exif.tobytes(), quality=100)
    loaded = imageio.load_input(path)
    assert loaded.data.shape == (4, 2)                          # displayed upright: 4 rows × 2 columns
    assert loaded.data[0, 1] > 200                              # the bright pixel moved to the top-right


def test_gif_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((3, 3), v, np.uint8), "L") for v in (10, 200)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    data = imageio.load_input(str(path)).data
    assert np.allclose(data if data.ndim == 2 else data[..., 0], 10)


# ---------------------------------------------------------------------------------- matrices

def test_npy_and_csv_and_txt(tmp_path):
    arr = np.arange(12, dtype=np.float64).reshape(3, 4) / 3
    np.save(tmp_path / "m.npy", arr)
    np.testing.assert_array_equal(imageio.load_input(str(tmp_path / "m.npy")).data, arr.astype(np.float32))
    (tmp_path / "m.csv").write_text("# comment\n1,2,3\n4,5,6\n")
    np.testing.assert_array_equal(imageio.load_input(str(tmp_path / "m.csv")).data, [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "m.txt").write_text("1 2\n3   4\n")
    np.testing.assert_array_equal(imageio.load_input(str(tmp_path / "m.txt")).data, [[1, 2], [3, 4]])


def test_npy_with_pickles_is_refused(tmp_path):
    np.save(tmp_path / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickled"):
        imageio.load_input(str(tmp_path / "p.npy"))


@pytest.mark.parametrize("arr, message", [
    (np.zeros((2, 2, 2, 2), np.float32), "must be \\(H, W\\) or \\(H, W, C\\)"),
    (np.zeros(5, np.float32), "must be \\(H, W\\)"),
    (np.zeros((0, 3), np.float32), "empty"),
    (np.array([["a", "b"]]), "real numbers"),
    (np.zeros((2, 2), np.complex64), "real numbers"),
])
def test_bad_npy(tmp_path, arr, message):
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(InputError, match=message):
        imageio.load_input(str(tmp_path / "bad.npy"))


@pytest.mark.parametrize("text, message", [
    ("1,2\n3\n", "ragged"), ("1,x\n", "not a number"), ("", "empty"), ("\n\n", "empty"),
])
def test_bad_csv(tmp_path, text, message):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        imageio.load_input(str(tmp_path / "bad.csv"))


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"this is not an image", "not an image format"),
])
def test_bad_image_files(tmp_path, content, message):
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(InputError, match=message):
        imageio.load_input(str(tmp_path / "x.png"))


def test_truncated_png(tmp_path, samples):
    data = (samples / "gray.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        imageio.load_input(str(tmp_path / "t.png"))


def test_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        imageio.load_input(str(tmp_path / "nope.png"))
    with pytest.raises(InputError, match="is a directory"):
        imageio.load_input(str(tmp_path))


def test_pixel_limit(tmp_path):
    import convcli.limits as limits
    path = _save(tmp_path, "big.png", Image.new("L", (100, 100)))
    limits.set_max_pixels(5000)
    with pytest.raises(LimitError, match="limit of 5,000 pixels"):
        imageio.load_input(path)


# ---------------------------------------------------------------------------------- writing

def test_range_rules():
    r = np.array([[-300.0, -10.0, 0.0, 100.0, 400.0]])
    np.testing.assert_array_equal(imageio.to_display(r, 255, "clip"), [[0, 0, 0, 100, 255]])
    np.testing.assert_array_equal(imageio.to_display(r, 255, "abs"), [[255, 10, 0, 100, 255]])
    np.testing.assert_array_equal(imageio.to_display(r, 255, "rescale"), [[0, 106, 109, 146, 255]])
    np.testing.assert_array_equal(imageio.to_display(r, 255, "offset"), [[0, 118, 128, 228, 255]])
    assert imageio.resolve_range("auto", 0.0) == "abs"
    assert imageio.resolve_range("auto", 1.0) == "clip"
    assert imageio.resolve_range("rescale", 0.0) == "rescale"


def test_encode_roundtrip_kinds(tmp_path):
    res = np.array([[1.5, -2.0], [3.25, 4.0]], dtype=np.float32)
    npy = imageio.encode_result(res, "x.npy")
    np.testing.assert_array_equal(np.load(io.BytesIO(npy)), res)
    assert imageio.encode_result(res, "x.csv").decode() == "1.5,-2\n3.25,4\n"
    assert imageio.encode_result(res, "x.txt").decode() == "1.5 -2\n3.25 4\n"
    png = Image.open(io.BytesIO(imageio.encode_result(res * 100, "x.png", range_mode="clip")))
    assert png.mode == "L"
    np.testing.assert_array_equal(np.asarray(png), [[150, 0], [255, 255]])


def test_sixteen_bit_output():
    res = np.array([[0.0, 40000.0], [70000.0, -5.0]], dtype=np.float32)
    im = Image.open(io.BytesIO(imageio.encode_result(res, "x.png", maxval=65535, range_mode="clip")))
    assert im.mode.startswith("I")
    np.testing.assert_array_equal(np.asarray(im), [[0, 40000], [65535, 0]])
    tif = Image.open(io.BytesIO(imageio.encode_result(res, "x.tif", maxval=65535, range_mode="clip")))
    np.testing.assert_array_equal(np.asarray(tif), [[0, 40000], [65535, 0]])


def test_alpha_written_back():
    res = np.full((2, 2, 3), 10.0, np.float32)
    alpha = np.array([[0, 255], [128, 255]], np.float32)
    im = Image.open(io.BytesIO(imageio.encode_result(res, "x.png", alpha=alpha)))
    assert im.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(im)[..., 3], alpha)
    jpg = Image.open(io.BytesIO(imageio.encode_result(res, "x.jpg", alpha=alpha)))
    assert jpg.mode == "RGB"


def test_bad_outputs():
    with pytest.raises(ParameterError, match="unknown output extension"):
        imageio.output_kind("x.gifx")
    with pytest.raises(ParameterError, match="5 channels"):
        imageio.encode_result(np.zeros((2, 2, 5), np.float32), "x.png")
    with pytest.raises(ParameterError, match="3-channel result cannot be written as a 2-D text"):
        imageio.encode_result(np.zeros((2, 2, 3), np.float32), "x.csv")


def test_write_atomic_refuses_input_and_leaves_nothing(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"original")
    with pytest.raises(OutputError, match="overwrite the input"):
        imageio.write_atomic(str(src), b"new", inputs=(str(src),))
    assert src.read_bytes() == b"original"
    with pytest.raises(OutputError, match="does not exist"):
        imageio.write_atomic(str(tmp_path / "missing" / "o.png"), b"x")
    imageio.write_atomic(str(tmp_path / "o.bin.png"), b"data")
    assert (tmp_path / "o.bin.png").read_bytes() == b"data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "o.bin.png"]


@pytest.mark.parametrize("rule", ["clip", "abs", "rescale", "offset"])
@pytest.mark.parametrize("maxval", [255.0, 65535.0])
def test_range_rules_against_plain_numpy(rule, maxval):
    """The one-pass kernel equals the rules written out with float64 NumPy; NaN and inf count as 0."""
    rng = np.random.default_rng(7)
    r = (rng.standard_normal((37, 23, 3)) * maxval).astype(np.float32)
    r[0, 0, 0], r[1, 1, 1], r[2, 2, 2] = np.nan, np.inf, -np.inf
    x = np.where(np.isfinite(r), r.astype(np.float64), 0.0)
    if rule == "abs":
        x = np.abs(x)
    elif rule == "rescale":
        x = (x - x.min()) * (maxval / (x.max() - x.min()))
    elif rule == "offset":
        x = x + (maxval + 1) / 2
    expected = np.clip(np.rint(x), 0, maxval)
    got = imageio.to_display(r, maxval, rule)
    assert got.dtype == (np.uint8 if maxval == 255 else np.uint16) and got.shape == r.shape
    assert np.abs(got.astype(np.float64) - expected).max() <= (1 if rule == "rescale" else 0)


@pytest.mark.parametrize("mode, alpha, gray, raw_dtype", [
    ("L", "keep", False, np.uint8), ("RGB", "keep", False, np.uint8), ("RGBA", "keep", False, np.uint8),
    ("RGBA", "filter", False, np.float32), ("RGB", "keep", True, np.float32), ("I;16", "keep", False, np.float32),
])
def test_eight_bit_images_stay_eight_bit_until_floats_are_asked_for(tmp_path, rng, mode, alpha, gray, raw_dtype):
    bands = {"L": 1, "RGB": 3, "RGBA": 4}.get(mode, 1)
    if mode == "I;16":
        pixels = rng.integers(0, 65536, (9, 11), dtype=np.uint16)
        im = Image.fromarray(pixels)
    else:
        pixels = rng.integers(0, 256, (9, 11, bands), dtype=np.uint8)
        im = Image.fromarray(pixels[..., 0] if bands == 1 else pixels, mode)
    im.save(tmp_path / "x.png")
    loaded = imageio.load_input(str(tmp_path / "x.png"), alpha=alpha, gray=gray)
    assert loaded.raw.dtype == raw_dtype and loaded.raw.flags.c_contiguous
    expected = pixels.astype(np.float32)
    if mode == "L":
        expected = expected[..., 0]
    elif mode == "RGBA" and alpha == "keep":
        expected = expected[..., :3]
        np.testing.assert_array_equal(loaded.alpha, pixels[..., 3].astype(np.float32))
    if gray:
        expected = expected[..., 0] * 0.299 + expected[..., 1] * 0.587 + expected[..., 2] * 0.114
    shape = loaded.raw.shape
    assert loaded.channels == (1 if loaded.raw.ndim == 2 else shape[2])
    data = loaded.data
    assert data.dtype == np.float32 and loaded.raw is data       # converted once, then kept
    np.testing.assert_array_equal(data, expected)


@pytest.mark.parametrize("mode, bands", [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)])
@pytest.mark.parametrize("size", [(1, 1), (7, 3), (1203, 5), (300, 257)])
def test_eight_bit_pixels_match_numpys_view_of_pillow(rng, mode, bands, size):
    pixels = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    im = Image.fromarray(pixels[..., 0]) if bands == 1 else Image.fromarray(pixels[..., :bands], mode)
    got = imageio._eight_bit_pixels(im)
    np.testing.assert_array_equal(got, np.asarray(im))
    assert got.dtype == np.uint8 and got.shape == np.asarray(im).shape


def test_eight_bit_pixels_fall_back_when_pillows_encoder_misbehaves(monkeypatch, rng):
    from PIL import Image as PILImage

    pixels = rng.integers(0, 256, (9, 8, 3), dtype=np.uint8)
    im = PILImage.fromarray(pixels)
    real = PILImage._getencoder
    calls = []

    class Short:           # the first encoder asked for stops half-way; later ones are real
        def __init__(self, inner):
            self.inner = inner

        def setimage(self, *args):
            self.inner.setimage(*args)

        def encode(self, size):
            used, _, data = self.inner.encode(size // 2)
            return used, 0, data

        def cleanup(self):
            self.inner.cleanup()

    def getencoder(*args):
        calls.append(args)
        return Short(real(*args)) if len(calls) == 1 else real(*args)

    monkeypatch.setattr(PILImage, "_getencoder", getencoder)
    np.testing.assert_array_equal(imageio._eight_bit_pixels(im), pixels)
    assert len(calls) == 2          # the quick path was tried, then np.asarray's
