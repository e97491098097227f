"""Write a small corpus of broken, hostile and unusual input files into a directory.

    python tests/bad_inputs/make_corpus.py DIR

Every file is generated here, deterministically, from the sample images and a few lines of
NumPy/Pillow (nothing is downloaded, nothing generated is committed). ``CASES`` says what each
file is and what convcli must do with it: ``good`` files must load and run (odd Pillow modes,
multi-frame files: the first frame is used), ``bad`` files must be refused with one line naming
the file and the documented exit code (README, "Errors and exit codes"): 3 for bad input data,
6 for over the pixel limit. ``KERNELS`` are files given to ``-k``: a kernel is a parameter, so a
bad kernel file is a usage error (exit 2).
"""
from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_images"


@dataclass(frozen=True)
class Case:
    name: str            # file name in the corpus directory
    expect: str          # "good" or "bad"
    code: int = 0        # exit code for bad files
    words: str = ""      # a fragment the one-line message must contain (lower case)
    what: str = ""       # what the file is, for test ids and the report
    first_frame: tuple | None = None   # good multi-frame files: (row, col, value) of frame 0


# ------------------------------------------------------------------------------ PNG by hand

def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type + data (so Pillow trusts it)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, *, bit_depth: int = 8, color_type: int = 0) -> bytes:
    """A PNG whose valid IHDR declares ``width``×``height`` but whose data is a few bytes: the
    shape of a decompression bomb (the real thing inflates gigabytes from a small file)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def real_bomb_png(width: int = 12_000, height: int = 8_000) -> bytes:
    """A true decompression bomb: 96 megapixels of zeros, a ~100 KB file (built row by row)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)            # filter byte 0 + one byte per gray pixel
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(parts))
            + png_chunk(b"IEND", b""))


def _pil_bytes(im, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _npy_bytes(arr, *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


CASES: list[Case] = [
    # -- files that are not what they claim, or nothing at all
    Case("empty.png", "bad", 3, "empty", "empty file"),
    Case("text.png", "bad", 3, "not an image", "text named .png"),
    Case("text.jpg", "bad", 3, "not an image", "text named .jpg"),
    Case("binary.gif", "bad", 3, "not an image", "random bytes named .gif"),
    Case("truncated.png", "bad", 3, "truncated", "PNG cut in half"),
    Case("truncated.jpg", "bad", 3, "truncated", "JPEG cut after its header"),
    Case("header_only.png", "bad", 3, "", "PNG signature and nothing else"),
    Case("bad_crc.png", "bad", 3, "", "PNG with a damaged IHDR CRC"),
    Case("zero_width.png", "bad", 3, "", "PNG declaring 0×5 pixels"),
    # -- decompression bombs and absurd sizes: refused by the pixel limit before decoding
    Case("bomb_header.png", "bad", 6, "limit", "PNG header declaring 60000×60000"),
    Case("bomb_wide.png", "bad", 6, "limit", "PNG header declaring 100000000×1"),
    Case("bomb_max.png", "bad", 6, "limit", "PNG header declaring 2^31−1 × 2^31−1"),
    Case("bomb_real.png", "bad", 6, "limit", "96-megapixel PNG of zeros in ~100 KB"),
    # -- matrices
    Case("pickled.npy", "bad", 3, "pickle", ".npy holding Python objects"),
    Case("vector.npy", "bad", 3, "(h, w)", ".npy of shape (5,)"),
    Case("four_d.npy", "bad", 3, "(h, w)", ".npy of shape (2, 2, 2, 2)"),
    Case("strings.npy", "bad", 3, "real numbers", ".npy of strings"),
    Case("complex.npy", "bad", 3, "real numbers", ".npy of complex numbers"),
    Case("empty_rows.npy", "bad", 3, "empty", ".npy of shape (0, 5)"),
    Case("truncated.npy", "bad", 3, ".npy", ".npy cut in half"),
    Case("garbage.npy", "bad", 3, ".npy", "text named .npy"),
    Case("huge_header.npy", "bad", 6, "limit", ".npy header declaring 100000×100000 (data missing)"),
    Case("ragged.csv", "bad", 3, "ragged", "CSV with rows of different lengths"),
    Case("words.csv", "bad", 3, "not a number", "CSV with a word in it"),
    Case("comments_only.csv", "bad", 3, "empty", "CSV of comments only"),
    Case("binary.csv", "bad", 3, "text", "binary bytes named .csv"),
    # -- unusual but valid: must work
    Case("mode1.png", "good", what="1-bit PNG"),
    Case("palette.png", "good", what="palette PNG"),
    Case("palette_alpha.png", "good", what="palette PNG with a transparent colour"),
    Case("gray_palette.gif", "good", what="gray palette GIF"),
    Case("cmyk.jpg", "good", what="CMYK JPEG"),
    Case("cmyk.tif", "good", what="CMYK TIFF"),
    Case("gray16.png", "good", what="16-bit gray PNG"),
    Case("gray16.tif", "good", what="16-bit gray TIFF"),
    Case("int32.tif", "good", what="32-bit integer TIFF (mode I)"),
    Case("float.tif", "good", what="32-bit float TIFF (mode F)"),
    Case("la.png", "good", what="gray + alpha PNG"),
    Case("rgba.png", "good", what="RGBA PNG"),
    Case("rgba.webp", "good", what="RGBA WebP"),
    Case("bmp24.bmp", "good", what="24-bit BMP"),
    Case("exif_rotated.jpg", "good", what="JPEG with EXIF orientation 6"),
    Case("multi.gif", "good", what="animated GIF, 2 frames", first_frame=(0, 0, 200.0)),
    Case("multi.tif", "good", what="2-page TIFF", first_frame=(0, 0, 10.0)),
    Case("nan_inf.npy", "good", what=".npy with NaN and inf (propagate as in PyTorch)"),
    Case("bool.npy", "good", what=".npy of booleans"),
    Case("int16.npy", "good", what=".npy of int16"),
    Case("thin.npy", "good", what=".npy of shape (3, 40)"),
]


@dataclass(frozen=True)
class KernelCase:
    name: str
    words: str
    what: str


KERNELS: list[KernelCase] = [
    KernelCase("k_ragged.csv", "ragged", "ragged kernel"),
    KernelCase("k_empty.csv", "empty", "empty kernel file"),
    KernelCase("k_comments.csv", "empty", "kernel of comments only"),
    KernelCase("k_words.csv", "not a number", "kernel with a word"),
    KernelCase("k_nan.csv", "nan", "kernel with NaN"),
    KernelCase("k_inf.npy", "nan or infinity", "kernel with inf"),
    KernelCase("k_huge.npy", "limit", "kernel 1×5000"),
    KernelCase("k_3d.npy", "2-d", "3-D kernel"),
    KernelCase("k_pickled.npy", "pickle", "pickled kernel"),
    KernelCase("k_strings.npy", "real numbers", "kernel of strings"),
    KernelCase("k_truncated.npy", ".npy", "kernel .npy cut in half"),
    KernelCase("k_binary.txt", "text", "binary bytes named .txt"),
]


def _make(name: str) -> bytes:
    from PIL import Image

    gray = Image.open(SAMPLES / "gray.png").convert("L").resize((24, 16))
    rgb = Image.open(SAMPLES / "rgb.jpg").convert("RGB").resize((24, 16))
    png = _pil_bytes(gray, "PNG")
    jpg = _pil_bytes(rgb, "JPEG", quality=90)
    ramp = (np.arange(16 * 24).reshape(16, 24) % 251).astype(np.uint8)
    if name == "empty.png":
        return b""
    if name in ("text.png", "text.jpg"):
        return b"this is not an image, it is a note\n"
    if name in ("binary.gif", "binary.csv", "k_binary.txt"):
        return np.random.default_rng(7).integers(0, 256, 300, dtype=np.uint8).tobytes()
    if name == "truncated.png":
        full = (SAMPLES / "gray.png").read_bytes()
        return full[: len(full) // 2]
    if name == "truncated.jpg":
        return jpg[: min(len(jpg) // 3, 700)]
    if name == "header_only.png":
        return b"\x89PNG\r\n\x1a\n"
    if name == "bad_crc.png":
        data = bytearray(png)
        data[29] ^= 0xFF           # last byte of IHDR's CRC
        return bytes(data)
    if name == "zero_width.png":
        return png_header_only(0, 5)
    if name == "bomb_header.png":
        return png_header_only(60_000, 60_000)
    if name == "bomb_wide.png":
        return png_header_only(100_000_000, 1)
    if name == "bomb_max.png":
        return png_header_only(2**31 - 1, 2**31 - 1)
    if name == "bomb_real.png":
        return real_bomb_png()
    if name == "pickled.npy":
        return _npy_bytes(np.array([{"a": 1}, [2, 3]], dtype=object), allow_pickle=True)
    if name == "vector.npy":
        return _npy_bytes(np.arange(5, dtype=np.float32))
    if name == "four_d.npy":
        return _npy_bytes(np.zeros((2, 2, 2, 2), dtype=np.float32))
    if name == "strings.npy":
        return _npy_bytes(np.array([["a", "b"], ["c", "d"]]))
    if name == "complex.npy":
        return _npy_bytes(np.ones((3, 3), dtype=np.complex64))
    if name == "empty_rows.npy":
        return _npy_bytes(np.zeros((0, 5), dtype=np.float32))
    if name in ("truncated.npy", "k_truncated.npy"):
        full = _npy_bytes(np.arange(400, dtype=np.float32).reshape(20, 20))
        return full[: len(full) // 2]
    if name == "garbage.npy":
        return b"1,2,3\n4,5,6\n"
    if name == "huge_header.npy":
        return _npy_header_only((100_000, 100_000))
    if name == "ragged.csv":
        return b"1,2,3\n4,5\n"
    if name == "words.csv":
        return b"1,2,3\n4,five,6\n"
    if name == "comments_only.csv":
        return b"# nothing here\n# at all\n"
    if name == "mode1.png":
        return _pil_bytes(Image.fromarray(ramp > 100).convert("1"), "PNG")
    if name == "palette.png":
        return _pil_bytes(rgb.quantize(16), "PNG")
    if name == "palette_alpha.png":
        p = rgb.quantize(16)
        return _pil_bytes(p, "PNG", transparency=0)
    if name == "gray_palette.gif":
        return _pil_bytes(gray, "GIF")
    if name == "cmyk.jpg":
        return _pil_bytes(rgb.convert("CMYK"), "JPEG", quality=90)
    if name == "cmyk.tif":
        return _pil_bytes(rgb.convert("CMYK"), "TIFF")
    if name == "gray16.png":
        return _pil_bytes(Image.fromarray((ramp.astype(np.uint16) * 257)), "PNG")
    if name == "gray16.tif":
        return _pil_bytes(Image.fromarray((ramp.astype(np.uint16) * 257)), "TIFF")
    if name == "int32.tif":
        return _pil_bytes(Image.fromarray(ramp.astype(np.int32) * 100, "I"), "TIFF")
    if name == "float.tif":
        return _pil_bytes(Image.fromarray(ramp.astype(np.float32) / 7.0 - 3.0, "F"), "TIFF")
    if name == "la.png":
        return _pil_bytes(Image.merge("LA", [gray, gray.point(lambda v: 255 - v)]), "PNG")
    if name == "rgba.png":
        return _pil_bytes(Image.merge("RGBA", [*rgb.split(), gray]), "PNG")
    if name == "rgba.webp":
        return _pil_bytes(Image.merge("RGBA", [*rgb.split(), gray]), "WEBP", lossless=True)
    if name == "bmp24.bmp":
        return _pil_bytes(rgb, "BMP")
    if name == "exif_rotated.jpg":
        exif = Image.Exif()
        exif[0x0112] = 6
        return _pil_bytes(rgb, "JPEG", quality=90, exif=exif.tobytes())
    if name == "multi.gif":
        frames = [Image.new("L", (6, 4), v) for v in (200, 50)]
        return _pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    if name == "multi.tif":
        frames = [Image.new("L", (6, 4), v) for v in (10, 240)]
        return _pil_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    if name == "nan_inf.npy":
        a = np.arange(20, dtype=np.float32).reshape(4, 5)
        a[1, 1], a[2, 3], a[3, 0] = np.nan, np.inf, -np.inf
        return _npy_bytes(a)
    if name == "bool.npy":
        return _npy_bytes(np.eye(4, 5, dtype=bool))
    if name == "int16.npy":
        return _npy_bytes((np.arange(20, dtype=np.int16) - 10).reshape(4, 5) * 1000)
    if name == "thin.npy":
        return _npy_bytes(np.linspace(-5, 5, 120, dtype=np.float32).reshape(3, 40))
    # -- kernels
    if name == "k_ragged.csv":
        return b"1,0,-1\n1,0\n"
    if name == "k_empty.csv":
        return b"\n\n"
    if name == "k_comments.csv":
        return b"# a kernel\n"
    if name == "k_words.csv":
        return b"1,0,-1\n1,zero,-1\n"
    if name == "k_nan.csv":
        return b"1,nan,1\n1,1,1\n"
    if name == "k_inf.npy":
        k = np.ones((3, 3), dtype=np.float32)
        k[1, 1] = np.inf
        return _npy_bytes(k)
    if name == "k_huge.npy":
        return _npy_bytes(np.ones((1, 5000), dtype=np.float32))
    if name == "k_3d.npy":
        return _npy_bytes(np.ones((2, 3, 3), dtype=np.float32))
    if name == "k_pickled.npy":
        return _npy_bytes(np.array([[1, 0], [0, 1]], dtype=object), allow_pickle=True)
    if name == "k_strings.npy":
        return _npy_bytes(np.array([["1", "0"], ["0", "1"]]))
    raise KeyError(name)


def _npy_header_only(shape: tuple[int, ...]) -> bytes:
    """A valid .npy header declaring ``shape`` float32, followed by 16 bytes instead of the data."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %r, }" % (shape,)
    header = header + " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + b"\x00" * 16


def make_corpus(directory: str | Path) -> Path:
    """Write every file of ``CASES`` and ``KERNELS`` into ``directory`` (created); return it."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in [c.name for c in CASES] + [k.name for k in KERNELS]:
        (out / name).write_bytes(_make(name))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    where = make_corpus(sys.argv[1])
    print(f"wrote {len(CASES) + len(KERNELS)} files to {where}")
