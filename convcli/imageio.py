"""Reading and writing: Pillow lives here alone.

Inputs become float32 arrays on the image's own scale (0..255 for 8-bit, 0..65535 for 16-bit),
shape (H, W) for one channel and (H, W, C) for several. Outputs are chosen by file extension.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError, LimitError, OutputError, ParameterError
from .kernels import parse_matrix_text
from .limits import check_pixels, max_pixels

IMAGE_EXTS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
              ".bmp": "BMP", ".webp": "WEBP"}
READ_IMAGE_EXTS = set(IMAGE_EXTS) | {".gif"}
MATRIX_EXTS = {".npy", ".csv", ".txt"}
ALPHA_MODES = ("keep", "drop", "filter")


@dataclass
class Loaded:
    """What a loader found: the data plus what is needed to write a result back like it."""

    raw: np.ndarray                  # (H, W) or (H, W, C), the channels the op works on: float32, or
    #                                  uint8 for an 8-bit image (4× less memory; ``data`` has floats)
    kind: str                        # "image", "matrix", or "features" (made by an earlier chain stage)
    source: str                      # file name, "-" or "--matrix"
    maxval: float = 255.0            # full scale when written as an image: 255 (also matrices), 65535
    mode: str = ""                   # Pillow mode after our conversions (L, RGB, I;16, F ...)
    original_mode: str = ""          # Pillow mode as stored in the file
    alpha: np.ndarray | None = None  # float32 (H, W) alpha kept aside, on the same scale
    notes: list[str] = field(default_factory=list)
    # where the result goes when it is written as an 8-bit image and nothing else needs its float
    # values (set by run_batch): an op may then hand back pixels instead (Outcome.pixels)
    pixel_target: str | None = None

    @property
    def data(self) -> np.ndarray:
        """The values as float32 (an 8-bit image is converted on first use, once)."""
        if self.raw.dtype != np.float32:
            self.raw = self.raw.astype(np.float32)
        return self.raw

    @data.setter
    def data(self, values: np.ndarray) -> None:
        self.raw = values

    @property
    def channels(self) -> int:
        return 1 if self.raw.ndim == 2 else self.raw.shape[2]

    @property
    def sixteen_bit(self) -> bool:
        return self.maxval > 255


# ---------------------------------------------------------------------------------------- reading

def _pillow():
    from PIL import Image, ImageOps

    return Image, ImageOps


def load_array_file(path: str, what: str = "input") -> np.ndarray:
    """Load a ``.npy`` (never with pickles), ``.csv`` or ``.txt`` file as a float32 array."""
    ext = os.path.splitext(path)[1].lower()
    _check_readable(path)
    from .safeio import note_read

    note_read(path)                     # no output of this run may replace it
    if ext == ".npy":
        _check_npy_header(path, what)
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            msg = str(exc)
            if "pickle" in msg.lower():
                raise InputError(f"{path}: {what} holds Python objects (a pickled array); refusing to load it") from None
            raise InputError(f"{path}: not a valid .npy {what} ({msg})") from None
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a valid .npy {what} ({exc})") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise InputError(f"{path}: {what} must hold real numbers, got dtype {getattr(arr, 'dtype', '?')}")
        return arr.astype(np.float32)
    try:
        with open(path, "r", encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise InputError(f"{path}: {what} is not a text file of numbers") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return parse_matrix_text("\n".join(lines), f"{path}", allow_nonfinite=True)


def _check_npy_header(path: str, what: str) -> None:
    """Read a .npy header only and refuse, before NumPy allocates anything, an array that holds
    objects, is over the pixel limit, or declares more data than the file holds (a truncated file,
    or a few bytes claiming 100000×100000: ``np.load`` would try to allocate it all first)."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if reader is None:
                return                      # a newer version: let np.load judge it
            shape, _fortran, dtype = reader(fh)
            data_start = fh.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise InputError(f"{path}: not a valid .npy {what} ({str(exc) or type(exc).__name__})") from None
    if dtype.hasobject:
        raise InputError(f"{path}: {what} holds Python objects (a pickled array); refusing to load it")
    if dtype.kind not in "biuf":
        raise InputError(f"{path}: {what} must hold real numbers, got dtype {dtype}")
    if len(shape) in (2, 3):
        check_pixels(shape[0], shape[1], shape[2] if len(shape) == 3 else 1, what=f"{path}: {what}")
    values = int(np.prod(shape, dtype=object)) if shape else 1
    if values > 4 * max_pixels():
        raise LimitError(f"{path}: {what} declares shape {tuple(shape)} = {values:,} values, over the limit of "
                         f"{4 * max_pixels():,}; raise it with --max-pixels if you mean it")
    need = values * dtype.itemsize
    have = os.path.getsize(path) - data_start
    if have < need:
        raise InputError(f"{path}: truncated .npy {what}: its header declares shape {tuple(shape)} "
                         f"({need:,} bytes of data) but the file holds {max(have, 0):,}")


def _check_readable(path: str) -> None:
    if path != "-":
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file")
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory, not a file")
        if not os.access(path, os.R_OK):
            raise InputError(f"{path}: permission denied")
        if os.path.getsize(path) == 0:
            raise InputError(f"{path}: file is empty")


def load_matrix_text(text: str) -> Loaded:
    """The inline ``--matrix "50,50,0;..."`` input."""
    arr = parse_matrix_text(text, "--matrix", allow_nonfinite=True)
    return Loaded(arr, "matrix", "--matrix", maxval=255.0, mode="F", original_mode="matrix")


def _check_matrix(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.ndim not in (2, 3):
        raise InputError(f"{source}: a matrix input must be (H, W) or (H, W, C), got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{source}: matrix is empty (shape {arr.shape})")
    check_pixels(arr.shape[0], arr.shape[1], 1 if arr.ndim == 2 else arr.shape[2], what=f"{source}: input")
    return arr


def load_input(path: str, *, gray: bool = False, alpha: str = "keep", data: bytes | None = None) -> Loaded:
    """Load an image or a matrix file. ``path == "-"`` with ``data`` reads bytes (stdin)."""
    ext = os.path.splitext(path)[1].lower()
    if path != "-" and ext in MATRIX_EXTS:
        arr = _check_matrix(load_array_file(path), path)
        loaded = Loaded(arr, "matrix", path, maxval=255.0, mode="F", original_mode="matrix")
        if gray and loaded.channels > 1:
            loaded.data = loaded.data.mean(axis=2)
        return loaded
    return load_image(path, gray=gray, alpha=alpha, data=data)


def load_image(path: str, *, gray: bool = False, alpha: str = "keep", data: bytes | None = None) -> Loaded:
    if alpha not in ALPHA_MODES:
        raise ParameterError(f"alpha must be one of {', '.join(ALPHA_MODES)}, got {alpha!r}")
    Image, ImageOps = _pillow()
    if data is None:
        _check_readable(path)
    elif not data:
        raise InputError(f"{path}: no data")
    Image.MAX_IMAGE_PIXELS = max_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow's own warnings about damaged files ("Tag data larger than file", "Truncated
            # File Read") would print Python warning lines on stderr: the file either decodes or
            # fails below with one line. The bomb warning alone becomes an error.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            src = io.BytesIO(data) if data is not None else path
            with Image.open(src) as im:
                _check_size(im, path)
                fmt = im.format or "?"
                im.seek(0)
                im.load()
                if im.getexif().get(0x0112, 1) not in (1, None):   # only rotate (copy) when EXIF says so
                    im = ImageOps.exif_transpose(im) or im
                return _from_pillow(im, path, fmt, gray=gray, alpha=alpha)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LimitError(f"{path}: image is larger than the limit of {max_pixels():,} pixels "
                         f"(a possible decompression bomb); raise it with --max-pixels") from None
    except Image.UnidentifiedImageError:
        raise InputError(f"{path}: not an image format convcli can read (PNG, JPEG, TIFF, BMP, WebP, GIF), "
                         f"nor a .npy/.csv/.txt matrix") from None
    except (InputError, LimitError):
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            struct_error(), ZeroDivisionError) as exc:
        reason = str(exc) or type(exc).__name__
        raise InputError(f"{path}: corrupt or truncated image ({reason})") from None
    except MemoryError:
        raise LimitError(f"{path}: not enough memory to decode this image") from None


def struct_error():
    import struct

    return struct.error


def _check_size(im, path: str) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise InputError(f"{path}: image has no pixels ({w}×{h})")
    check_pixels(h, w, len(im.getbands()), what=f"{path}: image")


def _eight_bit_pixels(im) -> np.ndarray:
    """An 8-bit image's pixels as a (read-only) uint8 array, (H, W) or (H, W, bands).

    np.asarray(im) goes through tobytes(), which runs Pillow's raw encoder in 64 KiB pieces and
    joins them; one run over the whole image skips the join's copy: 42 ms instead of 66 ms for
    12 MP RGB here. Any surprise from Pillow (the encoder is Pillow's own API for its plugins)
    falls back to np.asarray.
    """
    Image, _ = _pillow()
    w, h = im.size
    bands = len(im.getbands())
    try:
        encoder = Image._getencoder(im.mode, "raw", im.mode)
        try:
            encoder.setimage(im.im, (0, 0, w, h))
            _, status, data = encoder.encode(w * h * bands)
        finally:
            encoder.cleanup()
        if status != 1 or len(data) != w * h * bands:
            raise ValueError("partial encode")
        arr = np.frombuffer(data, dtype=np.uint8)
    except Exception:
        return np.asarray(im, dtype=np.uint8)
    return arr.reshape((h, w) if bands == 1 else (h, w, bands))


def _from_pillow(im, path: str, fmt: str, *, gray: bool, alpha: str) -> Loaded:
    Image, _ = _pillow()
    original = im.mode
    notes: list[str] = []
    maxval = 255.0
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or im.mode == "PA") else "RGB")
    elif im.mode == "CMYK":
        im = im.convert("RGB")
        notes.append("CMYK converted to RGB")
    elif im.mode in ("YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif im.mode == "La":
        im = im.convert("LA")
    elif im.mode == "RGBa":
        im = im.convert("RGBA")
    elif im.mode == "RGBX":
        im = im.convert("RGB")
    mode = im.mode
    if mode.startswith("I;16"):
        arr = np.asarray(im, dtype=np.uint16).astype(np.float32)
        maxval, mode = 65535.0, "I;16"
    elif mode == "I":
        arr = np.asarray(im, dtype=np.int32).astype(np.float32)
        maxval = 65535.0
    elif mode == "F":
        arr = np.asarray(im, dtype=np.float32).copy()
        maxval = 255.0
    elif mode in ("L", "LA", "RGB", "RGBA"):
        arr = _eight_bit_pixels(im)                # stays 8-bit unless something below computes
    else:
        raise InputError(f"{path}: unsupported image mode {original!r}")
    alpha_plane = None
    if mode in ("LA", "RGBA"):
        arr, alpha_plane = arr[..., :-1], arr[..., -1].astype(np.float32)
        mode = mode[:-1]
    if original in ("P", "PA") and arr.ndim == 3 and not gray and \
            np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
        arr, mode = arr[..., 0], "L"      # a gray palette (e.g. a grayscale GIF) stays one channel
    if gray and arr.ndim == 3:
        # ITU-R 601-2 luma, the weights of Pillow's convert("L"), kept as floats (no rounding)
        arr = arr.astype(np.float32, copy=False)
        arr = arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114 if arr.shape[2] >= 3 else arr[..., 0]
        mode = "L"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if alpha_plane is not None and alpha == "filter":
        arr = np.dstack([arr, alpha_plane])
        mode, alpha_plane = mode + "A", None
    elif alpha == "drop":
        alpha_plane = None
    arr = np.ascontiguousarray(arr, dtype=np.uint8 if arr.dtype == np.uint8 else np.float32)
    return Loaded(arr, "image", path, maxval=maxval, mode=mode,
                  original_mode=original, alpha=alpha_plane, notes=notes)


# ---------------------------------------------------------------------------------------- writing

def output_kind(path: str) -> str:
    """'image', 'npy', 'text', or raise for an unknown extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext == ".npy":
        return "npy"
    if ext in (".csv", ".txt"):
        return "text"
    known = ", ".join(sorted(set(IMAGE_EXTS) | MATRIX_EXTS))
    raise ParameterError(f"{path}: unknown output extension {ext or '(none)'!r}; use one of {known}")


def to_display(result: np.ndarray, maxval: float, range_mode: str, *, scale: float = 1.0) -> np.ndarray:
    """Map a float result (times ``scale``) onto 0..maxval with a range rule (``auto`` resolved before):
    integers, uint8 for maxval ≤ 255, else uint16 (see ``convcli.ops.display.to_pixels``)."""
    from .ops.display import to_pixels

    return to_pixels(result, maxval, range_mode, scale=scale)


def resolve_range(range_mode: str, kernel_sum: float | None) -> str:
    """``auto``: clip when the kernel keeps brightness (weights sum > 0), abs for edge-like kernels."""
    if range_mode != "auto":
        return range_mode
    if kernel_sum is None or kernel_sum > 1e-6:
        return "clip"
    return "abs"


def encode_image(result: np.ndarray, fmt: str, *, maxval: float, range_mode: str,
                 alpha: np.ndarray | None = None) -> bytes:
    """Encode a float result as image bytes in ``fmt`` (PNG, JPEG, TIFF, BMP, WEBP).

    The range rule maps the colour channels; a carried ``alpha`` (same scale) is appended as it is.
    One-channel results of 16-bit inputs stay 16-bit in PNG and TIFF.
    """
    Image, _ = _pillow()
    data = result if result.ndim == 3 else result[:, :, None]
    channels = data.shape[2]
    add_alpha = alpha is not None and fmt != "JPEG" and channels in (1, 3)
    if channels + add_alpha not in (1, 2, 3, 4):
        raise ParameterError(f"the result has {channels} channels; an image holds 1, 3 or 4 — write .npy instead")
    if maxval > 255 and fmt in ("PNG", "TIFF") and channels + add_alpha == 1:
        return _save_bytes(Image.fromarray(to_display(data[:, :, 0], 65535.0, range_mode)), fmt)
    scale = 255.0 / maxval if maxval > 255 else 1.0
    return encode_pixels(to_display(data, 255.0, range_mode, scale=scale), fmt, alpha=alpha, scale=scale)


def encode_pixels(img8: np.ndarray, fmt: str, *, alpha: np.ndarray | None = None, scale: float = 1.0) -> bytes:
    """Encode 8-bit pixels ((H, W) or (H, W, C)) as ``fmt``, with a carried ``alpha`` (×scale) appended."""
    Image, _ = _pillow()
    if img8.ndim == 2:
        img8 = img8[:, :, None]
    channels = img8.shape[2]
    add_alpha = alpha is not None and fmt != "JPEG" and channels in (1, 3)
    if channels + add_alpha not in (1, 2, 3, 4):
        raise ParameterError(f"the result has {channels} channels; an image holds 1, 3 or 4 — write .npy instead")
    if add_alpha:
        a = np.clip(np.rint(np.asarray(alpha, dtype=np.float32) * scale), 0, 255).astype(np.uint8)
        img8 = np.dstack([img8, a])
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[img8.shape[2]]
    if fmt == "JPEG" and mode in ("LA", "RGBA"):
        img8, mode = img8[:, :, :-1], mode[:-1]
    pil = Image.fromarray(img8[:, :, 0] if mode == "L" else img8, mode)
    return _save_bytes(pil, fmt)


def _save_bytes(pil, fmt: str) -> bytes:
    buf = io.BytesIO()
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    pil.save(buf, format=fmt, **options)
    return buf.getvalue()


def format_text(result: np.ndarray, sep: str) -> str:
    if result.ndim == 3:
        if result.shape[2] != 1:
            raise ParameterError(f"a {result.shape[2]}-channel result cannot be written as a 2-D text grid; "
                                 f"use .npy, an image, or --gray")
        result = result[:, :, 0]
    rows = [sep.join(format_number(v) for v in row) for row in result]
    return "\n".join(rows) + "\n"


def format_number(v: float) -> str:
    """Shortest text that reads back as the same float32 (integers without a decimal point)."""
    v = float(v)
    if np.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(np.float32(v))) if np.isfinite(v) else str(v)


def encode_result(result: np.ndarray, path: str, *, maxval: float = 255.0, range_mode: str = "clip",
                  alpha: np.ndarray | None = None) -> bytes:
    """The bytes to write for ``path``'s extension."""
    kind = output_kind(path)
    if kind == "npy":
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(result, dtype=np.float32), allow_pickle=False)
        return buf.getvalue()
    if kind == "text":
        sep = "," if path.lower().endswith(".csv") else " "
        return format_text(result, sep).encode()
    return encode_image(result, image_format(path), maxval=maxval, range_mode=range_mode, alpha=alpha)


def image_format(path: str) -> str:
    """Pillow's format name for an image output path (PNG, JPEG, ...)."""
    return IMAGE_EXTS[os.path.splitext(path)[1].lower()]


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def write_atomic(path: str, payload: bytes, *, inputs: tuple[str, ...] = ()) -> None:
    """Write ``payload`` to ``path`` through convcli's one write guard (:func:`convcli.safeio.write_file`):
    atomically for regular files, streamed into FIFOs and character devices, never over ``inputs``
    or any other file this run has read."""
    from . import safeio

    for src in inputs:
        safeio.note_read(src)
    safeio.write_file(path, payload)
